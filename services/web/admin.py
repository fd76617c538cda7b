"""The administration pages' blueprint and what they share: the signed-in person as the caller of
management.py and of the quota API, the administration nav, form values read safely, and
refusals turned into messages next to the field they name.

The pages are admin_users.py (accounts), admin_clients.py (API clients) and admin_tree.py (the
organisation tree); the audit page (audit_page.py) is linked from the same nav.
"""
from __future__ import annotations

from flask import Blueprint, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from marshmallow import Schema, ValidationError

from shared.auth import Principal
from shared.problems import Problem

from .current import user
from .pages import load_signed_in_person, problem_page

bp = Blueprint("admin", __name__, template_folder="templates", url_prefix="/admin")
bp.before_request(load_signed_in_person)
bp.errorhandler(Problem)(problem_page)  # a refusal not tied to a form answers as a page


def _has_control(value: str) -> bool:
    return any(ord(ch) < 32 or ord(ch) == 127 for ch in value)


@bp.before_request
def refuse_unusable_input():
    """A path or query value with control characters names nothing (and PostgreSQL refuses NUL):
    refused before anything is read."""
    for name, value in (request.view_args or {}).items():
        if isinstance(value, str) and _has_control(value):
            raise Problem(404, _("Không có trang này"), _("Địa chỉ không hợp lệ."), errors={name: ["?"]})
    for name, value in request.args.items():
        if _has_control(value):
            raise Problem(422, _("Giá trị không hợp lệ"), _("Ký tự điều khiển trong %(name)s.", name=name),
                          errors={name: ["?"]})

# (endpoint, label, the role that sees it): the API decides in the end, the nav only hides what
# would be refused anyway.
NAV = (("admin.users", _l("Tài khoản"), "officer"), ("admin.clients", _l("Hệ thống kết nối"), "admin"),
       ("admin.tree", _l("Cây tổ chức"), "admin"), ("audit_pages.audit_trail", _l("Nhật ký"), "officer"))
MAX_VALUE = 300  # characters of any one form value (names are at most 200, codes 64)


def principal() -> Principal:
    """The signed-in person as the caller of management.py (its token says the same)."""
    person = user()
    return Principal(sub=person.username, org=person.org, role=person.role)


def require(role: str) -> Principal:
    caller = principal()
    if not caller.has_role(role):
        raise Problem(403, _("Không có quyền"), _("Trang này cần vai trò %(role)s.", role=role))
    return caller


def nav(active: str) -> list[dict]:
    caller = principal()
    return [{"url": url_for(endpoint), "label": str(label), "active": endpoint == active}
            for endpoint, label, role in NAV if caller.has_role(role)]


def page(template: str, *, active: str, status: int = 200, **context):
    return render_template(template, admin_nav=nav(active), **context), status


def form_values(*names: str) -> dict[str, str]:
    """The named form fields, stripped; control characters or an over-long value are refused
    naming the field (PostgreSQL refuses NUL, and no code or name has them)."""
    values = {}
    for name in names:
        value = (request.form.get(name) or "").strip()
        if len(value) > MAX_VALUE or _has_control(value):
            raise FormRefused({name: [_("Giá trị không hợp lệ (ký tự điều khiển hoặc quá dài) / "
                                        "invalid value (control characters or too long)")]})
        values[name] = value
    return values


def load(schema: Schema, data: dict) -> dict:
    """`data` checked by the API's own schema; its messages go next to the fields."""
    try:
        return schema.load(data)
    except ValidationError as error:
        raise FormRefused({field: [str(m) for m in (messages if isinstance(messages, list) else [messages])]
                           for field, messages in error.messages.items()}) from None


class FormRefused(Exception):
    """Field -> messages, to show next to each field of the form."""

    def __init__(self, errors: dict[str, list[str]]):
        super().__init__(errors)
        self.errors = errors


def refusal_errors(problem: Problem, *, default_field: str) -> dict[str, list[str]]:
    """A refusal's messages by field (the services name the field); the detail when it names none."""
    errors = {k: list(v) if isinstance(v, list) else [str(v)] for k, v in (problem.errors or {}).items()}
    detail = problem.detail or problem.title
    if not errors:
        errors = {default_field: [detail]}
    elif detail and problem.status == 403:  # "outside your scope 'X'" says more than the field's message
        errors = {k: v + [detail] if detail not in v else v for k, v in errors.items()}
    return errors
