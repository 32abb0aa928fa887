"""`python -m mcm_devstack.smssink`: the local SMS provider `make run` points auth at.

Speaks the part of Twilio's REST API that auth's SMS client uses — `POST
/2010-04-01/Accounts/{AccountSid}/Messages.json`, HTTP Basic auth (account SID, auth token),
form fields `To`, `From`, `Body`, a 201 Message resource or a Twilio-shaped error — plus the
list (`GET` on the same path). Nothing is sent anywhere: each message is printed to the log and
the last N are kept in a JSON file. With `SMSSINK_AUTH_TOKEN` set, only that auth token is
accepted (as the provider would check it); otherwise any.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import hmac
import json
import os
import re
import secrets
import signal
import threading
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

from mcm_devstack.sinklog import DEFAULT_KEEP, MessageLog, now_iso

API_VERSION = "2010-04-01"
MESSAGES_PATH = re.compile(rf"^/{API_VERSION}/Accounts/(?P<account>AC[A-Za-z0-9_]{{1,64}})/Messages\.json$")
MAX_BODY = 64 * 1024


def _error(status: int, code: int, message: str) -> dict[str, Any]:
    return {
        "code": code,
        "message": message,
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
        "status": status,
    }


class SmsSink(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], log: MessageLog, auth_token: str | None) -> None:
        super().__init__(address, RequestHandler)
        self.log = log
        self.auth_token = auth_token  # None: any token is accepted (the SID must still match)
        self.count = 0
        self.count_lock = threading.Lock()


class RequestHandler(BaseHTTPRequestHandler):
    server: SmsSink
    protocol_version = "HTTP/1.1"

    # -- plumbing ---------------------------------------------------------------------------
    def log_message(self, format: str, *args: Any) -> None:
        pass  # the messages themselves are the log; access lines would only hide them

    def _send(self, status: int, body: dict[str, Any]) -> None:
        raw = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)

    def _account(self) -> str | None:
        """The account SID of the path if the request may use it; otherwise answers and returns None."""
        match = MESSAGES_PATH.match(self.path.split("?", 1)[0])
        if match is None:
            self._send(404, _error(404, 20404, f"The requested resource {self.path} was not found"))
            return None
        account = match["account"]
        scheme, _, value = self.headers.get("Authorization", "").partition(" ")
        try:
            user, _, token = (
                base64.b64decode(value, validate=True).decode().partition(":")
                if scheme.lower() == "basic"
                else ("", "", "")
            )
        except (binascii.Error, UnicodeDecodeError):
            user, token = "", ""
        expected = self.server.auth_token
        if user != account or not token or (expected is not None and not hmac.compare_digest(token, expected)):
            self._send(401, _error(401, 20003, "Authenticate"))
            return None
        return account

    # -- the API ----------------------------------------------------------------------------
    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY:
            self._send(413, _error(413, 20413, "Request entity too large"))
            return
        form = {key: values[-1] for key, values in parse_qs(self.rfile.read(length).decode("utf-8", "replace")).items()}
        account = self._account()
        if account is None:
            return
        for field, code, text in (
            ("To", 21604, "A 'To' phone number is required."),
            ("From", 21603, "A 'From' phone number is required."),
            ("Body", 21602, "Message body is required."),
        ):
            if not form.get(field, "").strip():
                self._send(400, _error(400, code, text))
                return
        sid = "SM" + secrets.token_hex(16)
        message = {
            "sid": sid,
            "account_sid": account,
            "to": form["To"],
            "from": form["From"],
            "body": form["Body"],
            "status": "queued",
            "direction": "outbound-api",
            "num_segments": str(len(form["Body"]) // 153 + 1),
            "date_created": formatdate(usegmt=True),
            "api_version": API_VERSION,
            "price": None,
            "error_code": None,
            "uri": f"/{API_VERSION}/Accounts/{account}/Messages/{sid}.json",
            "received_at": now_iso(),
        }
        with self.server.count_lock:
            self.server.count += 1
            number = self.server.count
        self.server.log.record(
            message, f"SMS #{number}", [f"From: {message['from']}", f"To:   {message['to']}"], message["body"] or ""
        )
        self._send(201, message)

    def do_GET(self) -> None:
        account = self._account()
        if account is None:
            return
        mine = [m for m in reversed(self.server.log.messages) if m.get("account_sid") == account]
        self._send(200, {"messages": mine, "page": 0, "page_size": len(mine), "uri": self.path, "next_page_uri": None})


def main() -> None:
    parser = argparse.ArgumentParser(prog="mcm_devstack.smssink", description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8025)
    parser.add_argument("--store", type=Path, required=True, help="JSON file with the last messages")
    parser.add_argument("--keep", type=int, default=DEFAULT_KEEP, help="how many messages the JSON file keeps")
    args = parser.parse_args()
    sink = SmsSink(
        (args.host, args.port), MessageLog(args.store, args.keep), os.environ.get("SMSSINK_AUTH_TOKEN") or None
    )
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda signum, frame: stop.set())
    # serve_forever runs on a thread so the main thread is free to wait for the signal and then
    # call shutdown(), which must not be called from the serving thread.
    threading.Thread(target=sink.serve_forever, name="sms-sink", daemon=True).start()
    print(
        f"SMS sink (Twilio Messages API) on http://{args.host}:{args.port}; "
        f"the last {args.keep} messages are kept in {args.store}",
        flush=True,
    )
    stop.wait()
    sink.shutdown()
    sink.server_close()


if __name__ == "__main__":
    main()
