"""What the deployment tests share: where things are, and small readers for Dockerfiles,
.dockerignore, Compose interpolation, Kubernetes manifests and NetworkPolicy decisions.

Everything here reads files; nothing talks to a Docker engine or a cluster.
"""

from __future__ import annotations

import importlib
import ipaddress
import json
import re
import shlex
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from secrets import token_hex
from typing import Any

import kubernetes_validate.utils as _kubernetes_validate_utils
import yaml

# kubernetes-validate re-reads its (large) schema files on every call; they never change.
if not hasattr(_kubernetes_validate_utils.schema_contents, "cache_info"):
    _kubernetes_validate_utils.schema_contents = cache(_kubernetes_validate_utils.schema_contents)

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "deploy" / "k8s"
COMPOSE_FILE = ROOT / "docker-compose.yml"
# The one Dockerfile every Python process is built from, parameterised by build arguments.
DOCKERFILE = ROOT / "deploy" / "Dockerfile"
ENV_EXAMPLE = ROOT / ".env.example"
DOCKERIGNORE = ROOT / ".dockerignore"
# Kubernetes versions the manifests must be valid for: the oldest supported and the newest
# whose schemas kubernetes-validate ships.
K8S_VERSIONS = ("1.30", "latest")


@dataclass(frozen=True)
class Service:
    name: str
    directory: str
    port: int
    migrates: bool
    db_env: str | None

    @property
    def package(self) -> str:
        return f"mcm_{self.name}"

    @property
    def dist(self) -> str:
        return f"mcm-{self.name}"

    @property
    def port_env(self) -> str:
        return f"{self.name.upper()}_PORT"

    @property
    def dockerfile(self) -> Path:
        return DOCKERFILE

    @property
    def build_args(self) -> dict[str, str]:
        """The build arguments that make the shared Dockerfile build this service."""
        return {"SERVICE": self.name, "SERVICE_DIR": self.directory, "SERVICE_PORT": str(self.port)}

    def stages(self) -> list[Stage]:
        """The shared Dockerfile's stages with this service's build arguments substituted."""
        return parse_dockerfile(self.dockerfile, self.build_args)

    @property
    def image(self) -> str:
        return f"mcm/{self.name}"


SERVICES: dict[str, Service] = {
    "gateway": Service("gateway", "gateway", 8000, migrates=False, db_env=None),
    "auth": Service("auth", "services/auth", 8001, migrates=True, db_env="CREDS_DATABASE_URL"),
    "circles": Service("circles", "services/circles", 8002, migrates=True, db_env="DATABASE_URL"),
    "payments": Service("payments", "services/payments", 8003, migrates=True, db_env="DATABASE_URL"),
    "messaging": Service("messaging", "services/messaging", 8004, migrates=True, db_env="DATABASE_URL"),
}
HEALTH_PATHS = ("/api/v1/health/live", "/api/v1/health/ready", "/api/v1/health")

# Settings fields that describe the build, not the deployment.
NOT_CONFIGURATION = {"SERVICE_NAME", "VERSION"}


# --- settings -------------------------------------------------------------------------------------


def settings_class(service: Service) -> type | None:
    """The service's Settings class, or None while its package has no config module yet."""
    try:
        module = importlib.import_module(f"{service.package}.config")
    except ModuleNotFoundError as exc:
        if exc.name and (exc.name == service.package or exc.name.startswith(f"{service.package}.")):
            return None
        raise
    return module.Settings


def env_name(cls: type, field_name: str) -> str:
    info = cls.model_fields[field_name]
    if isinstance(info.validation_alias, str):
        return info.validation_alias.upper()
    prefix = (cls.model_config.get("env_prefix") or "").upper()
    return f"{prefix}{field_name.upper()}"


def all_env_names(cls: type) -> set[str]:
    return {env_name(cls, name) for name in cls.model_fields} - NOT_CONFIGURATION


def required_env_names(cls: type, service: Service) -> set[str]:
    """What production cannot run without: fields without a default, the URLs and secrets the
    class itself names, and the database URL the service uses."""
    names = {env_name(cls, name) for name, info in cls.model_fields.items() if info.is_required()}
    blank = cls.model_construct()
    names |= set(blank.required_urls()) | set(blank.secrets())
    if service.db_env:
        names.add(service.db_env)
    return names


