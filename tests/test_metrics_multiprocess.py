"""Several workers of one process kind behind one metrics port: with PROMETHEUS_MULTIPROC_DIR
the endpoint sums what every worker counted (docs/operations.md "Metrics")."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

ROOT = Path(__file__).resolve().parent.parent

WORKER = """
from runtime import metrics
metrics.EXECUTIONS.labels("completed").inc({n})
metrics.FIRST_TOKEN.labels("m").observe(0.2)
"""
SCRAPE = """
import sys
from runtime import metrics
body, content_type = metrics.exposition()
sys.stdout.write(body.decode())
"""


def run(code: str, folder: Path) -> str:
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(folder)}
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_the_endpoint_sums_every_workers_counters(tmp_path: Path):
    run(WORKER.format(n=2), tmp_path)
    run(WORKER.format(n=3), tmp_path)
    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(run(SCRAPE, tmp_path))
        for s in family.samples
    }
    assert samples[("hirebuddha_executions_total", (("status", "completed"),))] == 5
    assert samples[("hirebuddha_first_token_seconds_count", (("model", "m"),))] == 2
