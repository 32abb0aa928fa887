"""deploy/k8s: valid against the Kubernetes schemas (offline), complete in the kustomization,
locked down, probed and drained the way the apps behave, wired with every setting production
needs, and fenced by NetworkPolicies that allow exactly the traffic the design needs."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import kubernetes_validate
import pytest
from deploy_support import (
    HEALTH_PATHS,
    K8S,
    K8S_VERSIONS,
    ROOT,
    SERVICES,
    Service,
    address,
    connection_allowed,
    container_env_sources,
    container_env_values,
    env_file_values,
    fields_without_default,
    generated_secrets,
    kustomization,
    load_docs,
    manifest_files,
    manifests,
    objects,
    pod,
    required_env_names,
    secret_env_names,
    settings_class,
    workload_pods,
)
from kubernetes_validate.utils import latest_version

APPS = list(SERVICES.values())
MIGRATORS = [s for s in APPS if s.migrates]
APP_DRAIN_SECONDS = 20  # uvicorn's graceful shutdown (mcm_shared.cli.serve, gateway __main__)
SHUTDOWN_SECONDS = 10  # lifespan shutdown after the drain: consumers and pools close


def _version(name: str) -> str:
    return latest_version() if name == "latest" else name


def _deployment(service: Service) -> dict:
    return objects("Deployment")[service.name]


def _container(workload: dict) -> dict:
    (container,) = workload["spec"]["template"]["spec"]["containers"]
    return container


def _port_number(container: dict, port: int | str) -> int:
    if isinstance(port, int):
        return port
    return next(p["containerPort"] for p in container["ports"] if p.get("name") == port)


# --- schema and kustomize ----------------------------------------------------------------------------


@pytest.mark.parametrize("version", K8S_VERSIONS)
@pytest.mark.parametrize("path", manifest_files(), ids=lambda p: p.relative_to(K8S).as_posix())
def test_manifest_is_valid_for_kubernetes(path: Path, version: str) -> None:
    docs = load_docs(path)
    assert docs, f"{path} is empty"
    for doc in docs:
        kubernetes_validate.validate(doc, _version(version), strict=True)


def test_kustomization_lists_every_manifest_and_nothing_else() -> None:
    listed = {(K8S / entry).resolve() for entry in kustomization()["resources"]}
    present = {path.resolve() for path in manifest_files()}
    assert listed == present, (
        f"not in kustomization.yaml: {sorted(str(p.relative_to(K8S)) for p in present - listed)}; "
        f"listed but missing: {sorted(str(p) for p in listed - present)}"
    )
    assert kustomization()["namespace"] == "mcm"


def test_every_generated_secret_has_a_committed_template_and_no_real_file() -> None:
    for generator in kustomization()["secretGenerator"]:
        sources = list(generator.get("envs", [])) + [f.split("=", 1)[-1] for f in generator.get("files", [])]
        for source in sources:
            assert (K8S / f"{source}.example").is_file(), f"{source}.example is missing"
            relative = (K8S / source).relative_to(ROOT).as_posix()
            if shutil.which("git") and (ROOT / ".git").exists():
                ignored = subprocess.run(["git", "check-ignore", "-q", relative], cwd=ROOT).returncode == 0
                assert ignored, f"{relative} must be git-ignored"
                tracked = (
                    subprocess.run(
                        ["git", "ls-files", "--error-unmatch", relative], cwd=ROOT, capture_output=True
                    ).returncode
                    == 0
                )
                assert not tracked, f"{relative} holds real secrets and must not be committed"


def test_secret_templates_hold_placeholders_only() -> None:
    for example in (K8S / "secrets").glob("*.example"):
        if example.name.endswith(".env.example"):
            for key, value in env_file_values(example).items():
                assert "REPLACE_ME" in value, f"{example.name}: {key} must be a placeholder"
        else:
            text = example.read_text()
            assert "REPLACE_ME" in text and "-----BEGIN" not in text, f"{example.name} must not hold a key"


def test_configmaps_hold_no_secrets() -> None:
    secretish = re.compile(r"(SECRET|PASSWORD|PEPPER|_TOKEN|PRIVATE_KEY|DATABASE_URL|REDIS_URL|SERVICE_CLIENTS)$")
    for name, configmap in objects("ConfigMap").items():
        leaked = [key for key in configmap.get("data", {}) if secretish.search(key)]
        assert not leaked, f"ConfigMap {name} holds {leaked}: they belong in a Secret"


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl (with built-in kustomize) is not installed")
def test_kustomize_build_renders_valid_objects_in_the_namespace(tmp_path: Path) -> None:
    copy = tmp_path / "k8s"
    shutil.copytree(K8S, copy)
    for example in (copy / "secrets").glob("*.example"):
        shutil.copy(example, example.with_suffix(""))
    done = subprocess.run(["kubectl", "kustomize", str(copy)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    import yaml

    rendered = [doc for doc in yaml.safe_load_all(done.stdout) if doc]
    assert len(rendered) == len(manifests()) + len(kustomization()["secretGenerator"])
    for doc in rendered:
        kubernetes_validate.validate(doc, latest_version(), strict=True)
        if doc["kind"] != "Namespace":
            assert doc["metadata"]["namespace"] == "mcm", doc["metadata"]["name"]
        assert doc["metadata"]["labels"]["app.kubernetes.io/part-of"] == "mcm"
    secrets = {d["metadata"]["name"] for d in rendered if d["kind"] == "Secret"}
    for workload in (d for d in rendered if d["kind"] in ("Deployment", "Job")):
        container = workload["spec"]["template"]["spec"]["containers"][0]
        assert re.fullmatch(r"mcm/\w+:[\w.-]+", container["image"]), "image tag set by kustomize"
        refs = [s["secretRef"]["name"] for s in container.get("envFrom", []) if "secretRef" in s]
        refs += [
            e["valueFrom"]["secretKeyRef"]["name"]
            for e in container.get("env", [])
            if "secretKeyRef" in e.get("valueFrom", {})
        ]
        assert refs and set(refs) <= secrets, f"{workload['metadata']['name']} refers to {refs}"


# --- workloads ------------------------------------------------------------------------------------


def test_one_deployment_service_pdb_per_process_and_a_job_per_migrating_service() -> None:
    names = {s.name for s in APPS}
    assert set(objects("Deployment")) == names
    assert set(objects("Service")) == names
    pdb_targets = {tuple(p["spec"]["selector"]["matchLabels"].items()) for p in objects("PodDisruptionBudget").values()}
    assert pdb_targets == {(("app.kubernetes.io/name", n),) for n in names}
    assert set(objects("Job")) == {f"{s.name}-migrate" for s in MIGRATORS}


def _check_locked_down(spec: dict, container: dict) -> None:
    pod_security = spec["securityContext"]
    assert pod_security["runAsNonRoot"] is True
    assert pod_security["runAsUser"] != 0
    assert pod_security["seccompProfile"]["type"] == "RuntimeDefault"
    security = container["securityContext"]
    assert security["allowPrivilegeEscalation"] is False
    assert security["readOnlyRootFilesystem"] is True
    assert security["capabilities"]["drop"] == ["ALL"]
    assert not security["capabilities"].get("add")
    assert spec["automountServiceAccountToken"] is False
    tmp = next(m for m in container["volumeMounts"] if m["mountPath"] == "/tmp")
    volume = next(v for v in spec["volumes"] if v["name"] == tmp["name"])
    assert "emptyDir" in volume, "a writable /tmp on a read-only root filesystem"
    for kind in ("requests", "limits"):
        assert {"cpu", "memory"} <= set(container["resources"][kind]), f"resources.{kind}"


@pytest.mark.parametrize("service", APPS, ids=lambda s: s.name)
def test_deployment_runs_locked_down(service: Service) -> None:
    deployment = _deployment(service)
    spec = deployment["spec"]["template"]["spec"]
    container = _container(deployment)
    _check_locked_down(spec, container)
    assert container["image"] == service.image
    assert container["args"] == ["serve"]
    assert _port_number(container, "http") == service.port


@pytest.mark.parametrize("service", APPS, ids=lambda s: s.name)
def test_probes_use_the_health_endpoints_on_the_service_port(service: Service) -> None:
    container = _container(_deployment(service))
    probes = {kind: container[kind]["httpGet"] for kind in ("startupProbe", "readinessProbe", "livenessProbe")}
    for probe in probes.values():
        assert probe["path"] in HEALTH_PATHS
        assert _port_number(container, probe["port"]) == service.port
    assert probes["readinessProbe"]["path"] == "/api/v1/health/ready"
    # Liveness never depends on the database: a database outage must not restart every pod.
    assert probes["livenessProbe"]["path"] == "/api/v1/health/live"
    assert probes["startupProbe"]["path"] == "/api/v1/health/live"
    readiness = container["readinessProbe"]
    # The app's dependency checks time out after 2 s; the probe waits longer than that.
    assert readiness["timeoutSeconds"] > 2


@pytest.mark.parametrize("service", APPS, ids=lambda s: s.name)
def test_termination_leaves_time_for_pre_stop_drain_and_shutdown(service: Service) -> None:
    deployment = _deployment(service)
    spec = deployment["spec"]["template"]["spec"]
    pre_stop = _container(deployment)["lifecycle"]["preStop"]
    if "sleep" in pre_stop:
        pause = int(pre_stop["sleep"]["seconds"])
    else:
        command = pre_stop["exec"]["command"]
        assert command[0] == "sleep", "preStop waits while endpoints and the ingress drop the pod"
        pause = int(command[1])
    assert pause >= 3
    assert spec["terminationGracePeriodSeconds"] >= pause + APP_DRAIN_SECONDS + SHUTDOWN_SECONDS
    strategy = deployment["spec"]["strategy"]["rollingUpdate"]
    assert strategy["maxUnavailable"] == 0, "a rollout never drops below the current capacity"


@pytest.mark.parametrize("service", APPS, ids=lambda s: s.name)
def test_service_selects_the_pods_and_targets_the_http_port(service: Service) -> None:
    svc = objects("Service")[service.name]
    labels = _deployment(service)["spec"]["template"]["metadata"]["labels"]
    assert all(labels.get(k) == v for k, v in svc["spec"]["selector"].items())
    (port,) = svc["spec"]["ports"]
    assert port["port"] == service.port
    assert _port_number(_container(_deployment(service)), port["targetPort"]) == service.port
    assert svc["spec"].get("type", "ClusterIP") == "ClusterIP", "only the Ingress is exposed"


@pytest.mark.parametrize("service", MIGRATORS, ids=lambda s: s.name)
def test_migration_job_runs_the_service_image_once(service: Service) -> None:
    job = objects("Job")[f"{service.name}-migrate"]
    spec = job["spec"]["template"]["spec"]
    container = _container(job)
    _check_locked_down(spec, container)
    assert container["image"] == _container(_deployment(service))["image"]
    assert container["args"] == ["migrate"]
    assert spec["restartPolicy"] in ("Never", "OnFailure")
    assert job["spec"]["backoffLimit"] >= 1
    assert job["spec"]["activeDeadlineSeconds"] > 0
    job_labels = spec and job["spec"]["template"]["metadata"]["labels"]
    selector = _deployment(service)["spec"]["selector"]["matchLabels"]
    assert not all(job_labels.get(k) == v for k, v in selector.items()), "job pods must not join the Service"


def test_hpas_scale_the_gateway_and_circles() -> None:
    hpas = objects("HorizontalPodAutoscaler")
    assert set(hpas) >= {"gateway", "circles"}
    for name, hpa in hpas.items():
        target = hpa["spec"]["scaleTargetRef"]
        assert target["kind"] == "Deployment" and target["name"] in objects("Deployment")
        assert hpa["spec"]["minReplicas"] >= 2
        assert hpa["spec"]["maxReplicas"] > hpa["spec"]["minReplicas"]
        deployment = objects("Deployment")[target["name"]]
        assert "replicas" not in deployment["spec"], f"{name}: the HPA owns the replica count"
        assert "cpu" in _container(deployment)["resources"]["requests"], "utilisation needs a CPU request"


def test_every_deployment_keeps_a_pod_through_voluntary_disruptions() -> None:
    hpas = {h["spec"]["scaleTargetRef"]["name"]: h for h in objects("HorizontalPodAutoscaler").values()}
    for pdb in objects("PodDisruptionBudget").values():
        name = pdb["spec"]["selector"]["matchLabels"]["app.kubernetes.io/name"]
        deployment = objects("Deployment")[name]
        replicas = hpas[name]["spec"]["minReplicas"] if name in hpas else deployment["spec"].get("replicas", 1)
        assert replicas >= 2, f"{name}: one replica cannot survive a drain"
        if "maxUnavailable" in pdb["spec"]:
            assert replicas - int(pdb["spec"]["maxUnavailable"]) >= 1
        else:
            assert 1 <= int(pdb["spec"]["minAvailable"]) < replicas


@pytest.mark.parametrize("service", APPS, ids=lambda s: s.name)
def test_prometheus_scrapes_the_port_that_serves_metrics(service: Service) -> None:
    """Services serve /metrics on their HTTP port; the gateway on METRICS_PORT, a named port
    of its own that is not part of its Service (so never reachable through the ingress)."""
    deployment = _deployment(service)
    container = _container(deployment)
    annotations = deployment["spec"]["template"]["metadata"]["annotations"]
    assert annotations["prometheus.io/scrape"] == "true"
    assert annotations["prometheus.io/path"] == "/metrics"
    scraped = int(annotations["prometheus.io/port"])
    if service.name != "gateway":
        assert scraped == service.port
        return
    assert scraped == _port_number(container, "metrics") != service.port
    config = objects("ConfigMap")["gateway-config"]["data"]
    assert int(config["METRICS_PORT"]) == scraped
    assert all(
        port["port"] != scraped and port["targetPort"] != "metrics"
        for port in objects("Service")["gateway"]["spec"]["ports"]
    )


def test_ingress_reaches_only_the_gateway_and_not_its_metrics() -> None:
    ingresses = objects("Ingress")
    assert list(ingresses) == ["gateway"]
    (ingress,) = ingresses.values()
    assert ingress["spec"]["tls"], "TLS at the edge"
    paths = [p for rule in ingress["spec"]["rules"] for p in rule["http"]["paths"]]
    for path in paths:
        backend = path["backend"]["service"]
        assert backend["name"] == "gateway"
        port = backend["port"].get("number") or next(
            p["port"] for p in objects("Service")["gateway"]["spec"]["ports"] if p["name"] == backend["port"]["name"]
        )
        assert port == SERVICES["gateway"].port

    def routed(url: str) -> bool:
        for path in paths:
            prefix = path["path"].rstrip("/")
            if path["pathType"] == "Exact" and url == path["path"]:
                return True
            if path["pathType"] == "Prefix" and (url == prefix or url.startswith(prefix + "/") or prefix == ""):
                return True
        return False

    for public in ("/api/v1/auth/login", "/api/v1/payments/webhooks/stripe", "/.well-known/jwks.json"):
        assert routed(public), public
    for private in ("/metrics", "/docs"):
        assert not routed(private), f"{private} must stay inside the cluster"


# --- configuration --------------------------------------------------------------------------------


def _settings(service: Service) -> type:
    cls = settings_class(service)
    if cls is None:
        pytest.fail(f"{service.package}.config is missing: every service must ship it")
    return cls


@pytest.mark.parametrize("service", APPS, ids=lambda s: s.name)
def test_deployment_receives_every_required_setting_secrets_from_a_secret(service: Service) -> None:
    cls = _settings(service)
    deployment = _deployment(service)
    sources = container_env_sources(deployment["spec"]["template"]["spec"], _container(deployment))
    missing = sorted(required_env_names(cls, service) - set(sources))
    assert not missing, f"{service.name} Deployment lacks {missing} (ConfigMap or Secret)"
    for name in secret_env_names(cls, service):
        assert sources[name].startswith("secret:"), f"{name} must come from a Secret, not {sources[name]}"
    host = container_env_values(_container(deployment))["HOST"]
    assert sources.get("HOST") and host == "0.0.0.0"  # noqa: S104 (a check of the Pod's bind address, not a bind)


@pytest.mark.parametrize("service", APPS, ids=lambda s: s.name)
def test_service_accepts_its_kubernetes_environment_in_production(service: Service, monkeypatch) -> None:
    from deploy_support import all_env_names

    cls = _settings(service)
    env = container_env_values(_container(_deployment(service)))
    for name in all_env_names(cls) | set(env):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    settings = cls()
    assert settings.is_production
    settings.check_production_ready()
    assert getattr(settings, service.port_env.lower()) == service.port


@pytest.mark.parametrize("service", MIGRATORS, ids=lambda s: s.name)
def test_migration_job_gets_its_database_url_from_the_service_secret(service: Service) -> None:
    cls = _settings(service)
    job = objects("Job")[f"{service.name}-migrate"]
    sources = container_env_sources(job["spec"]["template"]["spec"], _container(job))
    assert sources.get(service.db_env) == f"secret:{service.name}-secrets"
    missing = fields_without_default(cls) - set(sources)
    assert not missing, f"`migrate` builds Settings(), which needs {sorted(missing)}"
    deployment_sources = container_env_sources({}, _container(_deployment(service)))
    assert deployment_sources[service.db_env] == sources[service.db_env], "same database as the service"


def test_callers_client_secrets_are_known_to_auth() -> None:
    auth_secret = generated_secrets()["auth-secrets"]
    assert "SERVICE_CLIENTS" in auth_secret
    clients = dict(
        pair.split(":", 1) for pair in env_file_values(auth_secret["SERVICE_CLIENTS"])["SERVICE_CLIENTS"].split(",")
    )
    for caller in ("circles", "payments", "messaging", "gateway"):
        assert caller in clients, f"auth does not know the {caller} client"
        assert "SERVICE_CLIENT_SECRET" in generated_secrets()[f"{caller}-secrets"]


# --- network policies --------------------------------------------------------------------------------

PODS = workload_pods()
INGRESS_CONTROLLER = pod("ingress-nginx", **{"app.kubernetes.io/name": "ingress-nginx"})
PROMETHEUS = pod("monitoring", **{"app.kubernetes.io/name": "prometheus"})
DNS = pod("kube-system", **{"k8s-app": "kube-dns"})
MAIN_DB = pod("mcm-data", **{"app.kubernetes.io/name": "postgres-main"})
CREDS_DB = pod("mcm-data", **{"app.kubernetes.io/name": "postgres-credentials"})
REDIS = pod("mcm-data", **{"app.kubernetes.io/name": "redis"})
STRIPE = address("54.187.174.169")  # a public address on 443
METADATA = address("169.254.169.254")
INTERNAL_HOST = address("10.12.0.7")
OTHER_POD = pod("default", **{"app": "something-else"})


def test_default_deny_covers_every_pod_both_ways() -> None:
    deny = [
        p
        for p in objects("NetworkPolicy").values()
        if p["spec"]["podSelector"] == {}
        and set(p["spec"]["policyTypes"]) == {"Ingress", "Egress"}
        and not p["spec"].get("ingress")
        and not p["spec"].get("egress")
    ]
    assert deny, "a default-deny policy for all pods, ingress and egress"


@pytest.mark.parametrize(
    ("source", "destination", "port", "allowed"),
    [
        # From outside: only the ingress controller, only to the gateway.
        ("ingress", "gateway", 8000, True),
        ("ingress", "auth", 8001, False),
        ("ingress", "circles", 8002, False),
        ("ingress", "payments", 8003, False),
        ("ingress", "messaging", 8004, False),
        ("other", "gateway", 8000, False),
        ("other", "auth", 8001, False),
        # The gateway reaches every service.
        ("gateway", "auth", 8001, True),
        ("gateway", "circles", 8002, True),
        ("gateway", "payments", 8003, True),
        ("gateway", "messaging", 8004, True),
        # Services fetch JWKS and service tokens from auth...
        ("circles", "auth", 8001, True),
        ("payments", "auth", 8001, True),
        ("messaging", "auth", 8001, True),
        # ...but never call each other (events go through Redis) or the gateway.
        ("circles", "payments", 8003, False),
        ("payments", "circles", 8002, False),
        # auth calls circles' and payments' internal routes (overview, export, erasure)...
        ("auth", "circles", 8002, True),
        ("auth", "payments", 8003, True),
        ("auth", "circles", 5432, False),
        ("circles", "messaging", 8004, False),
        ("messaging", "circles", 8002, False),
        ("messaging", "gateway", 8000, False),
        ("circles", "gateway", 8000, False),
        # Wrong port on an allowed peer.
        ("gateway", "auth", 5432, False),
        # Metrics scraping from the monitoring namespace: the services on their HTTP port, the
        # gateway on its metrics port only (its public port is for the ingress controller).
        ("prometheus", "gateway", 9000, True),
        ("prometheus", "gateway", 8000, False),
        ("ingress", "gateway", 9000, False),
        ("other", "gateway", 9000, False),
        ("circles", "gateway", 9000, False),
        ("prometheus", "circles", 8002, True),
        ("prometheus", "auth", 8001, True),
        ("prometheus", "payments", 8003, True),
        ("prometheus", "messaging", 8004, True),
        ("prometheus", "circles-migrate", 8002, False),
    ],
)
def test_network_policies_between_workloads(source: str, destination: str, port: int, allowed: bool) -> None:
    endpoints = {**PODS, "ingress": INGRESS_CONTROLLER, "prometheus": PROMETHEUS, "other": OTHER_POD}
    assert connection_allowed(endpoints[source], endpoints[destination], port) is allowed


@pytest.mark.parametrize(
    ("source", "destination", "port", "allowed"),
    [
        ("auth", "creds-db", 5432, True),
        ("auth", "main-db", 5432, False),
        ("circles", "main-db", 5432, True),
        ("circles", "creds-db", 5432, False),
        ("payments", "main-db", 5432, True),
        ("payments", "creds-db", 5432, False),
        ("messaging", "main-db", 5432, True),
        ("messaging", "creds-db", 5432, False),
        ("messaging-migrate", "main-db", 5432, True),
        ("messaging-migrate", "redis", 6379, False),
        ("gateway", "main-db", 5432, False),
        ("gateway", "creds-db", 5432, False),
        ("auth-migrate", "creds-db", 5432, True),
        ("auth-migrate", "main-db", 5432, False),
        ("circles-migrate", "main-db", 5432, True),
        ("payments-migrate", "main-db", 5432, True),
        ("circles-migrate", "redis", 6379, False),
        ("gateway", "redis", 6379, True),
        ("auth", "redis", 6379, True),
        ("circles", "redis", 6379, True),
        ("payments", "redis", 6379, True),
        ("messaging", "redis", 6379, True),
        # Providers: Stripe for payments, SMTP and HTTPS (SMS, Google) for auth.
        ("payments", "stripe", 443, True),
        ("circles", "stripe", 443, False),
        ("messaging", "stripe", 443, False),
        ("gateway", "stripe", 443, False),
        ("auth", "stripe", 443, True),
        ("auth", "stripe", 587, True),
        ("payments", "stripe", 587, False),
        ("payments", "metadata", 80, False),
        ("payments", "metadata", 443, False),
        ("auth", "metadata", 443, False),
        ("payments", "internal-host", 443, False),
    ],
)
def test_network_policies_to_data_stores_and_providers(source: str, destination: str, port: int, allowed: bool) -> None:
    targets = {
        "creds-db": CREDS_DB,
        "main-db": MAIN_DB,
        "redis": REDIS,
        "stripe": STRIPE,
        "metadata": METADATA,
        "internal-host": INTERNAL_HOST,
    }
    assert connection_allowed(PODS[source], targets[destination], port) is allowed


@pytest.mark.parametrize("workload", sorted(PODS))
def test_every_workload_can_resolve_names(workload: str) -> None:
    assert connection_allowed(PODS[workload], DNS, 53, "UDP")
    assert connection_allowed(PODS[workload], DNS, 53, "TCP")
    assert not connection_allowed(PODS[workload], OTHER_POD, 53, "UDP")
