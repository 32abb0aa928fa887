"""docker-compose.yml and .env.example: the wiring, the start order, the isolation, and that
every setting each service reads is handed to it."""

from __future__ import annotations

import re

import pytest
from deploy_support import (
    ENV_EXAMPLE,
    HEALTH_PATHS,
    SERVICES,
    MissingVariable,
    Service,
    all_env_names,
    compose,
    compose_services_of_image,
    container_environment,
    env_example,
    interpolated_names,
    operator_value,
    required_env_names,
    required_interpolations,
    settings_class,
)

APPS = list(SERVICES.values())
MIGRATORS = [s for s in APPS if s.migrates]


def _settings(service: Service) -> type:
    cls = settings_class(service)
    if cls is None:
        pytest.fail(f"{service.package}.config is missing: every service must ship it")
    return cls


def _filled_env() -> dict[str, str]:
    """`.env` as an operator would write it: the example, every empty value filled in."""
    env = {}
    for entry in env_example().values():
        if entry.commented:
            continue
        env[entry.name] = entry.value or operator_value(entry.name, "")
    return env


def test_compose_file_defines_the_whole_platform() -> None:
    services = set(compose()["services"])
    expected = {
        "postgres-main",
        "postgres-creds",
        "redis",
        "auth-migrate",
        "circles-migrate",
        "payments-migrate",
        "messaging-migrate",
        "auth",
        "circles",
        "payments",
        "messaging",
        "gateway",
    }
    assert expected <= services, f"missing: {expected - services}"


def test_only_the_gateway_publishes_a_port() -> None:
    publishing = {name for name, spec in compose()["services"].items() if spec.get("ports")}
    assert publishing == {"gateway"}
    (mapping,) = compose()["services"]["gateway"]["ports"]
    assert str(mapping).endswith(":8000"), "host port -> the gateway's 8000"


def test_main_and_credentials_databases_are_separate_servers_with_volumes() -> None:
    services = compose()["services"]
    main, creds = services["postgres-main"], services["postgres-creds"]
    assert main["volumes"] != creds["volumes"]
    assert main["environment"]["POSTGRES_DB"] != creds["environment"]["POSTGRES_DB"]
    for spec in (main, creds):
        assert spec["image"].startswith("postgres:")
        assert any(v.endswith(":/var/lib/postgresql") for v in spec["volumes"]), "PostgreSQL 18 data mount"
        assert "pg_isready" in spec["healthcheck"]["test"]


def test_redis_persists_with_aof_and_never_evicts_streams() -> None:
    redis = compose()["services"]["redis"]
    command = " ".join(redis["command"])
    assert "--appendonly yes" in command
    assert "--maxmemory-policy noeviction" in command
    assert "--requirepass" in command
    assert any(v.endswith(":/data") for v in redis["volumes"])
    assert "healthcheck" in redis
    assert set(compose()["volumes"]) >= {v.split(":")[0] for v in redis["volumes"]}


@pytest.mark.parametrize("service", MIGRATORS, ids=lambda s: s.name)
def test_migration_service_runs_once_after_its_database_is_healthy(service: Service) -> None:
    spec = compose()["services"][f"{service.name}-migrate"]
    assert spec["command"] == ["migrate"]
    assert spec.get("restart") in ("no", None)
    assert f"{service.name}-migrate" in compose_services_of_image(service)
    database = "postgres-creds" if service.name == "auth" else "postgres-main"
    assert spec["depends_on"][database]["condition"] == "service_healthy"
    env = container_environment(f"{service.name}-migrate", _filled_env())
    assert service.db_env in env and env[service.db_env].startswith("postgresql://")
    assert f"@{database}:5432/" in env[service.db_env]


@pytest.mark.parametrize("service", APPS, ids=lambda s: s.name)
def test_service_waits_for_its_dependencies_and_migration(service: Service) -> None:
    depends = compose()["services"][service.name]["depends_on"]
    assert depends["redis"]["condition"] == "service_healthy"
    if service.migrates:
        assert depends[f"{service.name}-migrate"]["condition"] == "service_completed_successfully"
        database = "postgres-creds" if service.name == "auth" else "postgres-main"
        assert depends[database]["condition"] == "service_healthy"
    if service.name == "gateway":
        for upstream in ("auth", "circles", "payments"):
            assert depends[upstream]["condition"] == "service_healthy"