def secret_env_names(cls: type, service: Service) -> set[str]:
    """Values that carry a credential: the class's secrets, and URLs with passwords in them."""
    names = set(cls.model_construct().secrets()) | {"REDIS_URL"}
    if service.db_env:
        names.add(service.db_env)
    return names


def fields_without_default(cls: type) -> set[str]:
    return {env_name(cls, name) for name, info in cls.model_fields.items() if info.is_required()}


# --- YAML -----------------------------------------------------------------------------------------


def load_docs(path: Path) -> list[dict[str, Any]]:
    with path.open() as handle:
        return [doc for doc in yaml.safe_load_all(handle) if doc]


@cache
def compose() -> dict[str, Any]:
    with COMPOSE_FILE.open() as handle:
        return yaml.safe_load(handle)


# --- .env.example -----------------------------------------------------------------------------------

_ASSIGNMENT = re.compile(r"^(?P<comment>#\s?)?(?P<name>[A-Z][A-Z0-9_]*)=(?P<value>.*)$")


@dataclass(frozen=True)
class EnvEntry:
    name: str
    value: str
    commented: bool


def env_example() -> dict[str, EnvEntry]:
    """Every `NAME=value` line, and every `# NAME=value` line (an optional setting shown with its
    default)."""
    entries: dict[str, EnvEntry] = {}
    for line in ENV_EXAMPLE.read_text().splitlines():
        match = _ASSIGNMENT.match(line.strip())
        if not match:
            continue
        value = match["value"].strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
            value = value[1:-1]
        entries[match["name"]] = EnvEntry(match["name"], value, bool(match["comment"]))
    return entries


# --- Compose interpolation --------------------------------------------------------------------------

_INTERPOLATION = re.compile(r"\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[-?])(?P<arg>[^}]*))?\}")


def interpolated_names(value: Any) -> set[str]:
    names: set[str] = set()
    if isinstance(value, str):
        names |= {m["name"] for m in _INTERPOLATION.finditer(value)}
    elif isinstance(value, dict):
        for item in value.values():
            names |= interpolated_names(item)
    elif isinstance(value, list):
        for item in value:
            names |= interpolated_names(item)
    return names


def required_interpolations(value: Any) -> set[str]:
    """Names used as `${NAME:?message}`: Compose refuses to run while they are empty."""
    text = json.dumps(value)
    return {m["name"] for m in _INTERPOLATION.finditer(text) if m["op"] == ":?"}


class MissingVariable(LookupError):
    pass


def interpolate(value: str, env: dict[str, str]) -> str:
    def replace(match: re.Match[str]) -> str:
        name, op, arg = match["name"], match["op"], match["arg"]
        current = env.get(name)
        if op in (":-", "-"):
            if current is None or (op == ":-" and current == ""):
                return arg
            return current
        if op in (":?", "?"):
            if current is None or (op == ":?" and current == ""):
                raise MissingVariable(f"{name}: {arg}")
            return current
        return current or ""

    return _INTERPOLATION.sub(replace, value)


def container_environment(service_name: str, env: dict[str, str]) -> dict[str, str]:
    """The environment Compose would give a service's container, `.env` values being `env`.

    A key without a value is passed through from `env` when set there, else left out."""
    raw = compose()["services"][service_name].get("environment") or {}
    if isinstance(raw, list):
        raw = dict(item.split("=", 1) if "=" in item else (item, None) for item in raw)
    result: dict[str, str] = {}
    for key, value in raw.items():
        if value is None:
            if key in env:
                result[key] = env[key]
            continue
        result[key] = interpolate(str(value), env)
    return result


def compose_services_of_image(service: Service) -> list[str]:
    """Compose services built as this service's image (the shared Dockerfile with its build args)."""
    names = []
    for name, spec in compose()["services"].items():
        build = spec.get("build")
        if (
            isinstance(build, dict)
            and (ROOT / build.get("context", ".") / build.get("dockerfile", "Dockerfile")).resolve() == DOCKERFILE
            and {k: str(v) for k, v in (build.get("args") or {}).items()} == service.build_args
        ):
            names.append(name)
    return names


