"""The pages of people: sign in, sign out, change one's password, the first page, the language.

Errors raised by these pages answer as pages (not problem+json), in the person's language.
Sign-in answers the same, after the same work, for an unknown username, a wrong password and a
deactivated account (401); after too many failures for one username it is locked out for a while
(429), whether the username exists or not (limits set in app.py with Flask-Limiter on Redis).
"""
from __future__ import annotations

from flask import Blueprint, current_app, flash, g, jsonify, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError

from shared import logs
from shared.actor import Actor, set_actor
from shared.auth import ALL_ORGS
from shared.problems import Problem
from shared.web import current_db

from . import accounts, sessions
from .apiclient import path_part
from .cookies import SESSION_COOKIE, set_session_cookie
from .current import SignedIn, access_token, api, login_required, safe_next, user
from .forms import PasswordForm, SignInForm, SignOutForm
from .labels import WHOLE_COUNTRY, role_label

bp = Blueprint("pages", __name__, template_folder="templates", static_folder="static",
               static_url_path="/assets")



def _web():
    return current_app.extensions["web_settings"]


@bp.before_request
def load_signed_in_person():
    """The server-side session of the cookie, looked up on every page request."""
    g.user = None
    token = request.cookies.get(SESSION_COOKIE)
    if request.endpoint == "pages.static" or not token:
        return
    with current_db().transaction() as db:
        found = sessions.resolve(db, token=token, settings=_web())
        if found:
            web_session, person = found
            g.user = SignedIn(username=person.username, full_name=person.full_name, org=person.org,
                              role=person.role, must_change_password=person.must_change_password,
                              session_hash=web_session.token_hash)
            set_actor(Actor(person.username, person.role))  # what the person changes on a page is theirs
            logs.bind(sub=person.username)


@bp.app_context_processor
def page_context():
    return {"signed_in": user(), "sign_out_form": SignOutForm() if user() else None,
            "languages": _web().languages, "current_language": session.get("lang", _web().languages[0])}


@bp.route("/login", methods=["GET", "POST"])
def login():
    if user() is not None and request.method == "GET":
        return redirect(url_for("pages.home"))
    form = SignInForm()
    if request.method == "GET" or not form.validate_on_submit():
        status = 200 if request.method == "GET" else 400
        return render_template("login.html", form=form, failed=False), status
    with current_db().transaction() as db:
        person = accounts.authenticate(db, username=form.username.data, password=form.password.data)
        if person is None:
            # 401 is what the lock-out counts (app.py); the same page for every kind of failure.
            return render_template("login.html", form=form, failed=True), 401
        token = sessions.open_session(db, user=person, settings=_web())
        must_change = person.must_change_password
    session.clear()  # a new CSRF token and nothing carried over from before signing in
    target = url_for("pages.password") if must_change else (safe_next(request.args.get("next")) or url_for("pages.home"))
    response = redirect(target)
    set_session_cookie(response, token)
    return response


@bp.route("/logout", methods=["POST"])
def logout():
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        with current_db().transaction() as db:
            sessions.close(db, token=token)
    lang = session.get("lang")
    session.clear()
    if lang:
        session["lang"] = lang
    flash(_("Bạn đã đăng xuất."), "info")
    response = redirect(url_for("pages.login"))
    set_session_cookie(response, None)
    return response


@bp.route("/password", methods=["GET", "POST"])
@login_required
def password():
    form = PasswordForm()
    errors: dict[str, list[str]] = {}
    if request.method == "POST" and form.validate_on_submit():
        try:
            with current_db().transaction() as db:
                person = accounts.get_user(db, user().username)
                accounts.change_password(db, user=person, current=form.current_password.data,
                                         new=form.new_password.data, keep_token_hash=user().session_hash)
        except Problem as problem:
            errors = problem.errors
        else:
            flash(_("Đã đổi mật khẩu. Các phiên đăng nhập khác đã bị đăng xuất."), "success")
            return redirect(url_for("pages.home"))
    status = 422 if request.method == "POST" else 200
    return render_template("password.html", form=form, errors=errors,
                           first_time=user().must_change_password), status


@bp.route("/")
@login_required
def home():
    person = user()
    return render_template("home.html", person=person, role=role_label(person.role),
                           organisation=_organisation_name(person.org))


def _organisation_name(org: str) -> str:
    """The organisation's name from the quota service, or its code if the service does not answer."""
    if org == ALL_ORGS:
        return str(WHOLE_COUNTRY)
    try:
        return api().get("quota", f"/api/v1/organizations/{path_part(org)}").get("name") or org
    except Problem:
        return org


@bp.route("/session/token")
@login_required
def session_token():
    """The signed-in person's access token, for the page's own scripts (a live stream's
    `access_token`); same-origin only: no CORS, never cached."""
    response = jsonify({"access_token": access_token(), "token_type": "Bearer",
                        "expires_in": int(current_app.extensions["issuer"].ttl.total_seconds())})
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/lang/<code>")
def language(code: str):
    if code in _web().languages:
        session["lang"] = code
    return redirect(safe_next(request.args.get("next")) or url_for("pages.home"))


@bp.errorhandler(CSRFError)
def csrf_refused(error):
    return render_template("error.html", title=_("Biểu mẫu đã hết hạn"),
                           message=_("Biểu mẫu không hợp lệ hoặc đã hết hạn. Hãy tải lại trang và thử lại.")), 400


@bp.errorhandler(429)
def locked_out(error):
    form = SignInForm()
    return render_template("login.html", form=form, failed=False, locked=True), 429


@bp.errorhandler(Problem)
def problem_page(problem: Problem):
    return render_template("error.html", title=problem.title, message=problem.detail or problem.title), problem.status
