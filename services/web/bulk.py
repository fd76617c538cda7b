"""Accounts in bulk from an XLSX (or CSV) list, one row per person, typically one per cell
secretary: all or nothing, with a row-by-row report; the answer is an XLSX of the same people with
their one-time passwords, to hand out (each must be changed at the first sign-in).

Columns (Vietnamese or English headers): Tên đăng nhập / username, Họ và tên / full_name,
Tổ chức / org (an organisation code), Vai trò / role (optional: officer; Quản trị, Cán bộ, Xem or
admin, officer, viewer).
"""
from __future__ import annotations

import io
import unicodedata

from openpyxl import Workbook
from openpyxl.styles import Font
from sqlalchemy import select
from sqlalchemy.orm import Session

from shared.auth import ROLES, Principal
from shared.problems import Problem
from shared.spreadsheets import read_table

from . import accounts
from .models import User

HEADERS = {
    "username": ("tên đăng nhập", "username"),
    "full_name": ("họ và tên", "full_name", "full name"),
    "org": ("tổ chức", "mã tổ chức", "org"),
    "role": ("vai trò", "role"),
}
ROLE_NAMES = {"quản trị": "admin", "cán bộ": "officer", "xem": "viewer", **{r: r for r in ROLES}}
DEFAULT_ROLE = "officer"
ANSWER_HEADER = ("Tên đăng nhập", "Họ và tên", "Tổ chức", "Vai trò", "Mật khẩu dùng một lần")


def _key(text: str) -> str:
    return unicodedata.normalize("NFC", text or "").strip().lower()


def read_people(content: bytes, filename: str) -> list[tuple[int, dict[str, str]]]:
    """(row number, {username, full_name, org, role}) of each data row; 422 if a column is missing."""
    table = read_table(content, filename)
    header = [_key(h) for h in table.header]
    index = {}
    for field, names in HEADERS.items():
        for i, h in enumerate(header):
            if h in names:
                index[field] = i
    missing = [HEADERS[f][0] for f in ("username", "full_name", "org") if f not in index]
    if missing:
        raise Problem(422, "Unprocessable Content", "thiếu cột / missing columns",
                      errors={"file": [f"thiếu cột / missing column: {c}" for c in missing]})
    people = []
    for number, cells in table.rows:
        person = {f: (cells[i] if i < len(cells) else "") for f, i in index.items()}
        person["role"] = ROLE_NAMES.get(_key(person.get("role", "")), person.get("role", "")) or DEFAULT_ROLE
        people.append((number, person))
    if not people:
        raise Problem(422, "Unprocessable Content", "tệp không có dòng dữ liệu / the file has no data rows",
                      errors={"file": ["Tệp không có dòng dữ liệu. / The file has no data rows."]})
    return people


def check_people(people: list[tuple[int, dict[str, str]]], *, principal: Principal, org_check) -> None:
    """Every row's fields and scope, before anything is written; `org_check(org)` raises Problem
    when the caller may not give that organisation (asked once per organisation)."""
    errors: dict[int, dict[str, list[str]]] = {}
    seen: dict[str, int] = {}
    org_verdicts: dict[str, str | None] = {}
    for number, person in people:
        def err(field: str, message: str) -> None:
            errors.setdefault(number, {}).setdefault(field, []).append(message)

        for check in (lambda: accounts.check_username(person["username"]), lambda: accounts.check_role(person["role"])):
            try:
                check()
            except Problem as problem:
                for field, messages in problem.errors.items():
                    for message in messages:
                        err(field, message)
        name = accounts.normalize_username(person["username"])
        if name in seen:
            err("username", f"trùng dòng {seen[name]} / same as row {seen[name]}")
        seen.setdefault(name, number)
        if not person["full_name"].strip():
            err("full_name", "bắt buộc / required")
        if person["role"] in ROLES and ROLES.index(person["role"]) > ROLES.index(principal.role):
            err("role", "cao hơn vai trò của bạn / above your own role")
        org = accounts.scope_code(person["org"])
        if not org:
            err("org", "bắt buộc / required")
            continue
        if org not in org_verdicts:
            try:
                org_check(org)
                org_verdicts[org] = None
            except Problem as problem:
                if problem.status == 503:
                    raise
                org_verdicts[org] = "; ".join(m for ms in problem.errors.values() for m in ms) or problem.detail
        if org_verdicts[org]:
            err("org", org_verdicts[org])
    if errors:
        report = [{"line": line, "errors": fields} for line, fields in sorted(errors.items())]
        raise Problem(422, "Unprocessable Content",
                      f"{len(report)} dòng có lỗi, không tạo tài khoản nào / {len(report)} rows have errors, "
                      f"no account was created", errors={"rows": report})


def create_people(session: Session, *, people: list[tuple[int, dict[str, str]]], created_by: str) -> list[tuple[User, str]]:
    """Create every account in one transaction; a username already taken refuses the whole file."""
    names = {accounts.normalize_username(p["username"]): n for n, p in people}
    taken = session.scalars(select(User.username).where(User.username.in_(list(names)))).all()
    if taken:
        report = [{"line": names[t], "errors": {"username": ["đã có / taken"]}} for t in sorted(taken)]
        raise Problem(409, "Conflict", "tên đăng nhập đã có, không tạo tài khoản nào / usernames are taken, "
                                       "no account was created", errors={"rows": report})
    return [accounts.create_user(session, username=p["username"], full_name=p["full_name"], org=p["org"],
                                 role=p["role"], created_by=created_by) for _n, p in people]


def answer_workbook(created: list[tuple[User, str]]) -> bytes:
    wb = Workbook()
    ws = wb.active
    ws.title = "Tài khoản"
    ws.append(ANSWER_HEADER)
    for cell in ws[1]:
        cell.font = Font(bold=True)
    for user, otp in created:
        ws.append((user.username, user.full_name, user.org, user.role, otp))
    for column, width in zip("ABCDE", (20, 32, 18, 10, 24)):
        ws.column_dimensions[column].width = width
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()
