"""The pages' forms (Flask-WTF: each carries its CSRF token; labels in the page's language)."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, EqualTo, Length


class SignInForm(FlaskForm):
    username = StringField(_l("Tên đăng nhập"), validators=[DataRequired(), Length(max=64)])
    password = PasswordField(_l("Mật khẩu"), validators=[DataRequired(), Length(max=1024)])


class PasswordForm(FlaskForm):
    current_password = PasswordField(_l("Mật khẩu hiện tại"), validators=[DataRequired(), Length(max=1024)])
    new_password = PasswordField(_l("Mật khẩu mới"), validators=[DataRequired(), Length(max=1024)])
    confirm = PasswordField(_l("Nhập lại mật khẩu mới"),
                            validators=[DataRequired(), EqualTo("new_password", message=_l("Hai mật khẩu không khớp."))])


class SignOutForm(FlaskForm):
    """Only its CSRF token: signing out is a POST."""
