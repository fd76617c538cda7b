"""Who may manage which accounts, decided with the organisation tree of the quota service.

The web service keeps no copy of the tree: whether an organisation lies in the caller's subtree is
asked of the quota service's public API with the caller's own token (`GET /organizations/{code}`
answers 403 outside the caller's scope and 404 for an unknown code), so the rule is the one every
API applies. Roles: a caller grants at most its own role and manages only accounts whose role is
not above its own; managing people needs `officer`, API clients `admin`.
"""
from __future__ import annotations

from shared.auth import ALL_ORGS, ROLES, Principal
from shared.problems import Problem

from .apiclient import ServiceClient, path_part


def require_org_in_scope(*, org: str, principal: Principal, quota: ServiceClient, field: str = "org") -> None:
    if org == ALL_ORGS:
        if principal.org != ALL_ORGS:
            raise Problem(403, "Forbidden", "chỉ cấp toàn quốc giao phạm vi '*' / only '*' may grant '*'",
                          errors={field: ["ngoài phạm vi của bạn / outside your scope"]})
        return
    response = quota.request("GET", "quota", f"/api/v1/organizations/{path_part(org)}")
    if response.status_code == 200:
        return
    if response.status_code == 404:
        raise Problem(422, "Unprocessable Content", f"không có tổ chức '{org}' / no organisation '{org}'",
                      errors={field: ["tổ chức không tồn tại / unknown organisation"]})
    if response.status_code == 403:
        raise Problem(403, "Forbidden", f"tổ chức '{org}' nằm ngoài phạm vi '{principal.org}' của bạn / "
                                        f"organisation '{org}' is outside your scope '{principal.org}'",
                      errors={field: ["ngoài phạm vi của bạn / outside your scope"]})
    raise Problem(503, "Service Unavailable", "không kiểm tra được cây tổ chức; hãy thử lại sau / "
                                              "the organisation tree cannot be checked; retry later")


def require_role_at_most_own(*, role: str, principal: Principal, field: str = "role") -> None:
    if ROLES.index(role) > ROLES.index(principal.role):
        raise Problem(403, "Forbidden", f"không thể giao vai trò '{role}' cao hơn vai trò '{principal.role}' của bạn / "
                                        f"you cannot grant the role '{role}' above your own '{principal.role}'",
                      errors={field: ["cao hơn vai trò của bạn / above your own role"]})


def require_may_manage(*, org: str, role: str, principal: Principal, quota: ServiceClient) -> None:
    """The caller may act on an existing account with this scope and role."""
    require_role_at_most_own(role=role, principal=principal)
    require_org_in_scope(org=org, principal=principal, quota=quota)