# --- Dockerfile -------------------------------------------------------------------------------------


@dataclass
class Instruction:
    keyword: str
    args: str

    def exec_form(self) -> list[str] | None:
        """The JSON array of an exec-form instruction, or None for shell form."""
        try:
            value = json.loads(self.args)
        except json.JSONDecodeError:
            return None
        return value if isinstance(value, list) and all(isinstance(v, str) for v in value) else None


@dataclass
class Stage:
    base: str
    name: str | None
    instructions: list[Instruction] = field(default_factory=list)

    def of(self, keyword: str) -> list[Instruction]:
        return [i for i in self.instructions if i.keyword == keyword]

    def env(self) -> dict[str, str]:
        values: dict[str, str] = {}
        for instruction in self.of("ENV"):
            for token in shlex.split(instruction.args):
                if "=" in token:
                    key, _, value = token.partition("=")
                    values[key] = value
        return values


_VARIABLE = re.compile(r"\$(?:\{(?P<braced>\w+)(?::(?P<op>[?-])(?P<word>[^}]*))?\}|(?P<bare>\w+))")


def substitute(text: str, values: dict[str, str]) -> str:
    """Docker's `$NAME` / `${NAME}` / `${NAME:-default}` / `${NAME:?message}` substitution of build
    arguments. Names that are not build arguments (`$PATH`, a shell variable) are left alone."""

    def replace(match: re.Match[str]) -> str:
        name = match.group("braced") or match.group("bare")
        if name not in values:
            return match.group(0)
        value = values[name]
        if not value and match.group("op") == "-":
            return match.group("word")
        if not value and match.group("op") == "?":
            raise ValueError(f"build argument {name} is required: {match.group('word')}")
        return value

    return _VARIABLE.sub(replace, text)


def parse_dockerfile(path: Path, build_args: dict[str, str] | None = None) -> list[Stage]:
    """The Dockerfile's stages. ARGs (their defaults, overridden by `build_args`) are substituted
    in every instruction but the exec-form ones, as `docker build` does for the instructions it
    expands and the shell does for RUN; an ARG is in scope from its declaration to the end of its
    stage (global ARGs, before the first FROM, only in FROM lines)."""
    build_args = build_args or {}
    text = path.read_text()
    logical: list[str] = []
    current = ""
    for line in text.splitlines():
        stripped = line.strip()
        if not current and (not stripped or stripped.startswith("#")):
            continue
        if current and stripped.startswith("#"):
            continue  # comment lines inside a continued instruction are dropped by Docker
        if stripped.endswith("\\"):
            current += stripped[:-1] + " "
            continue
        logical.append(current + stripped)
        current = ""
    if current:
        logical.append(current)
    stages: list[Stage] = []
    global_args: dict[str, str] = {}
    scope: dict[str, str] = {}
    for line in logical:
        keyword, _, args = line.partition(" ")
        keyword = keyword.upper()
        args = args.strip()
        if keyword == "ARG":
            name, has_default, default = args.partition("=")
            value = build_args.get(name, default if has_default else "")
            if not stages:
                global_args[name] = value
            else:
                scope[name] = build_args.get(name, global_args.get(name, value) if not has_default else value)
            continue
        if keyword == "FROM":
            scope = {}
            args = substitute(args, global_args)
        elif keyword not in {"ENTRYPOINT", "CMD", "HEALTHCHECK"}:
            args = substitute(args, scope)
        if keyword == "FROM":
            parts = args.split()
            name = parts[2] if len(parts) >= 3 and parts[1].upper() == "AS" else None
            stages.append(Stage(parts[0], name))
        elif stages:
            stages[-1].instructions.append(Instruction(keyword, args))
    return stages


# --- .dockerignore ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class IgnoreRule:
    regex: re.Pattern[str]
    exclusion: bool  # a `!pattern` that puts files back


