"""web/src/api/schema.d.ts matches the OpenAPI document the gateway serves today: the merged
document is built from the code the way tests/contracts builds it (not read from the snapshot,
which additive changes may leave behind) and the app's generator (web/scripts/gen-api.mjs)
must produce exactly the committed file. On failure: update the snapshot, then `npm run gen:api`."""

from __future__ import annotations

import importlib.util
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from mcm_devstack.webbuild import WEB_DIR, needs_install

ROOT = Path(__file__).resolve().parents[2]


def merged_openapi() -> dict:
    contracts = ROOT / "tests" / "contracts"
    spec = importlib.util.spec_from_file_location("contract_snapshots", contracts / "test_snapshots.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.path.insert(0, str(contracts))  # its helpers (compare, bus_messages) sit next to it
    try:
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(str(contracts))
    return module.merged_openapi()


def test_committed_api_types_match_the_platforms_current_document(tmp_path):
    if shutil.which("node") is None:
        pytest.fail("Node 20.19+ is needed for the web app (docs/web.md)")
    if needs_install(WEB_DIR):
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=WEB_DIR, check=True)
    document = tmp_path / "openapi.json"
    # Keys sorted as in the committed snapshot the types are generated from (the order of paths
    # is all that differs from the served document).
    document.write_text(json.dumps(merged_openapi(), indent=2, sort_keys=True))
    fresh = tmp_path / "schema.d.ts"
    subprocess.run(
        ["node", "scripts/gen-api.mjs", str(document), "--out", str(fresh)], cwd=WEB_DIR, check=True, timeout=120
    )
    committed = (WEB_DIR / "src" / "api" / "schema.d.ts").read_text()
    assert fresh.read_text() == committed, "web/src/api/schema.d.ts is stale: run `npm run gen:api` in web/"
