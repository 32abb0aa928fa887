"""The images: multi-stage, only the service's runtime dependencies from the lock, a numeric
non-root user, exec-form entrypoint, and a build context that carries no secrets."""

from __future__ import annotations

import re
import shlex

import pytest
from deploy_support import HEALTH_PATHS, ROOT, SERVICES, Service, dockerignore_rules, is_ignored, parse_dockerfile

ALL = list(SERVICES.values())
ids = [service.name for service in ALL]


@pytest.fixture(params=ALL, ids=ids)
def service(request) -> Service:
    return request.param


def test_every_service_and_the_gateway_has_a_dockerfile(service: Service) -> None:
    assert service.dockerfile.is_file(), f"missing {service.dockerfile.relative_to(ROOT)}"


def test_image_is_multi_stage_with_a_runtime_stage_on_the_builder_base(service: Service) -> None:
    stages = parse_dockerfile(service.dockerfile)
    assert len(stages) >= 2, "a builder stage and a runtime stage"
    builder = next((s for s in stages if s.of("RUN") and any("uv sync" in r.args for r in s.of("RUN"))), None)
    assert builder is not None, "a builder stage runs `uv sync`"
    runtime = stages[-1]
    assert runtime is not builder
    # The virtualenv's interpreter link only works on the same Python image.
    assert runtime.base == builder.base, "runtime and builder must use the same Python image"
    copies = [c.args for c in runtime.of("COPY")]
    assert any(re.match(rf"--from={builder.name}\s+/opt/venv\s+/opt/venv$", c) for c in copies), copies
    assert not any("--from=uv" in c for c in copies), "uv stays in the builder"
    assert not any(re.search(r"\b(pip|uv)\b", r.args) for r in runtime.of("RUN")), "nothing installed at runtime"


def test_builder_installs_only_this_service_from_the_frozen_lock(service: Service) -> None:
    stages = parse_dockerfile(service.dockerfile)
    builder = next(s for s in stages if any("uv sync" in r.args for r in s.of("RUN")))
    env = builder.env()
    syncs = [r.args for r in builder.of("RUN") if "uv sync" in r.args]
    assert len(syncs) == 2, "dependencies layer, then the workspace packages"
    for command in syncs:
        args = shlex.split(command)
        assert "--frozen" in args or env.get("UV_FROZEN") == "1", "the committed lock is used as is"
        assert "--locked" not in args or "--frozen" not in args
        assert _option(args, "--package") == service.dist, f"{command!r} must select {service.dist}"
        assert "--no-dev" in args, "no dev dependencies in images"
        forbidden = {"--all-extras", "--extra", "--all-packages", "--all-groups", "--group", "--dev"}
        assert not forbidden & set(args), f"{command!r} would install more than {service.dist} needs"
    assert "--no-install-workspace" in shlex.split(syncs[0])
    assert "--no-editable" in shlex.split(syncs[1]), "workspace packages as wheels, not links to /src"
    assert env.get("UV_PROJECT_ENVIRONMENT") == "/opt/venv"
    assert env.get("UV_PYTHON_DOWNLOADS") == "never", "the image's own Python, never a download"


def _option(args: list[str], name: str) -> str | None:
    for index, arg in enumerate(args):
        if arg == name and index + 1 < len(args):
            return args[index + 1]
        if arg.startswith(name + "="):
            return arg.split("=", 1)[1]
    return None


def test_runtime_runs_as_a_numeric_non_root_user(service: Service) -> None:
    runtime = parse_dockerfile(service.dockerfile)[-1]
    users = runtime.of("USER")
    assert users, "the runtime stage sets USER"
    user = users[-1].args
    assert re.fullmatch(r"\d+(:\d+)?", user), f"USER {user!r} must be numeric so runAsNonRoot can verify it"
    assert int(user.split(":")[0]) != 0
    # USER comes after every RUN, so nothing later runs as root.
    keywords = [i.keyword for i in runtime.instructions]
    assert "RUN" not in keywords[keywords.index("USER") :]


def test_entrypoint_and_cmd_are_exec_form_so_sigterm_reaches_uvicorn(service: Service) -> None:
    runtime = parse_dockerfile(service.dockerfile)[-1]
    entrypoint = runtime.of("ENTRYPOINT")[-1].exec_form()
    cmd = runtime.of("CMD")[-1].exec_form()
    assert entrypoint == ["python", "-m", service.package], "exec form, python is PID 1"
    assert cmd == ["serve"]
    env = runtime.env()
    assert env.get("HOST") == "0.0.0.0", "uvicorn must listen on all interfaces in a container"
    assert env.get(service.port_env) == str(service.port)
    assert env.get("PATH", "").startswith("/opt/venv/bin")
    assert [e.args for e in runtime.of("EXPOSE")] == [str(service.port)]
    stop = runtime.of("STOPSIGNAL")
    assert not stop or stop[-1].args == "SIGTERM"


