"""Fast checks of the benchmark's own parts (the benchmark itself runs with `make bench`):
the Stripe signer is accepted by the verifier payments uses, and the report says what it must."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import pytest
import stripe

sys.path.insert(0, str(Path(__file__).resolve().parent))

from benchkit.load import percentile, wrk_script
from benchkit.report import ABSOLUTE, NOT_AVAILABLE, RATIO, Report, ScenarioResult, Target
from benchkit.stripe_sign import make_event, signature_header

SECRET = "whsec_smoke_secret"


def test_signed_event_passes_the_stripe_library_check():
    event_id, body = make_event(3, prefix="smoke_")
    header = signature_header(SECRET, body)
    stripe.WebhookSignature.verify_header(body.decode(), header, SECRET, 300)
    assert json.loads(body)["id"] == event_id
    timestamp = int(header.split(",")[0].removeprefix("t="))
    assert abs(timestamp - time.time()) < 5  # signed now, in seconds


@pytest.mark.parametrize("tamper", ["body", "secret", "old"])
def test_tampered_or_stale_signature_is_refused(tamper: str):
    _, body = make_event(4, prefix="smoke_")
    if tamper == "body":
        header, body = signature_header(SECRET, body), body.replace(b'"livemode":false', b'"livemode":true')
    elif tamper == "secret":
        header = signature_header("whsec_other", body)
    else:
        header = signature_header(SECRET, body, timestamp=int(time.time()) - 3600)
    with pytest.raises(stripe.SignatureVerificationError):
        stripe.WebhookSignature.verify_header(body.decode(), header, SECRET, 300)


def test_report_files_label_figures_and_verdicts(tmp_path: Path):
    report = Report(
        machine={"cpu_model": "Test CPU", "cpus": 2, "date": "2026-01-01 00:00:00", "python": "CPython 3.11"}
    )
    listing = ScenarioResult("listing", "(b) Listing", method="wrk against the gateway", load_generator="wrk -t2 -c32")
    listing.add("p95", "Listing p95", 31.5, "ms", ABSOLUTE, target=Target("<=", 25))
    listing.add("ratio", "Gateway / direct", 0.8, "×", RATIO)
    listing.add("errors", "Bad answers", 0, "", ABSOLUTE, target=Target("==", 0))
    listing.cpu = {"ours_pct": 70.0, "others_pct": 25.0}
    webhooks = ScenarioResult(
        "webhooks", "(d) Webhooks", status=NOT_AVAILABLE, reason="payments has no POST /webhooks yet"
    )
    report.scenarios += [listing, webhooks]
    report.write_markdown(tmp_path / "b.md")
    report.write_json(tmp_path / "b.json")

    markdown = (tmp_path / "b.md").read_text()
    assert "Test CPU" in markdown and "| Cores (usable) | 2 |" in markdown
    assert "| Listing p95 | 31.5 ms | absolute | ≤ 25 ms | **FAIL** |" in markdown
    assert "| Bad answers | 0 | absolute | = 0 | **pass** |" in markdown
    assert "| Gateway / direct | 0.8× | ratio |" in markdown
    assert "**not available**: payments has no POST /webhooks yet" in markdown
    assert "other processes on this machine" in markdown  # 25% foreign CPU is called out

    data = json.loads((tmp_path / "b.json").read_text())
    assert data["summary"] == {"targets_met": 1, "targets_missed": 1, "not_available": ["webhooks"], "errors": []}
    figures = {f["key"]: f for f in data["scenarios"][0]["figures"]}
    assert figures["listing.p95"]["passed"] is False and figures["listing.p95"]["kind"] == "absolute"
    assert figures["listing.ratio"]["passed"] is None and figures["listing.ratio"]["kind"] == "ratio"


def test_percentile_is_nearest_rank():
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 50) == 50 and percentile(values, 95) == 95 and percentile(values, 99) == 99
    assert percentile([7.0], 99) == 7.0 and percentile([], 50) is None


def test_wrk_script_escapes_what_it_embeds():
    script = wrk_script(
        [
            ("GET", '/api/v1/circles?q="oak"', {"Authorization": "Bearer a\\b"}, None),
            ("POST", "/x", {"Content-Type": "application/json"}, '{"name":"Zoë"}'),
        ]
    )
    assert r'"/api/v1/circles?q=\"oak\""' in script
    assert r'"Bearer a\\b"' in script
    assert r"Zo\195\171" in script  # UTF-8 bytes as Lua decimal escapes
    assert "latency:percentile(95)" in script
