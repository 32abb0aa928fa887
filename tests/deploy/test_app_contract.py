"""What the deployment files ask of the code exists in the code: every probe or healthcheck
path is served by the app on that port, and every command an image, Compose service, Job or
the docs run is a command the service's CLI accepts."""

from __future__ import annotations

import contextlib
import importlib
import io
import json
import re
import runpy
import sys

import httpx
import pytest
from deploy_support import (
    ROOT,
    SERVICES,
    Service,
    compose,
    compose_services_of_image,
    entrypoint_argv,
    objects,
)

APPS = list(SERVICES.values())


def _import_create_app(service: Service):
    try:
        module = importlib.import_module(f"{service.package}.main")
    except ModuleNotFoundError as exc:
        if exc.name in (service.package, f"{service.package}.main"):
            pytest.fail(f"{service.package}.main is missing: every service must ship it")
        raise
    return module.create_app


def _probe_paths(service: Service) -> set[str]:
    """Every HTTP path the deployment files probe on this service."""
    paths: set[str] = set()
    deployment = objects("Deployment").get(service.name)
    if deployment:
        container = deployment["spec"]["template"]["spec"]["containers"][0]
        for kind in ("startupProbe", "readinessProbe", "livenessProbe"):
            if kind in container:
                paths.add(container[kind]["httpGet"]["path"])
        annotations = deployment["spec"]["template"]["metadata"].get("annotations", {})
        # Scraped on the service port: the app serves it (the gateway's own metrics port is
        # checked by test_gateway_serves_metrics_on_the_scraped_port).
        if annotations.get("prometheus.io/scrape") == "true" and int(annotations["prometheus.io/port"]) == service.port:
            paths.add(annotations["prometheus.io/path"])
    healthcheck = compose()["services"][service.name].get("healthcheck", {}).get("test", [])
    paths |= set(re.findall(r"http://127\.0\.0\.1:\d+(/[\w/]+)", " ".join(healthcheck)))
    for check in service.stages()[-1].of("HEALTHCHECK"):
        paths |= set(re.findall(r"(/api/v1/[\w/]+)", check.args))
    return paths


@pytest.mark.parametrize("service", APPS, ids=lambda s: s.name)
async def test_probed_paths_are_served_by_the_app(service: Service) -> None:
    create_app = _import_create_app(service)
    app = create_app()
    paths = _probe_paths(service)
    assert {"/api/v1/health/live", "/api/v1/health/ready"} <= paths
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://probe") as client:
        for path in sorted(paths):
            response = await client.get(path)
            assert response.status_code not in (404, 405), f"{service.name} does not serve GET {path}"
        live = await client.get("/api/v1/health/live")
        assert live.status_code == 200, "liveness answers without any dependency"
        metrics = await client.get("/metrics")
        if service.name == "gateway":
            assert metrics.status_code == 404, "the public door does not serve its metrics"
        else:
            assert metrics.status_code == 200 and "text/plain" in metrics.headers["content-type"]


async def test_gateway_serves_metrics_on_the_scraped_port() -> None:
    from mcm_devstack.engines import free_port
    from mcm_gateway.config import Settings
    from mcm_gateway.main import create_app

    annotations = objects("Deployment")["gateway"]["spec"]["template"]["metadata"]["annotations"]
    configured = int(objects("ConfigMap")["gateway-config"]["data"]["METRICS_PORT"])
    assert int(annotations["prometheus.io/port"]) == configured == Settings.model_fields["metrics_port"].default
    assert int(compose()["services"]["gateway"]["environment"]["METRICS_PORT"]) == configured
    port = free_port()  # the same code path as METRICS_PORT, on a port free on this machine
    app = create_app(Settings(environment="test", metrics_port=port, redis_url=None))
    async with app.fastapi.router.lifespan_context(app.fastapi), httpx.AsyncClient(trust_env=False) as client:
        scraped = await client.get(f"http://127.0.0.1:{port}{annotations['prometheus.io/path']}")
    assert scraped.status_code == 200 and "text/plain" in scraped.headers["content-type"]
    assert "http_requests_total" in scraped.text or "gateway_proxied" in scraped.text