def test_healthcheck_probes_the_service_port_on_a_health_path(service: Service) -> None:
    runtime = parse_dockerfile(service.dockerfile)[-1]
    checks = runtime.of("HEALTHCHECK")
    if not checks:
        pytest.skip("HEALTHCHECK is optional")
    command = checks[-1].args.split("CMD", 1)[1].strip()
    assert command.startswith("["), "exec form: slim images have no curl, python urllib does it"
    text = command
    assert f"'{service.port_env}', '{service.port}'" in text or f":{service.port}/" in text
    path = re.search(r"(/api/v1/health[a-z/]*)", text)
    assert path and path.group(1) in HEALTH_PATHS


def test_build_context_carries_sources_and_migrations_but_no_secrets() -> None:
    rules = dockerignore_rules()
    never = [
        ".env",
        ".env.local",
        ".venv/bin/python",
        ".git/config",
        ".data/keys/signing.pem",
        ".run/pids",
        "deploy/k8s/secrets/auth.env",
        "deploy/k8s/secrets/jwt-private-key.pem",
        "services/auth/.env",
        "services/circles/tests/test_circles.py",
        "shared/tests/test_tokens.py",
        "services/circles/src/mcm_circles/__pycache__/main.cpython-311.pyc",
        "tests/e2e/conftest.py",
        "bench-results/report.json",
    ]
    for path in never:
        assert is_ignored(path, rules), f"{path} must not be sent to the Docker daemon"
    needed = ["pyproject.toml", "uv.lock"]
    for service in ALL:
        needed.append(f"{service.directory}/pyproject.toml")
        for sub in ("src", "migrations"):
            folder = ROOT / service.directory / sub
            if folder.is_dir():
                needed += [
                    p.relative_to(ROOT).as_posix()
                    for p in folder.rglob("*")
                    if p.is_file() and "__pycache__" not in p.parts
                ]
    needed += [p.relative_to(ROOT).as_posix() for p in (ROOT / "shared" / "src").rglob("*.py")]
    needed.append("shared/pyproject.toml")
    missing = [path for path in needed if is_ignored(path, rules)]
    assert not missing, f".dockerignore drops files the images need: {missing[:10]}"


def test_dockerignore_reader_follows_dockers_last_match_wins_rule(tmp_path) -> None:
    ignore = tmp_path / ".dockerignore"
    ignore.write_text("*\n!keep/\nkeep/*\n!keep/src/\n**/__pycache__\n")
    rules = dockerignore_rules(ignore)
    assert is_ignored("secret.env", rules)
    assert is_ignored("keep/tests/x.py", rules)
    assert not is_ignored("keep/src/a/b.py", rules)
    assert is_ignored("keep/src/a/__pycache__/b.pyc", rules)


def test_dockerfile_copies_only_what_the_context_keeps(service: Service) -> None:
    rules = dockerignore_rules()
    for stage in parse_dockerfile(service.dockerfile):
        for copy in stage.of("COPY"):
            parts = shlex.split(copy.args)
            if any(p.startswith("--from") for p in parts):
                continue
            for source in [p for p in parts if not p.startswith("--")][:-1]:
                source = source.rstrip("/")
                assert (ROOT / source).exists(), f"COPY {source}: not in the repository"
                assert not is_ignored(source, rules), f"COPY {source}: excluded by .dockerignore"


@pytest.mark.parametrize("migrator", [s for s in ALL if s.migrates], ids=lambda s: s.name)
def test_migrating_services_bundle_their_migrations_into_the_wheel(migrator: Service) -> None:
    import tomllib

    service = migrator
    manifest = tomllib.loads((ROOT / service.directory / "pyproject.toml").read_text())
    force_include = manifest["tool"]["hatch"]["build"]["targets"]["wheel"].get("force-include", {})
    assert force_include.get("migrations") == f"{service.package}/_migrations", (
        f"the image's `migrate` needs the Alembic scripts inside the wheel: add "
        f'"migrations" = "{service.package}/_migrations" to [tool.hatch.build.targets.wheel.force-include]'
    )
    assert (ROOT / service.directory / "migrations" / "env.py").is_file()
