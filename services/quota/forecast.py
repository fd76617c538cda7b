"""The year-end forecast of an organisation for a period (docs/forecast.md).

Method, for a year Y judged on day D:
- admitted so far: the admissions dated 1 January Y up to D (day counters);
- seasonality: for each of the HISTORY_YEARS years before Y in which the organisation admitted
  anyone, the share of that year's admissions made by the same day (D's month and day);
- forecast = admitted so far / the mean of those shares; the range runs from admitted / the
  largest share (low) to admitted / the smallest share (high);
- no such year (or every share 0, e.g. early January): the even pace, admitted / the elapsed
  share of the period, with no range (low = high); a term always uses the even pace;
- on or after the period's last day the forecast is the final figure.
The verdict: `on_track` when the forecast reaches the target (by `margin` admissions), otherwise
`at_risk`, short by `shortfall` admissions; `needed_per_month` is what the remaining months need.
"""
from __future__ import annotations

from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy.orm import Session

from shared import clock

from .organizations import get_organization
from .pace import Curve, _same_day, month_ends, target_of
from .periods import Period, parse_period
from .quotas import check_period

HISTORY_YEARS = 5


def _whole(value: Decimal) -> int:
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def seasonal_shares(session: Session, org_code: str, year: int, day: date) -> list[dict]:
    """Each earlier year with admissions: its total and the share made by `day`'s month and day."""
    out = []
    for earlier in range(year - HISTORY_YEARS, year):
        period = parse_period(str(earlier))
        curve = Curve(session, org_code, period.start, period.end)
        total = curve.upto(period.end)
        if total > 0:
            by_then = curve.upto(_same_day(day, earlier))
            out.append({"year": earlier, "admitted": total, "by_same_day": by_then,
                        "share": Decimal(by_then) / Decimal(total)})
    return out


def project(*, admitted: int, period: Period, as_of: date, shares: list[Decimal]) -> dict:
    """The forecast (point, low, high) and its method, from the figures alone."""
    last_day = period.end - timedelta(days=1)
    if as_of >= last_day:
        return {"method": "final", "expected": admitted, "low": admitted, "high": admitted, "expected_share": "1"}
    if as_of < period.start:
        return {"method": "not_started", "expected": None, "low": None, "high": None, "expected_share": "0"}
    usable = [s for s in shares if s > 0]
    if usable:
        mean = sum(usable) / len(usable)
        return {"method": "seasonal", "expected": _whole(admitted / mean), "low": _whole(admitted / max(usable)),
                "high": _whole(admitted / min(usable)), "expected_share": str(mean.quantize(Decimal("0.0001")))}
    elapsed = Decimal(str(period.elapsed_share(as_of)))
    point = _whole(admitted / elapsed)
    return {"method": "even_pace", "expected": point, "low": point, "high": point,
            "expected_share": str(elapsed.quantize(Decimal("0.0001")))}


def verdict(*, target: int | None, admitted: int, expected: int | None, period: Period, as_of: date) -> dict:
    if target is None or expected is None:
        return {"verdict": None, "verdict_text": None, "margin": None, "shortfall": None, "needed_per_month": None}
    months_left = sum(1 for end in month_ends(period) if end > as_of)  # a month begun counts as one
    needed = max(0, target - admitted)
    per_month = None if not months_left else str((Decimal(needed) / months_left).quantize(Decimal("0.1")))
    if expected >= target:
        return {"verdict": "on_track", "verdict_text": f"kịp chỉ tiêu, dự kiến vượt {expected - target} / on track, "
                                                       f"{expected - target} above the target",
                "margin": expected - target, "shortfall": 0, "needed_per_month": per_month}
    return {"verdict": "at_risk", "verdict_text": f"có nguy cơ không đạt, thiếu {target - expected} / at risk, "
                                                  f"{target - expected} short",
            "margin": expected - target, "shortfall": target - expected, "needed_per_month": per_month}


def forecast(session: Session, *, org_code: str, period: str, as_of: date | None = None) -> dict:
    parsed = check_period(period)
    org = get_organization(session, org_code)
    as_of = as_of or clock.today()
    target = target_of(session, org_code, period)
    admitted = Curve(session, org_code, parsed.start, parsed.end).upto(as_of)
    history = [] if parsed.is_term else seasonal_shares(session, org_code, parsed.start.year,
                                                        min(max(as_of, parsed.start), parsed.end))
    result = project(admitted=admitted, period=parsed, as_of=as_of, shares=[h["share"] for h in history])
    return {"org_code": org.code, "org_name": org.name, "period": period, "as_of": as_of, "target": target,
            "admitted": admitted, **result,
            **verdict(target=target, admitted=admitted, expected=result["expected"], period=parsed, as_of=as_of),
            "history": [{**h, "share": str(h["share"].quantize(Decimal("0.0001")))} for h in history]}