@pytest.mark.parametrize("service", APPS, ids=lambda s: s.name)
def test_service_healthcheck_asks_readiness_on_its_own_port(service: Service) -> None:
    spec = compose()["services"][service.name]
    test = spec["healthcheck"]["test"]
    assert test[0] == "CMD" and test[1:3] == ["python", "-c"], "slim images have no curl: python urllib"
    match = re.search(r"http://127\.0\.0\.1:(\d+)(/[\w/]+)", test[3])
    assert match, test
    assert int(match.group(1)) == service.port
    assert match.group(2) == "/api/v1/health/ready"
    assert match.group(2) in HEALTH_PATHS


@pytest.mark.parametrize("service", APPS, ids=lambda s: s.name)
def test_service_container_is_locked_down(service: Service) -> None:
    spec = compose()["services"][service.name]
    assert spec["read_only"] is True and "/tmp" in spec["tmpfs"]
    assert spec["cap_drop"] == ["ALL"]
    assert "no-new-privileges:true" in spec["security_opt"]
    grace = int(str(spec["stop_grace_period"]).rstrip("s"))
    assert grace > 20, "longer than the app's 20 s drain"
    assert spec["build"]["context"] == "."
    assert spec["build"]["dockerfile"] == "deploy/Dockerfile"
    assert {k: str(v) for k, v in spec["build"]["args"].items()} == service.build_args
    assert "command" not in spec or spec["command"] == ["serve"]


def test_networks_keep_each_database_to_its_owner() -> None:
    services = compose()["services"]
    networks = {name: set(spec.get("networks", [])) for name, spec in services.items()}
    who = lambda net: {name for name, nets in networks.items() if net in nets}  # noqa: E731
    assert who("creds-db") == {"postgres-creds", "auth", "auth-migrate"}
    assert who("main-db") == {
        "postgres-main",
        "circles",
        "payments",
        "messaging",
        "circles-migrate",
        "payments-migrate",
        "messaging-migrate",
    }
    assert who("cache") == {"redis", "auth", "circles", "payments", "messaging", "gateway"}
    declared = compose()["networks"]
    for internal in ("creds-db", "main-db", "cache", "services"):
        assert declared[internal].get("internal") is True, f"{internal} must not route out of the host"


# --- configuration --------------------------------------------------------------------------------


def test_env_example_and_compose_use_the_same_variable_names() -> None:
    spec = compose()
    used = interpolated_names(spec)
    passed_through = {
        key
        for service in spec["services"].values()
        for key, value in (service.get("environment") or {}).items()
        if value is None
    }
    listed = set(env_example())
    assert used | passed_through == listed, (
        f"in compose but not in .env.example: {sorted((used | passed_through) - listed)}; "
        f"in .env.example but unused by compose: {sorted(listed - used - passed_through)}"
    )


def test_every_value_left_empty_in_env_example_is_required_by_compose() -> None:
    empty = {e.name for e in env_example().values() if not e.commented and not e.value}
    required = required_interpolations(compose())
    assert empty <= required, f"Compose would start with these empty: {sorted(empty - required)}"


def test_env_example_holds_no_real_secret() -> None:
    text = ENV_EXAMPLE.read_text()
    assert "-----BEGIN" not in text
    assert not re.search(r"sk_(live|test)_[A-Za-z0-9]{8,}", text)
    assert not re.search(r"whsec_[A-Za-z0-9]{8,}", text)
    secretish = re.compile(r"(SECRET|PASSWORD|PEPPER|_TOKEN|PRIVATE_KEY)$")
    for entry in env_example().values():
        if secretish.search(entry.name):
            assert entry.value == "", f"{entry.name} must be left empty in .env.example"


def test_compose_refuses_to_start_without_the_secrets() -> None:
    with pytest.raises(MissingVariable):
        container_environment("payments", {})


@pytest.mark.parametrize("service", APPS, ids=lambda s: s.name)
def test_compose_hands_each_service_every_setting_it_reads(service: Service) -> None:
    cls = _settings(service)
    keys = set(compose()["services"][service.name]["environment"])
    missing = all_env_names(cls) - keys
    assert not missing, (
        f"{service.name} reads {sorted(missing)} but docker-compose.yml does not pass them: add "
        f"`NAME:` (pass-through) to its environment and `# NAME=default` to .env.example"
    )


@pytest.mark.parametrize("service", APPS, ids=lambda s: s.name)
def test_compose_provides_every_required_setting_with_a_value(service: Service) -> None:
    cls = _settings(service)
    env = container_environment(service.name, _filled_env())
    missing = sorted(name for name in required_env_names(cls, service) if not env.get(name))
    assert not missing, f"{service.name} needs {missing} in production"