def _glob_to_regex(pattern: str) -> re.Pattern[str]:
    out = ""
    i = 0
    while i < len(pattern):
        char = pattern[i]
        if char == "*":
            if pattern[i : i + 2] == "**":
                i += 2
                if pattern[i : i + 1] == "/":
                    out += "(?:.*/)?"
                    i += 1
                else:
                    out += ".*"
                continue
            out += "[^/]*"
        elif char == "?":
            out += "[^/]"
        elif char == "[":
            end = pattern.index("]", i)
            body = pattern[i + 1 : end]
            if body.startswith("!"):
                body = "^" + body[1:]
            out += f"[{body}]"
            i = end
        elif char == "\\" and i + 1 < len(pattern):
            out += re.escape(pattern[i + 1])
            i += 1
        else:
            out += re.escape(char)
        i += 1
    return re.compile(f"^{out}$")


def dockerignore_rules(path: Path = DOCKERIGNORE) -> list[IgnoreRule]:
    rules = []
    for line in path.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        exclusion = line.startswith("!")
        pattern = line[1:].strip() if exclusion else line
        pattern = pattern.lstrip("/")
        if pattern.startswith("./"):
            pattern = pattern[2:]
        pattern = pattern.rstrip("/") or "."
        rules.append(IgnoreRule(_glob_to_regex(pattern), exclusion))
    return rules


def is_ignored(relative: str, rules: list[IgnoreRule]) -> bool:
    """Docker's rule: the last pattern that matches the path or one of its parent folders wins."""
    parts = relative.split("/")
    parents = ["/".join(parts[: i + 1]) for i in range(len(parts) - 1)]
    ignored = False
    for rule in rules:
        if rule.exclusion != ignored:
            continue
        if rule.regex.match(relative) or any(rule.regex.match(parent) for parent in parents):
            ignored = not rule.exclusion
    return ignored


# --- Kubernetes ---------------------------------------------------------------------------------------


def kustomization() -> dict[str, Any]:
    return load_docs(K8S / "kustomization.yaml")[0]


def manifest_files() -> list[Path]:
    return sorted(p for p in K8S.rglob("*.yaml") if p.name != "kustomization.yaml")


@cache
def manifests() -> list[dict[str, Any]]:
    docs: list[dict[str, Any]] = []
    for path in manifest_files():
        docs.extend(load_docs(path))
    return docs


def objects(kind: str) -> dict[str, dict[str, Any]]:
    return {doc["metadata"]["name"]: doc for doc in manifests() if doc["kind"] == kind}


def env_file_keys(path: Path) -> set[str]:
    keys = set()
    for line in path.read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#") and "=" in line:
            keys.add(line.split("=", 1)[0].strip())
    return keys


def env_file_values(path: Path) -> dict[str, str]:
    values = {}
    for line in path.read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#") and "=" in line:
            key, _, value = line.partition("=")
            values[key.strip()] = value.strip()
    return values


def generated_secrets() -> dict[str, dict[str, Path]]:
    """secretGenerator entries: secret name -> {key: committed example file holding its value}."""
    secrets: dict[str, dict[str, Path]] = {}
    for generator in kustomization().get("secretGenerator", []):
        keys: dict[str, Path] = {}
        for env_path in generator.get("envs", []):
            example = K8S / f"{env_path}.example"
            for key in env_file_keys(example) if example.exists() else ():
                keys[key] = example
        for entry in generator.get("files", []):
            key, _, source = entry.partition("=") if "=" in entry else (Path(entry).name, "", entry)
            keys[key] = K8S / f"{source}.example"
        secrets[generator["name"]] = keys
    return secrets


def container_env_sources(pod_spec: dict[str, Any], container: dict[str, Any]) -> dict[str, str]:
    """Each environment name a container receives -> 'configmap:<name>' or 'secret:<name>'."""
    configmaps = objects("ConfigMap")
    secrets = generated_secrets()
    sources: dict[str, str] = {}
    for source in container.get("envFrom", []):
        if "configMapRef" in source:
            name = source["configMapRef"]["name"]
            for key in configmaps[name].get("data", {}):
                sources[key] = f"configmap:{name}"
        if "secretRef" in source:
            name = source["secretRef"]["name"]
            for key in secrets[name]:
                sources[key] = f"secret:{name}"
    for entry in container.get("env", []):
        value_from = entry.get("valueFrom", {})
        if "secretKeyRef" in value_from:
            ref = value_from["secretKeyRef"]
            assert ref["key"] in secrets[ref["name"]], f"{ref['name']} has no key {ref['key']}"
            sources[entry["name"]] = f"secret:{ref['name']}"
        elif "configMapKeyRef" in value_from:
            ref = value_from["configMapKeyRef"]
            assert ref["key"] in configmaps[ref["name"]].get("data", {}), f"{ref['name']} has no key {ref['key']}"
            sources[entry["name"]] = f"configmap:{ref['name']}"
        else:
            sources[entry["name"]] = "literal"
    return sources


