"""The images: multi-stage, only the service's runtime dependencies from the lock, a numeric
non-root user, exec-form entrypoint, and a build context that carries no secrets."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
from deploy_support import (
    DOCKERFILE,
    HEALTH_PATHS,
    ROOT,
    SERVICES,
    Service,
    dockerignore_rules,
    entrypoint_argv,
    is_ignored,
    parse_dockerfile,
    settings_class,
)

ALL = list(SERVICES.values())
ids = [service.name for service in ALL]


@pytest.fixture(params=ALL, ids=ids)
def service(request) -> Service:
    return request.param


def test_every_service_and_the_gateway_is_built_from_the_one_shared_dockerfile(service: Service) -> None:
    assert DOCKERFILE.is_file(), f"missing {DOCKERFILE.relative_to(ROOT)}"
    copies = [
        Path(service.directory) / "Dockerfile",
        *[p.relative_to(ROOT) for p in ROOT.glob("services/*/Dockerfile")],
    ]
    left = [str(p) for p in copies if (ROOT / p).exists()]
    assert not left, f"per-service Dockerfiles drift from the shared one: remove {left}"


def test_the_dockerfile_refuses_to_build_without_a_service() -> None:
    """Without --build-arg SERVICE the dependency step stops with a message instead of building
    something unnamed (`mcm-` would fail later and less clearly)."""
    with pytest.raises(ValueError, match="SERVICE is required"):
        parse_dockerfile(DOCKERFILE, {})


def test_build_args_select_only_this_services_sources(service: Service) -> None:
    builder = next(s for s in service.stages() if any("uv sync" in r.args for r in s.of("RUN")))
    sources = [
        p.rstrip("/")
        for c in builder.of("COPY")
        if "--from" not in c.args
        for p in shlex.split(c.args)[:-1]
        if not p.endswith(("pyproject.toml", "uv.lock"))
    ]
    assert sorted(sources) == sorted(["shared", service.directory]), sources


def test_image_is_multi_stage_with_a_runtime_stage_on_the_builder_base(service: Service) -> None:
    stages = service.stages()
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
    stages = service.stages()
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
    runtime = service.stages()[-1]
    users = runtime.of("USER")
    assert users, "the runtime stage sets USER"
    user = users[-1].args
    assert re.fullmatch(r"\d+(:\d+)?", user), f"USER {user!r} must be numeric so runAsNonRoot can verify it"
    assert int(user.split(":")[0]) != 0
    # USER comes after every RUN, so nothing later runs as root.
    keywords = [i.keyword for i in runtime.instructions]
    assert "RUN" not in keywords[keywords.index("USER") :]


def test_entrypoint_and_cmd_are_exec_form_so_sigterm_reaches_uvicorn(service: Service) -> None:
    runtime = service.stages()[-1]
    cmd = runtime.of("CMD")[-1].exec_form()
    assert entrypoint_argv(runtime) == ["python", "-m", service.package], "python is PID 1"
    assert cmd == ["serve"]
    env = runtime.env()
    # The container's own interface: the assertion is the point, not a bind.
    assert env.get("HOST") == "0.0.0.0", "uvicorn must listen on all interfaces in a container"  # noqa: S104
    # The image does not set <SERVICE>_PORT: the service listens on its settings' default, which
    # must be the port the image exposes and probes.
    assert service.port_env not in env
    assert env.get("MCM_SERVICE_PORT") == str(service.port)
    settings = settings_class(service)
    assert settings is not None
    field = next(name for name in settings.model_fields if f"{service.name}_port" == name)
    assert settings.model_fields[field].default == service.port
    assert env.get("PATH", "").startswith("/opt/venv/bin")
    assert [e.args for e in runtime.of("EXPOSE")] == [str(service.port)]
    stop = runtime.of("STOPSIGNAL")
    assert not stop or stop[-1].args == "SIGTERM"


def test_healthcheck_probes_the_service_port_on_a_health_path(service: Service) -> None:
    runtime = service.stages()[-1]
    checks = runtime.of("HEALTHCHECK")
    if not checks:
        pytest.skip("HEALTHCHECK is optional")
    command = checks[-1].args.split("CMD", 1)[1].strip()
    assert command.startswith("["), "exec form: slim images have no curl, python urllib does it"
    text = command
    # The probe reads the port the deployment may set (<SERVICE>_PORT), else the image's own.
    assert "os.environ['MCM_SERVICE'].upper() + '_PORT'" in text and "os.environ['MCM_SERVICE_PORT']" in text
    assert runtime.env()["MCM_SERVICE"].upper() + "_PORT" == service.port_env
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
    for stage in service.stages():
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
