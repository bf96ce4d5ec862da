"""The container and cluster files, checked without Docker or a cluster (none run here):
every YAML parses, every process has readiness and liveness probes that exist, ports match
the settings, every HB_ variable they set is one the code reads, and the actors/ledger exec
probe really answers 0 with reachable dependencies and 1 without.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"
SETTINGS_SOURCES = [
    ROOT / "runtime" / "settings.py",
    ROOT / "runtime" / "urlguard.py",
    ROOT / "web" / "spa.py",
]
PROCESSES = {"web", "actors", "ledger", "migrate"}


def documents() -> list[dict]:
    docs = []
    for path in sorted(DEPLOY.rglob("*.yaml")):
        docs += [d for d in yaml.safe_load_all(path.read_text()) if d]
    return docs


def known_settings() -> set[str]:
    return {name for src in SETTINGS_SOURCES for name in re.findall(r"HB_[A-Z0-9_]+", src.read_text())}


def test_every_yaml_file_parses_and_names_its_kind():
    docs = documents()
    kinds = {d.get("kind") for d in docs if "kind" in d}
    assert {"Deployment", "Service", "ConfigMap", "Secret", "Job", "RabbitmqCluster"} <= kinds


def test_every_deployment_has_probes_and_runs_a_real_process():
    from web.app import create_app

    paths = {route.path for route in create_app().routes}
    deployments = [d for d in documents() if d.get("kind") == "Deployment"]
    assert {d["metadata"]["labels"]["process"] for d in deployments} == {"web", "actors", "ledger"}
    for d in deployments:
        (container,) = d["spec"]["template"]["spec"]["containers"]
        assert container["args"][0] in PROCESSES
        for probe in ("readinessProbe", "livenessProbe"):
            spec = container[probe]
            if "httpGet" in spec:
                assert spec["httpGet"]["path"] in paths, spec
                ports = {p["name"]: p["containerPort"] for p in container["ports"]}
                assert ports[spec["httpGet"]["port"]] == 8000
            else:
                assert spec["exec"]["command"] == ["python", "-m", "runtime.probe"]
    web = next(d for d in deployments if d["metadata"]["labels"]["process"] == "web")
    probe_paths = {
        c["readinessProbe"]["httpGet"]["path"] for c in web["spec"]["template"]["spec"]["containers"]
    }
    assert probe_paths == {"/health/ready"}


def test_every_hb_variable_in_the_deploy_files_is_read_by_the_code():
    known = known_settings()
    used: set[str] = set()
    for d in documents():
        if d.get("kind") in ("ConfigMap", "Secret"):
            used |= set(d.get("data", {})) | set(d.get("stringData", {}))
        for service in (d.get("services") or {}).values():
            used |= {k for k in (service.get("environment") or {}) if k.startswith("HB_")}
    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    used |= set(compose["x-hirebuddha"]["environment"])
    used |= set(re.findall(r"HB_[A-Z0-9_]+", (ROOT / "Dockerfile").read_text()))
    assert used and used <= known, f"set but never read: {sorted(used - known)}"


def test_the_dockerfile_builds_the_console_and_installs_the_lock():
    text = (ROOT / "Dockerfile").read_text()
    stages = re.findall(r"^FROM \S+(?: AS (\w+))?", text, re.M)
    assert stages[:2] == ["console", "python"] and len(stages) == 3
    assert "npm ci" in text and "npm run build" in text
    assert "--require-hashes -r requirements.lock" in text and "--no-deps" in text
    assert re.search(r"^USER 10001", text, re.M), "the image must not run as root"


def _probe(env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "runtime.probe"],
        cwd=ROOT,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
    )


def test_the_exec_probe_answers_for_reachable_and_unreachable_dependencies(database):
    assert _probe({}).returncode == 0
    down = _probe({"HB_AMQP_URL": "amqp://guest:guest@127.0.0.1:1/"})
    assert down.returncode == 1 and "rabbitmq" in down.stderr
