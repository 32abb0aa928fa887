"""`make run` rebuilds the web app only when its sources are newer than the build, and installs
npm packages only when the lock file is newer than node_modules (mcm_devstack.webbuild)."""

from __future__ import annotations

import os
from pathlib import Path

from mcm_devstack.webbuild import needs_build, needs_install


def touch(path: Path, mtime: float) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch()
    os.utime(path, (mtime, mtime))


def make_web(root: Path) -> Path:
    for name in ("src/main.tsx", "src/pages/Home.tsx", "index.html", "package.json", "package-lock.json"):
        touch(root / name, 1000)
    return root


def test_a_missing_build_is_built(tmp_path):
    assert needs_build(make_web(tmp_path))


def test_a_build_newer_than_every_source_is_kept(tmp_path):
    web = make_web(tmp_path)
    touch(web / "dist" / "index.html", 2000)
    assert not needs_build(web)


def test_a_source_changed_after_the_build_rebuilds_it(tmp_path):
    web = make_web(tmp_path)
    touch(web / "dist" / "index.html", 2000)
    touch(web / "src" / "pages" / "Home.tsx", 3000)  # deep in the tree
    assert needs_build(web)


def test_packages_are_installed_when_missing_or_older_than_the_lock(tmp_path):
    web = make_web(tmp_path)
    assert needs_install(web)
    touch(web / "node_modules" / ".package-lock.json", 2000)
    assert not needs_install(web)
    touch(web / "package-lock.json", 3000)
    assert needs_install(web)
