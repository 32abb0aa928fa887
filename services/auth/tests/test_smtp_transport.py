"""SMTP delivery to relays that want TLS and a login: real aiosmtpd servers on 127.0.0.1, with a
self-signed certificate the client is told to trust (production trusts the system's CAs)."""

from __future__ import annotations

import datetime as dt
import ssl
from pathlib import Path
from types import SimpleNamespace

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from mcm_auth.config import Settings
from mcm_auth.outbox.transports import SmtpTransport
from mcm_devstack.engines import free_port
from mcm_shared.settings import ConfigurationError


class Inbox:
    def __init__(self) -> None:
        self.messages: list[bytes] = []
        self.logins: list[tuple[str, str]] = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(envelope.content)
        return "250 OK"

    def authenticate(self, server, session, envelope, mechanism, auth_data):
        if isinstance(auth_data, LoginPassword):
            self.logins.append((auth_data.login.decode(), auth_data.password.decode()))
            return AuthResult(success=auth_data.password == b"relay-secret")
        return AuthResult(success=False)


@pytest.fixture(scope="module")
def certificate(tmp_path_factory) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
        .sign(key, hashes.SHA256())
    )
    folder = tmp_path_factory.mktemp("smtp-tls")
    cert_file, key_file = folder / "cert.pem", folder / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_file, key_file


def server_context(certificate: tuple[Path, Path]) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(*certificate)
    return context


def client_context(certificate: tuple[Path, Path]) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=str(certificate[0]))


def transport(
    port: int, *, security: str, username: str | None = None, password: str = "", context=None
) -> SmtpTransport:
    settings = SimpleNamespace(
        smtp_host="localhost",
        smtp_port=port,
        smtp_from="MCM <no-reply@mcm.example>",
        smtp_security=security,
        smtp_username=username,
        smtp_password=SimpleNamespace(get_secret_value=lambda: password),
        dependency_timeout_seconds=5,
    )
    return SmtpTransport(settings, tls_context=context)  # type: ignore[arg-type]


def serve(inbox: Inbox, **options) -> Controller:
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port(), server_hostname="localhost", **options)
    controller.start()
    return controller


async def test_starttls_then_login_delivers_the_message(certificate):
    inbox = Inbox()
    controller = serve(
        inbox,
        tls_context=server_context(certificate),
        require_starttls=True,
        authenticator=inbox.authenticate,
        auth_require_tls=True,
    )
    try:
        await transport(
            controller.port,
            security="starttls",
            username="mcm",
            password="relay-secret",
            context=client_context(certificate),
        ).send("sam@example.org", "Hello", "Body")
    finally:
        controller.stop()
    assert inbox.logins == [("mcm", "relay-secret")] and len(inbox.messages) == 1


async def test_implicit_tls_delivers_the_message(certificate):
    inbox = Inbox()
    controller = serve(inbox, ssl_context=server_context(certificate))
    try:
        await transport(controller.port, security="tls", context=client_context(certificate)).send(
            "sam@example.org", "Hi", "Body"
        )
    finally:
        controller.stop()
    assert len(inbox.messages) == 1


async def test_an_untrusted_certificate_is_refused(certificate):
    inbox = Inbox()
    controller = serve(inbox, tls_context=server_context(certificate), require_starttls=True)
    try:
        with pytest.raises(ssl.SSLError):
            await transport(controller.port, security="starttls").send(
                "sam@example.org", "Hi", "Body"
            )  # system CAs only
    finally:
        controller.stop()
    assert inbox.messages == []


def test_production_refuses_a_relay_login_in_clear():
    from mcm_auth.keys.material import generate_key, key_to_pem

    ready = dict(
        environment="production",
        creds_database_url="postgresql://db/creds",
        redis_url="redis://r",
        jwt_private_key=key_to_pem(generate_key()),
        password_pepper="a" * 40,
        service_client_secret="b" * 40,
        service_clients="circles:" + "c" * 40,
        smtp_host="relay.example.org",
        smtp_username="mcm",
        smtp_password="relay-secret",
    )
    with pytest.raises(ConfigurationError, match="SMTP_SECURITY"):
        Settings(**ready, smtp_security="none").check_production_ready()
    Settings(**ready, smtp_security="starttls").check_production_ready()
