"""Differential framing test: a few hundred ambiguous or malformed requests, generated from
variants (Content-Length / Transfer-Encoding combinations and duplicates, odd spellings, obs-fold,
bare LF, Upgrade with a body, trailers, pipelining, huge or negative chunk sizes and lengths,
request-line oddities), each carrying a hidden request in its body and followed by canaries.

Whatever the gateway makes of a variant (refuse it, or serve it), three things must hold:
- the upstream (a recorder on uvicorn + httptools, as the services run) never parses a request
  the gateway did not route, and never receives client framing or hop-by-hop headers, nor a
  Content-Length that disagrees with the body it got;
- a canary sent after the variant on the same connection (when it is still open) gets either its
  own answer or none — never the hidden request's or anyone else's;
- a canary on a fresh connection always gets its own answer (no pooled upstream connection was
  left out of step).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import pytest
from seckit import Accounts, User, fresh_source_ip

from mcm_testing.rawhttp import Reader, Recorder, connect, exchange, gateway_process, request


@dataclass
class Variant:
    name: str
    payload: bytes


def _hidden(tag: str) -> bytes:
    # No token: if the gateway ever took this for a request of its own it would answer 401 itself,
    # so the only way it can reach the recorder is past the gateway.
    return f"GET /api/v1/circles/smuggled-{tag} HTTP/1.1\r\nhost: x\r\n\r\n".encode()


def variants(token: str) -> list[Variant]:
    auth = f"authorization: Bearer {token}".encode()
    found: list[Variant] = []

    def add(
        name: str,
        head_lines: list[bytes],
        body: bytes,
        *,
        method: bytes = b"POST",
        eol: bytes = b"\r\n",
        version: bytes = b"HTTP/1.1",
    ) -> None:
        n = len(found)
        line = method + b" /api/v1/circles/variant-%d " % n + version
        head = eol.join([line, b"host: gateway.test", auth, *head_lines]) + eol + eol
        found.append(Variant(f"{n}:{name}", head + body))

    def chunked_then_hidden(tag: str) -> bytes:
        return b"0\r\n\r\n" + _hidden(tag)

    cl_forms = [
        "{n}",
        " {n}",
        "{n} ",
        "+{n}",
        "0{n}",
        "{n}.0",
        "-1",
        "{n},{n}",
        "{n}, {m}",
        "99999999999999999999999",
        "0x{x}",
        "{n}\x00",
        "{m}",
        "0",
    ]
    te_forms = [
        "chunked",
        "Chunked",
        "CHUNKED",
        " chunked",
        "chunked ",
        "\tchunked",
        "identity",
        "gzip, chunked",
        "chunked, identity",
        "chunked, chunked",
        "xchunked",
        "chunked;q=1",
        "chunk",
        "\x0bchunked",
        "chunked\x00",
        ",chunked",
    ]

    def cl(form: str, body: bytes) -> bytes:
        n = len(body)
        return ("content-length: " + form.format(n=n, m=n + 7, x=f"{n:x}")).encode("latin-1")

    def te(form: str) -> bytes:
        return ("transfer-encoding: " + form).encode("latin-1")

    for form in cl_forms:
        body = chunked_then_hidden("cl")
        add(f"CL {form!r}", [cl(form, body)], body)
    for form in te_forms:
        body = chunked_then_hidden("te")
        add(f"TE {form!r}", [te(form)], body)
    for cl_form in cl_forms:
        for te_form in te_forms:
            body = chunked_then_hidden("clte")
            add(f"CL {cl_form!r} + TE {te_form!r}", [cl(cl_form, body), te(te_form)], body)
    for te_form in te_forms[:8]:
        body = chunked_then_hidden("tecl")
        add(f"TE {te_form!r} + CL", [te(te_form), cl("{n}", body)], body)
    body = chunked_then_hidden("dup")
    add("CL twice, different", [cl("{n}", body), cl("{m}", body)], body)
    add("CL twice, same", [cl("{n}", body), cl("{n}", body)], body)
    add("TE chunked + TE identity", [te("chunked"), te("identity")], body)
    add("TE identity + TE chunked", [te("identity"), te("chunked")], body)
    add("TE chunked twice", [te("chunked"), te("chunked")], body)
    # Odd header-name spellings and line folding.
    for name in (
        b"content-length :",
        b"content-length\t:",
        b"content_length:",
        b" content-length:",
        b"content-length\x00:",
    ):
        add(f"name {name!r}", [name + b" %d" % len(body)], body)
    for name in (
        b"transfer-encoding :",
        b"transfer-encoding\t:",
        b"transfer_encoding:",
        b" transfer-encoding:",
        b"transfer-encodingx:",
    ):
        add(f"name {name!r}", [name + b" chunked", cl("{n}", body)], body)
    add("obs-fold TE value", [b"transfer-encoding:", b" chunked", cl("{n}", body)], body)
    add("obs-fold hides TE", [b"x-pad: a", b" transfer-encoding: chunked", cl("{n}", body)], body)
    add("obs-fold CL value", [b"content-length:", b" %d" % len(body)], body)
    add("obs-fold authorization", [b"x-pad: a", b"\tauthorization: Bearer forged", cl("{n}", body)], body)
    # Bare LF and lone CR line endings.
    add("bare LF everywhere", [cl("{n}", body)], body, eol=b"\n")
    add("bare LF, TE", [te("chunked")], body, eol=b"\n")
    add("lone CR", [cl("{n}", body)], body, eol=b"\r")
    mixed = (
        b"POST /api/v1/circles/variant-mixed HTTP/1.1\r\nhost: x\n"
        + auth
        + b"\r\ntransfer-encoding: chunked\n"
        + cl("{n}", body)
        + b"\r\n\r\n"
        + body
    )
    found.append(Variant(f"{len(found)}:mixed LF", mixed))
    # Upgrade with a body (the hole the attacker review found), several spellings.
    for upgrade in (b"websocket", b"WebSocket", b"h2c", b"foo", b"websocket, h2c"):
        for connection in (b"Upgrade", b"keep-alive, Upgrade", b"upgrade"):
            hidden = _hidden("upgrade")
            add(
                f"Upgrade {upgrade!r} / {connection!r}",
                [b"connection: " + connection, b"upgrade: " + upgrade, cl("{n}", hidden)],
                hidden,
                method=b"GET",
            )
            add(
                f"POST Upgrade {upgrade!r} / {connection!r}",
                [b"connection: " + connection, b"upgrade: " + upgrade, cl("{n}", hidden)],
                hidden,
            )
    add("Upgrade without Connection", [b"upgrade: websocket", cl("{n}", body)], body)
    add("CONNECT with body", [cl("{n}", body)], body, method=b"CONNECT")
    # Trailers.
    for trailer in (
        b"x-user-id: admin",
        b"content-length: 5",
        b"transfer-encoding: chunked",
        b"authorization: Bearer forged",
    ):
        chunked = b"5\r\nhello\r\n0\r\n" + trailer + b"\r\n\r\n" + _hidden("trailer")
        add(f"trailer {trailer!r}", [te("chunked")], chunked)
    # Chunk sizes.
    for size in (
        b"ffffffffffffffffff",
        b"-1",
        b"1_0",
        b"0x5",
        b" 5",
        b"5 ",
        b"5;ext=1",
        b"5;" + b"e" * 5000,
        b"00000000000000000005",
        b"fffffffffffffffff0",
        b"8000000000000000",
        b"g",
    ):
        chunked = size + b"\r\nhello\r\n0\r\n\r\n" + _hidden("chunk")
        add(f"chunk size {size[:20]!r}", [te("chunked")], chunked)
    add("chunk data longer than its size", [te("chunked")], b"3\r\nhello\r\n0\r\n\r\n" + _hidden("chunklong"))
    add("chunk without final CRLF", [te("chunked")], b"5\r\nhelloXX0\r\n\r\n" + _hidden("chunkcrlf"))
    # Request-line and version oddities.
    add("HTTP/1.0 keep-alive with CL", [b"connection: keep-alive", cl("{n}", body)], body, version=b"HTTP/1.0")
    add("HTTP/1.0 with TE", [te("chunked")], body, version=b"HTTP/1.0")
    add("HTTP/0.9-ish", [], b"", version=b"")
    add("HTTP/2.0 version", [cl("{n}", body)], body, version=b"HTTP/2.0")
    add("HTTP/1.1 with spaces", [cl("{n}", body)], body, version=b"HTTP/1.1 extra")
    add("expect 100-continue", [b"expect: 100-continue", cl("{n}", body)], body)
    add("NUL in a header value", [b"x-pad: a\x00b", cl("{n}", body)], body)
    add("CR in a header value", [b"x-pad: a\rb", cl("{n}", body)], body)
    add("two hosts", [b"host: other.test", cl("{n}", body)], body)
    # Pipelining: a well-formed request right behind a well-framed one.
    pipelined_body = b'{"a": 1}'
    add(
        "pipelined pair",
        [cl("{n}", pipelined_body)],
        pipelined_body
        + request("GET", "/api/v1/circles/variant-pipelined-second", [("authorization", f"Bearer {token}")]),
    )
    return found


@pytest.fixture(scope="module")
def member(accounts: Accounts) -> User:
    return accounts.create(prefix="differential")


@pytest.fixture(scope="module")
def recorder() -> Iterator[Recorder]:
    upstream = Recorder().start()
    yield upstream
    upstream.stop()


@pytest.fixture(scope="module")
def differential_gateway(platform, recorder: Recorder, tmp_path_factory) -> Iterator[str]:
    log = tmp_path_factory.mktemp("differential-gateway") / "gateway.log"
    with gateway_process(
        platform.env,
        log,
        AUTH_URL=platform.url("auth"),
        CIRCLES_URL=recorder.url,
        PAYMENTS_URL=recorder.url,
        BODY_IDLE_TIMEOUT_SECONDS="0.5",
        BODY_TIMEOUT_SECONDS="1.5",
    ) as url:
        yield url


def _answered_path(answer) -> str:
    try:
        return str(answer.json().get("path", ""))
    except ValueError:
        return ""


def _run(url: str, token: str, variant: Variant, source_ip: str) -> tuple[list[str], int | None]:
    """Problems found, and the status of the gateway's first answer to the variant (None: none)."""
    problems: list[str] = []
    first: int | None = None
    canary = f"/api/v1/circles/canary-{uuid.uuid4().hex[:10]}"
    canary_request = request("GET", canary, [("authorization", f"Bearer {token}"), ("connection", "close")])
    try:
        with connect(url, source_ip=source_ip, timeout=2.5) as sock:
            sock.sendall(variant.payload)
            reader = Reader(sock)
            answers = []
            # Everything the gateway says about the variant (answers pipelined ones too), until it
            # closes or stays silent.
            sock.settimeout(0.6)
            while True:
                answer = reader.answer()
                if answer is None:
                    break
                answers.append(answer)
                if first is None:
                    first = answer.status
                if answer.header("connection") == "close":
                    break
            if not reader.closed:
                try:
                    sock.settimeout(2.5)
                    sock.sendall(canary_request)
                    same = reader.answer()
                except OSError:
                    same = None
                if same is not None:
                    if same.status == 200:
                        if _answered_path(same) != canary:
                            problems.append(f"same-connection canary got another answer: {same.body[:200]!r}")
                    elif same.status < 400:
                        problems.append(f"same-connection canary got {same.status}")
            for answer in answers:
                if answer.status == 200 and "smuggled" in _answered_path(answer):
                    problems.append(f"a hidden request was answered: {answer.body[:200]!r}")
    except OSError:
        pass  # reset by the gateway: fine, as long as the canaries below hold
    fresh = f"/api/v1/circles/fresh-{uuid.uuid4().hex[:10]}"
    answer = exchange(
        url,
        request("GET", fresh, [("authorization", f"Bearer {token}"), ("connection", "close")]),
        source_ip=source_ip,
        timeout=5,
    )[0]
    if answer is None or answer.status != 200 or _answered_path(answer) != fresh:
        problems.append(f"fresh canary got {answer and (answer.status, answer.body[:200])!r}")
    return [f"{variant.name}: {problem}" for problem in problems], first


