"""Talking to the outside: SMTP for email, a Twilio-shaped REST API for SMS."""

from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage
from email.utils import make_msgid

import anyio.to_thread
import httpx

from mcm_auth.config import Settings


class PermanentFailure(Exception):
    """The provider refused the message for good (bad address); retrying cannot help."""


class SmtpTransport:
    def __init__(self, settings: Settings, *, tls_context: ssl.SSLContext | None = None) -> None:
        self.host = settings.smtp_host
        self.port = settings.smtp_port
        self.sender = settings.smtp_from
        self.security = settings.smtp_security
        self.username = settings.smtp_username
        self.password = settings.smtp_password.get_secret_value()
        self.timeout = max(5.0, settings.dependency_timeout_seconds)
        # Certificates are verified against the system's CAs (tests pass their own context).
        self.tls_context = tls_context or ssl.create_default_context()

    @property
    def configured(self) -> bool:
        return bool(self.host)

    def _send_sync(self, to: str, subject: str, body: str) -> None:
        message = EmailMessage()
        message["From"] = self.sender
        message["To"] = to
        message["Subject"] = subject
        message["Message-ID"] = make_msgid(domain="mcm.example")
        message.set_content(body)
        try:
            with self._connect() as client:
                if self.security == "starttls":
                    client.starttls(context=self.tls_context)
                if self.username:
                    client.login(self.username, self.password)
                client.send_message(message)
        except smtplib.SMTPRecipientsRefused as exc:
            raise PermanentFailure(f"recipient refused: {exc.recipients}") from exc

    def _connect(self) -> smtplib.SMTP:
        if not self.host:  # send() is only called when configured (see `configured`)
            raise RuntimeError("SMTP_HOST is not set")
        if self.security == "tls":
            return smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout, context=self.tls_context)
        return smtplib.SMTP(self.host, self.port, timeout=self.timeout)

    async def send(self, to: str, subject: str, body: str) -> None:
        # smtplib blocks; a thread keeps the event loop serving requests meanwhile.
        await anyio.to_thread.run_sync(self._send_sync, to, subject, body)


class SmsTransport:
    def __init__(self, settings: Settings, client: httpx.AsyncClient) -> None:
        self.base = (settings.sms_api_base or "").rstrip("/")
        self.account = settings.sms_account_sid
        self.token = settings.sms_auth_token.get_secret_value()
        self.sender = settings.sms_from
        self.client = client

    @property
    def configured(self) -> bool:
        return bool(self.base)

    async def send(self, to: str, body: str) -> None:
        response = await self.client.post(
            f"{self.base}/2010-04-01/Accounts/{self.account}/Messages.json",
            data={"To": to, "From": self.sender, "Body": body},
            auth=(self.account, self.token),
        )
        if response.status_code in (400, 404):
            raise PermanentFailure(f"SMS API refused the message ({response.status_code})")
        response.raise_for_status()