def operator_value(key: str, placeholder: str) -> str:
    """What an operator puts where a template says REPLACE_ME (or leaves a value empty): a real
    ES256 key for the signing key, long random values elsewhere."""
    if key == "JWT_PRIVATE_KEY":
        return test_signing_key()
    if placeholder == "":
        return token_hex(24)
    return placeholder.replace("REPLACE_ME", token_hex(24))


@cache
def test_signing_key() -> str:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    key = ec.generate_private_key(ec.SECP256R1())
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


def container_env_values(container: dict[str, Any]) -> dict[str, str]:
    """The environment a container would get, secrets taken from their committed examples with
    the placeholders filled in as an operator would."""
    configmaps = objects("ConfigMap")
    secrets = generated_secrets()
    values: dict[str, str] = {}
    for source in container.get("envFrom", []):
        if "configMapRef" in source:
            values.update({k: str(v) for k, v in configmaps[source["configMapRef"]["name"]].get("data", {}).items()})
        if "secretRef" in source:
            for key, example in secrets[source["secretRef"]["name"]].items():
                values[key] = _example_value(example, key)
    for entry in container.get("env", []):
        value_from = entry.get("valueFrom", {})
        if "secretKeyRef" in value_from:
            ref = value_from["secretKeyRef"]
            values[entry["name"]] = _example_value(secrets[ref["name"]][ref["key"]], ref["key"])
        elif "configMapKeyRef" in value_from:
            ref = value_from["configMapKeyRef"]
            values[entry["name"]] = str(configmaps[ref["name"]]["data"][ref["key"]])
        elif "value" in entry:
            values[entry["name"]] = str(entry["value"])
    return values


def _example_value(example: Path, key: str) -> str:
    if example.name.endswith(".env.example"):
        return operator_value(key, env_file_values(example)[key])
    return operator_value(key, example.read_text())


# --- NetworkPolicy evaluation ---------------------------------------------------------------------------

NAMESPACE = "mcm"


@dataclass(frozen=True)
class Endpoint:
    """A pod (namespace + labels + named ports) or an address outside the cluster."""

    namespace: str | None = None
    labels: tuple[tuple[str, str], ...] = ()
    named_ports: tuple[tuple[str, int], ...] = ()
    ip: str | None = None

    @property
    def label_map(self) -> dict[str, str]:
        return dict(self.labels)


def pod(namespace: str, **labels: str) -> Endpoint:
    return Endpoint(namespace=namespace, labels=tuple(sorted(labels.items())))


def address(ip: str) -> Endpoint:
    return Endpoint(ip=ip)


def workload_pods() -> dict[str, Endpoint]:
    """The pods the manifests create (Deployments and Jobs), by workload name."""
    pods: dict[str, Endpoint] = {}
    for kind in ("Deployment", "Job"):
        for name, workload in objects(kind).items():
            template = workload["spec"]["template"]
            ports = tuple(
                (port["name"], port["containerPort"])
                for container in template["spec"]["containers"]
                for port in container.get("ports", [])
                if "name" in port
            )
            pods[name] = Endpoint(NAMESPACE, tuple(sorted(template["metadata"]["labels"].items())), ports)
    return pods


def _selector_matches(selector: dict[str, Any] | None, labels: dict[str, str]) -> bool:
    selector = selector or {}
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != value:
            return False
    for expression in selector.get("matchExpressions") or []:
        key, operator, values = expression["key"], expression["operator"], expression.get("values", [])
        if operator == "In" and labels.get(key) not in values:
            return False
        if operator == "NotIn" and labels.get(key) in values:
            return False
        if operator == "Exists" and key not in labels:
            return False
        if operator == "DoesNotExist" and key in labels:
            return False
    return True