def test_ambiguous_and_malformed_requests_never_desynchronise_anyone(
    differential_gateway: str, recorder: Recorder, member: User
):
    cases = variants(member.token)
    assert len(cases) >= 250
    sources = [fresh_source_ip() for _ in range(8)]
    started = time.monotonic()
    with ThreadPoolExecutor(8) as pool:
        results = list(
            pool.map(
                lambda pair: _run(differential_gateway, member.token, pair[1], sources[pair[0] % len(sources)]),
                enumerate(cases),
            )
        )
    elapsed = time.monotonic() - started
    problems = [problem for found, _ in results for problem in found]
    statuses = [status for _, status in results]
    # Not vacuous: the well-formed variants were served, most of the others refused.
    assert statuses[0] == 200, f"the plain Content-Length variant was not served: {statuses[0]}"
    assert sum(1 for status in statuses if status is not None and status >= 400) >= len(cases) // 2, statuses
    assert not problems, f"{len(problems)} problems, first ones:\n" + "\n".join(problems[:15])
    unrouted = recorder.unrouted()
    assert not unrouted, f"the upstream parsed requests the gateway did not route: {unrouted[:3]}"
    framing = recorder.framing_forwarded()
    assert not framing, f"client framing reached the upstream: {framing[:3]}"
    assert elapsed < 60, f"the differential run took {elapsed:.0f} s"