@pytest.mark.parametrize("service", APPS, ids=lambda s: s.name)
def test_probe_port_is_the_port_the_process_listens_on(service: Service) -> None:
    """`serve` reads <NAME>_PORT; the Settings class must agree with the manifests' port."""
    config = importlib.import_module(f"{service.package}.config") if _has(service, "config") else None
    if config is None:
        pytest.fail(f"{service.package}.config is missing: every service must ship it")
    field = service.port_env.lower()
    assert config.Settings.model_fields[field].default == service.port
    main_source = (ROOT / service.directory / "src" / service.package / "__main__.py").read_text()
    assert service.port_env in main_source or "settings." + field in main_source


def _has(service: Service, module: str) -> bool:
    return (ROOT / service.directory / "src" / service.package / f"{module}.py").is_file()


def cli_commands(service: Service) -> frozenset[str]:
    """The commands `python -m mcm_<name>` accepts, read from its own --help (run in-process,
    as `python -m` would, with stdout and stderr captured)."""
    if not _has(service, "__main__"):
        pytest.fail(f"{service.package} is missing: every service must ship it")
    out, err = io.StringIO(), io.StringIO()
    argv = sys.argv
    sys.argv = [f"python -m {service.package}", "--help"]
    try:
        # argparse exits after printing the usage
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err), contextlib.suppress(SystemExit):
            runpy.run_module(service.package, run_name="__main__", alter_sys=False)
    finally:
        sys.argv = argv
    output = out.getvalue() + err.getvalue()
    choices = re.search(r"\{([\w,-]+)\}", output)
    if choices:
        return frozenset(choices.group(1).split(","))
    usage = re.search(rf"usage: (?:python -m )?{service.package} ([\w-]+(?:\|[\w-]+)*)", output)
    assert usage, f"cannot read the commands of {service.package} from:\n{output}"
    return frozenset(usage.group(1).split("|"))


def _referenced_commands(service: Service) -> dict[str, str]:
    """command -> where it is referenced."""
    found: dict[str, str] = {}
    runtime = service.stages()[-1]
    assert entrypoint_argv(runtime) == ["python", "-m", service.package]
    for cmd in runtime.of("CMD"):
        found[cmd.exec_form()[0]] = "Dockerfile CMD"
    for name in compose_services_of_image(service):
        command = compose()["services"][name].get("command")
        if command:
            found[command[0] if isinstance(command, list) else command.split()[0]] = f"compose {name}"
    for kind in ("Deployment", "Job"):
        for name, workload in objects(kind).items():
            container = workload["spec"]["template"]["spec"]["containers"][0]
            if container["image"] == service.image and container.get("args"):
                found[container["args"][0]] = f"{kind} {name}"
    for doc in ("docs/deploy.md", ".env.example", "docker-compose.yml"):
        path = ROOT / doc
        if path.exists():
            for match in re.finditer(rf"python -m {service.package} ([a-z][\w-]*)", path.read_text()):
                found[match.group(1)] = doc
    return found


@pytest.mark.parametrize("service", APPS, ids=lambda s: s.name)
def test_every_command_the_deployment_runs_exists(service: Service) -> None:
    available = cli_commands(service)
    referenced = _referenced_commands(service)
    assert "serve" in referenced
    if service.migrates:
        assert "migrate" in referenced, "a migration Job / compose service runs `migrate`"
    unknown = {cmd: where for cmd, where in referenced.items() if cmd not in available}
    assert not unknown, f"{service.package} accepts {sorted(available)}, but these are used: {unknown}"


def test_compose_healthchecks_are_valid_python() -> None:
    for name, spec in compose()["services"].items():
        test = spec.get("healthcheck", {}).get("test", [])
        if test[:3] == ["CMD", "python", "-c"]:
            compile(test[3], f"{name} healthcheck", "exec")
    for service in APPS:
        for check in service.stages()[-1].of("HEALTHCHECK"):
            command = json.loads(check.args.split("CMD", 1)[1])
            assert command[:2] == ["python", "-c"]
            compile(command[2], f"{service.name} Dockerfile healthcheck", "exec")