def _peer_matches(peer: dict[str, Any], target: Endpoint, policy_namespace: str) -> bool:
    if "ipBlock" in peer:
        if target.ip is None:
            return False
        ip = ipaddress.ip_address(target.ip)
        block = peer["ipBlock"]
        if ip not in ipaddress.ip_network(block["cidr"]):
            return False
        return not any(ip in ipaddress.ip_network(cidr) for cidr in block.get("except", []))
    if target.ip is not None:
        return False
    if "namespaceSelector" in peer:
        namespace_labels = {"kubernetes.io/metadata.name": target.namespace or ""}
        if not _selector_matches(peer["namespaceSelector"], namespace_labels):
            return False
    elif target.namespace != policy_namespace:
        return False
    return _selector_matches(peer.get("podSelector"), target.label_map)


def _port_matches(rule_ports: list[dict[str, Any]] | None, port: int, protocol: str, destination: Endpoint) -> bool:
    if not rule_ports:
        return True
    named = dict(destination.named_ports)
    for entry in rule_ports:
        if entry.get("protocol", "TCP") != protocol:
            continue
        wanted = entry.get("port")
        if wanted is None:
            return True
        if isinstance(wanted, str):
            wanted = named.get(wanted)
            if wanted is None:
                continue
        if wanted <= port <= entry.get("endPort", wanted):
            return True
    return False


def _policies_for(target: Endpoint, direction: str) -> list[dict[str, Any]]:
    if target.namespace != NAMESPACE:
        return []
    found = []
    for policy in objects("NetworkPolicy").values():
        spec = policy["spec"]
        types = spec.get("policyTypes") or (["Ingress"] + (["Egress"] if "egress" in spec else []))
        if direction in types and _selector_matches(spec.get("podSelector"), target.label_map):
            found.append(policy)
    return found


def connection_allowed(source: Endpoint, destination: Endpoint, port: int, protocol: str = "TCP") -> bool:
    """Whether the NetworkPolicies in the manifests let `source` open `destination:port`."""
    egress = _policies_for(source, "Egress")
    if egress and not any(
        _port_matches(rule.get("ports"), port, protocol, destination)
        and (not rule.get("to") or any(_peer_matches(peer, destination, NAMESPACE) for peer in rule["to"]))
        for policy in egress
        for rule in policy["spec"].get("egress") or []
    ):
        return False
    ingress = _policies_for(destination, "Ingress")
    return not ingress or any(
        _port_matches(rule.get("ports"), port, protocol, destination)
        and (not rule.get("from") or any(_peer_matches(peer, source, NAMESPACE) for peer in rule["from"]))
        for policy in ingress
        for rule in policy["spec"].get("ingress") or []
    )


def entrypoint_argv(stage: Stage) -> list[str]:
    """The program and arguments the runtime stage's ENTRYPOINT finally runs (before CMD's).

    The shared Dockerfile names the module through an ENV variable, which exec form cannot expand,
    so its entrypoint is `["/bin/sh", "-c", "exec python -m \\"$VAR\\" \\"$@\\"", "mcm"]`: the shell
    expands the variable and replaces itself (`exec`) with python, which becomes PID 1. This reads
    that form (or a plain exec form) back into python's argv; anything else, e.g. a shell that stays
    PID 1 and would swallow SIGTERM, fails the assertion."""
    entrypoint = stage.of("ENTRYPOINT")[-1].exec_form()
    assert entrypoint is not None, "ENTRYPOINT must be exec form"
    if entrypoint[:2] != ["/bin/sh", "-c"]:
        return entrypoint
    assert len(entrypoint) == 4, "sh -c SCRIPT NAME: CMD's words become the script's $@"
    script = entrypoint[2]
    assert script.startswith("exec "), "the shell must exec python, so python is PID 1 and gets SIGTERM"
    words = shlex.split(script.removeprefix("exec "))
    assert words[-1] == "$@", "CMD's words (serve/migrate) are passed on"
    env = stage.env()
    return [env[word[1:]] if word.startswith("$") else word for word in words[:-1]]
