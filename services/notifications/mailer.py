"""E-mail delivery over SMTP (smtplib), configured by CHITIEU_SMTP_* variables."""
from __future__ import annotations

import smtplib
from email.message import EmailMessage
from email.utils import make_msgid

from .settings import DeliverySettings
from .webhooks import DELIVERY_HEADER, SendResult


def send(*, settings: DeliverySettings, to: str, subject: str, text: str, delivery_id: str) -> SendResult:
    message = EmailMessage()
    message["From"] = settings.smtp_from
    message["To"] = to
    message["Subject"] = subject
    message["Message-ID"] = make_msgid(idstring=delivery_id, domain="chitieu.local")
    message[DELIVERY_HEADER] = delivery_id
    message.set_content(text, charset="utf-8")
    smtp_class = smtplib.SMTP_SSL if settings.smtp_ssl else smtplib.SMTP
    try:
        with smtp_class(settings.smtp_host, settings.smtp_port, timeout=settings.smtp_timeout_s) as smtp:
            if settings.smtp_starttls and not settings.smtp_ssl:
                smtp.starttls()
            if settings.smtp_user:
                smtp.login(settings.smtp_user, settings.smtp_password)
            refused = smtp.send_message(message)
    except smtplib.SMTPResponseException as exc:
        return SendResult(ok=False, status_code=exc.smtp_code, error=f"SMTP {exc.smtp_code}: {exc.smtp_error!r}"[:1000])
    except (smtplib.SMTPException, OSError) as exc:
        return SendResult(ok=False, error=f"{exc.__class__.__name__}: {exc}"[:1000])
    if refused:
        return SendResult(ok=False, error=f"recipient refused: {refused}"[:1000])
    return SendResult(ok=True, status_code=250)