@pytest.mark.parametrize("service", APPS, ids=lambda s: s.name)
def test_service_accepts_its_compose_environment_in_production(service: Service, monkeypatch) -> None:
    cls = _settings(service)
    env = container_environment(service.name, _filled_env())
    for name in all_env_names(cls) | set(env):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    settings = cls()
    assert settings.is_production
    settings.check_production_ready()  # raises ConfigurationError on a missing URL or default secret
    assert getattr(settings, service.port_env.lower()) == service.port


def test_commented_defaults_in_env_example_match_the_code() -> None:
    defaults: dict[str, set[str]] = {}
    for service in APPS:
        cls = settings_class(service)
        if cls is None:
            continue
        for field_name, info in cls.model_fields.items():
            default = info.get_default(call_default_factory=True)
            if default is None or type(default).__name__ == "SecretStr":
                continue
            if isinstance(default, bool):
                default = str(default).lower()
            elif isinstance(default, list):
                default = ",".join(str(item) for item in default)
            defaults.setdefault(field_name.upper(), set()).add(str(getattr(default, "value", default)))
    wrong = {
        entry.name: (entry.value, sorted(defaults[entry.name]))
        for entry in env_example().values()
        if entry.commented
        and entry.name in defaults
        and entry.value.lower() not in {d.lower() for d in defaults[entry.name]}
    }
    assert not wrong, f".env.example shows defaults the code does not have (shown, actual): {wrong}"


def test_services_share_one_value_for_the_token_settings() -> None:
    env = _filled_env()
    views = {name: container_environment(name, env) for name in SERVICES}
    for key in ("JWT_ISSUER", "JWT_AUDIENCE", "AUTH_URL", "REDIS_URL", "ENVIRONMENT"):
        values = {view.get(key) for view in views.values()}
        assert len(values) == 1, f"{key} differs between services: {values}"


def test_service_client_secrets_match_what_auth_accepts() -> None:
    env = _filled_env()
    auth = container_environment("auth", env)
    clients = dict(pair.split(":", 1) for pair in auth["SERVICE_CLIENTS"].split(","))
    for caller in ("circles", "payments", "gateway"):
        assert clients[caller] == container_environment(caller, env)["SERVICE_CLIENT_SECRET"]
    secrets = [container_environment(name, env)["SERVICE_CLIENT_SECRET"] for name in SERVICES]
    assert len(set(secrets)) == len(secrets), "each service has its own client secret"


def test_secrets_reach_only_the_service_that_uses_them() -> None:
    env = _filled_env()
    only = {
        "JWT_PRIVATE_KEY": "auth",
        "PASSWORD_PEPPER": "auth",
        "SERVICE_CLIENTS": "auth",
        "CREDS_DATABASE_URL": "auth",
        "STRIPE_SECRET_KEY": "payments",
        "STRIPE_WEBHOOK_SECRET": "payments",
    }
    for name in SERVICES:
        view = container_environment(name, env)
        for key, owner in only.items():
            assert (key in view) == (name == owner), f"{key} given to {name}"
    assert "DATABASE_URL" not in container_environment("gateway", env)


def test_variables_read_outside_settings_are_documented_too() -> None:
    """Some variables are read with os.environ directly (the CLI's HOST, KEEP_ALIVE_SECONDS...)."""
    from deploy_support import ROOT

    pattern = re.compile(
        r"""os\.(?:environ\.get|getenv)\(\s*["']([A-Z][A-Z0-9_]*)["']|os\.environ\[\s*["']([A-Z][A-Z0-9_]*)["']"""
    )
    sources = [*(ROOT / "shared" / "src").rglob("*.py"), *(ROOT / "gateway" / "src").rglob("*.py")]
    sources += [
        p for service in ("auth", "circles", "payments") for p in (ROOT / "services" / service / "src").rglob("*.py")
    ]
    read: dict[str, str] = {}
    for path in sources:
        if {"devstack", "testing"} & set(path.parts):
            continue  # `make run` and test helpers, never in a container
        for match in pattern.finditer(path.read_text()):
            read[match.group(1) or match.group(2)] = path.relative_to(ROOT).as_posix()
    set_by_image = {"HOST"} | {s.port_env for s in APPS}
    documented = set(env_example())
    undocumented = {name: where for name, where in read.items() if name not in documented | set_by_image}
    assert not undocumented, f"read by the code but missing from .env.example/docker-compose.yml: {undocumented}"
