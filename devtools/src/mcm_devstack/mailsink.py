"""`python -m mcm_devstack.mailsink`: the local SMTP server `make run` points auth at.

Accepts every message (nothing is relayed anywhere), prints it readably to its log and keeps the
last N in a JSON file, so verification codes and reset links can be read on a machine without
a mail account.
"""

from __future__ import annotations

import argparse
import asyncio
import email
import email.policy
import signal
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from aiosmtpd.smtp import SMTP, Envelope, Session

from mcm_devstack.sinklog import DEFAULT_KEEP, MessageLog, now_iso


def _text_of(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain", "html"))
    if part is None:
        return ""
    try:
        content: str = part.get_content()
    except (LookupError, ValueError):
        payload = part.get_payload(decode=True)
        return payload.decode("utf-8", "replace") if isinstance(payload, bytes) else str(payload or "")
    return content


class Handler:
    def __init__(self, log: MessageLog) -> None:
        self.log = log
        self.count = 0

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or envelope.content or b""
        parsed = email.message_from_bytes(raw if isinstance(raw, bytes) else raw.encode(), policy=email.policy.default)
        self.count += 1
        entry: dict[str, Any] = {
            "received_at": now_iso(),
            "mail_from": envelope.mail_from,
            "rcpt_tos": list(envelope.rcpt_tos),
            "from": str(parsed.get("From", "")),
            "to": str(parsed.get("To", "")),
            "subject": str(parsed.get("Subject", "")),
            "message_id": str(parsed.get("Message-ID", "")),
            "body": _text_of(parsed).replace("\r\n", "\n"),
        }
        lines = [
            f"From:    {entry['from']}",
            f"To:      {', '.join(entry['rcpt_tos'])}",
            f"Subject: {entry['subject']}",
        ]
        self.log.record(entry, f"mail #{self.count}", lines, entry["body"])
        return "250 Message accepted for delivery"


async def serve(host: str, port: int, log: MessageLog) -> None:
    loop = asyncio.get_running_loop()
    handler = Handler(log)
    # A fixed hostname: the default looks up this machine's FQDN, which can stall on DNS.
    server = await loop.create_server(
        lambda: SMTP(handler, hostname="mailsink.local", enable_SMTPUTF8=True), host, port
    )
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    print(
        f"mail sink on smtp://{host}:{port}; the last {log.messages.maxlen} messages are kept in {log.store}",
        flush=True,
    )
    await stop.wait()
    server.close()
    await server.wait_closed()


def main() -> None:
    parser = argparse.ArgumentParser(prog="mcm_devstack.mailsink", description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=1025)
    parser.add_argument("--store", type=Path, required=True, help="JSON file with the last messages")
    parser.add_argument("--keep", type=int, default=DEFAULT_KEEP, help="how many messages the JSON file keeps")
    args = parser.parse_args()
    asyncio.run(serve(args.host, args.port, MessageLog(args.store, args.keep)))


if __name__ == "__main__":
    main()
