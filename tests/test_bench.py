"""`hirebuddha bench --quick` as a smoke test: every figure present and sane, nothing lost.

Completeness only (the bench's own exit code and the JSON): timings on a shared machine
drift, so no figure is compared with a goal here.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _positive(value: object) -> bool:
    number = isinstance(value, int | float) and not isinstance(value, bool)
    return number and math.isfinite(value) and value > 0  # type: ignore[arg-type,operator]


def test_quick_bench_measures_ttft_against_its_baseline_and_loses_no_ledger_entry(tmp_path: Path) -> None:
    """`hirebuddha bench --quick` in full: it exits 0 only when every chat, token, socket,
    request and ledger entry arrived (never on speed), and writes every figure."""
    out = tmp_path / "bench.json"
    args = ["bench", "--quick", "--json", str(out)]
    proc = subprocess.run(
        [sys.executable, "-m", "runtime.cli", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=170,
    )
    output = f"{proc.stdout[-6000:]}\n{proc.stderr[-3000:]}"
    assert proc.returncode == 0, f"bench exited {proc.returncode}:\n{output}"
    assert "first token added p50" in proc.stdout, "the human table is printed"
    run = json.loads(out.read_text())

    assert run["cpu_count"] >= 1
    for name in ("python", "litestar", "faststream", "aio-pika", "postgresql", "rabbitmq"):
        assert run["versions"].get(name), f"version of {name} missing"
    assert run["params"]["quick"] is True
    assert run["params"]["scenarios"] == ["ttft", "streams", "sockets", "rest", "ledger"]
    assert set(run["results"]) == set(run["params"]["scenarios"])
    chats, events = run["params"]["ttft_chats"], run["params"]["ledger_events"]

    ttft = run["results"]["ttft"]
    assert _positive(ttft["broker_round_trip_ms"]["p50"])
    cpu = ttft["amqp_client_cpu_us"]  # each path measured, not typed in
    for path in ("publish_runtime", "publish_faststream", "consume_runtime", "consume_aio_pika"):
        assert _positive(cpu[path]), (path, cpu)
    for target in ("hirebuddha", "baseline"):
        for mode in ("sequential", "concurrent"):
            figures = ttft[target][mode]
            assert figures["completed"] == figures["chats"] == chats, (target, mode, figures)
            assert figures["complete_text"] == chats, f"{target} {mode}: a reply arrived incomplete"
            for pct in ("p50", "p90", "p99", "max"):
                assert math.isfinite(figures["first_token_added_ms"][pct]), (target, mode, pct)
            assert figures["completion_added_ms"]["n"] == chats

    # The burst's CPU per chat names the machine's services too, each measured (not zero:
    # every chat writes rows and crosses the broker).
    burst = ttft["hirebuddha"]["concurrent"]["cpu_ms_per_chat"]
    for name in ("web", "actors", "postgres", "rabbitmq"):
        assert _positive(burst.get(name)), (name, burst)
    assert ("ttft", f"concurrent x{chats}: CPU per chat: all") in {
        (r["scenario"], r["figure"]) for r in run["figures"]
    }
    assert _positive(run["results"]["streams"]["hirebuddha"]["cpu_s_per_1k_tokens"].get("postgres"))

    ledger = run["results"]["ledger"]
    assert ledger["events"] == ledger["events_recorded"] == events
    assert ledger["entries"] == 2 * ledger["events"], "each event is two entries, none lost or doubled"
    assert ledger["entries_equal_events"] is True
    assert _positive(ledger["entries_per_s"]) and _positive(ledger["publish_per_s"])
    assert ledger["event_to_entry_ms"]["n"] == ledger["entries"]
    assert ledger["event_to_entry_ms"]["p99"] >= ledger["event_to_entry_ms"]["p50"] > 0

    rows = {(r["scenario"], r["figure"]) for r in run["figures"]}
    assert ("ttft", f"sequential x{chats}: first token added p50") in rows
    floors = [r for r in run["figures"] if r["scenario"] == "ttft" and "first token added" in r["figure"]]
    assert floors and all(r["floor"] is not None for r in floors), "every ttft figure has its baseline floor"

    streams = run["results"]["streams"]["hirebuddha"]
    assert streams["all_delivered"] is True and streams["actors_processes"] >= 1
    assert isinstance(streams["redeliveries"], int), "redeliveries of the executions queues are counted"
    stages = ttft["hirebuddha"]["sequential"]["stages_ms"]
    hops = (
        "admit: its statement (hb_admit_batch)",
        "publish + consume: broker (publish to delivery)",
        "claim: its statement (hb_begin_many)",
    )
    for stage in ("admit", "claim", "provider first byte", "delta publish", "relay", "socket send", *hops):
        assert stages[stage]["n"] == chats, f"stage {stage} has a time for every chat: {stages.get(stage)}"
    for hop, stage in zip(hops, ("admit", "publish + consume", "claim"), strict=True):
        # Each hop is inside its stage, chat by chat, so at the median too.
        assert 0 < stages[hop]["p50"] <= stages[stage]["p50"], (hop, stages[hop], stages[stage])
    # The streams burst has the same stages, one time per stream.
    for stage in ("admit", "claim", "relay"):
        assert streams["stages_ms"][stage]["n"] == streams["chats"], (stage, streams["stages_ms"].get(stage))
