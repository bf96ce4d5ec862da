"""The figures of a run: each beside its floor (the baseline in the same run) and its goal."""

from __future__ import annotations

import math
from typing import Any

from tools.bench.stats import ratio


def _row(
    scenario: str,
    figure: str,
    value: Any,
    unit: str,
    floor: Any = None,
    goal: str = "",
    ok: bool | None = None,
) -> dict[str, Any]:
    value = None if isinstance(value, float) and math.isnan(value) else value
    floor = None if isinstance(floor, float) and math.isnan(floor) else floor
    return {
        "scenario": scenario,
        "figure": figure,
        "value": value,
        "unit": unit,
        "floor": floor,
        "ratio": ratio(value, floor)
        if isinstance(value, int | float) and isinstance(floor, int | float)
        else None,
        "goal": goal,
        "goal_met": ok,
    }


def _within(value: Any, floor: Any, plus: float = 0.0, times: float = 1.0) -> bool | None:
    """value <= floor * times + plus; None when either is missing."""
    if not isinstance(value, int | float) or not isinstance(floor, int | float):
        return None
    return value <= floor * times + plus


def _ttft_goal(mode: str, pct: str, value: Any, floor: Any) -> tuple[str, bool | None]:
    """Issue 11: sequential p50 <= floor + 3 ms, p99 <= floor + 10 ms; concurrent p99 <= 1.5x."""
    if mode == "sequential" and pct == "p50":
        return "<= floor + 3", _within(value, floor, plus=3)
    if mode == "sequential" and pct == "p99":
        return "<= floor + 10", _within(value, floor, plus=10)
    if mode == "concurrent" and pct == "p99":
        return "<= 1.5x floor", _within(value, floor, times=1.5)
    return "", None


def _ttft(r: dict[str, Any]) -> list[dict[str, Any]]:
    rows, hb, base = [], r.get("hirebuddha", {}), r.get("baseline", {})
    rtt = r["broker_round_trip_ms"]["p50"]
    rows.append(_row("ttft", "broker round trip p50 (plain aio-pika)", rtt, "ms"))
    cpu = r.get("amqp_client_cpu_us") or {}
    for key, figure in (
        ("publish_runtime", "confirmed publish: runtime (aiormq)"),
        ("publish_faststream", "confirmed publish: FastStream broker.publish"),
        ("consume_runtime", "delivery: runtime relay (aiormq)"),
        ("consume_aio_pika", "delivery: aio-pika Queue.consume"),
    ):
        rows.append(_row("ttft", f"AMQP client CPU per {figure}", cpu.get(key), "cpu-us"))
    for mode in ("sequential", "concurrent"):
        h, b = hb.get(mode, {}), base.get(mode, {})
        n = h.get("chats", 0)
        first, bfirst = h.get("first_token_added_ms", {}), b.get("first_token_added_ms", {})
        for pct in ("p50", "p90", "p99", "max"):
            goal, ok = _ttft_goal(mode, pct, first.get(pct), bfirst.get(pct))
            rows.append(
                _row(
                    "ttft",
                    f"{mode} x{n}: first token added {pct}",
                    first.get(pct),
                    "ms",
                    bfirst.get(pct),
                    goal,
                    ok,
                )
            )
        for stage, ms in h.get("stages_ms", {}).items():
            rows.append(_row("ttft", f"{mode} x{n}: stage {stage} p50", ms.get("p50"), "ms"))
        done, bdone = h.get("completion_added_ms", {}), b.get("completion_added_ms", {})
        rows.append(
            _row("ttft", f"{mode} x{n}: completion added p50", done.get("p50"), "ms", bdone.get("p50"))
        )
        rows.append(
            _row(
                "ttft",
                f"{mode} x{n}: completed",
                h.get("completed"),
                "chats",
                b.get("completed"),
                f"== {n}",
                h.get("completed") == n,
            )
        )
    # What one chat of the burst costs each process, the machine's services included: on
    # two cores their sum is what bounds the burst's first tokens.
    cpu, bcpu = (
        hb.get("concurrent", {}).get("cpu_ms_per_chat", {}),
        base.get("concurrent", {}).get("cpu_ms_per_chat", {}),
    )
    n = hb.get("concurrent", {}).get("chats", 0)
    for name in (*cpu, *(k for k in bcpu if k not in cpu)):
        rows.append(
            _row("ttft", f"concurrent x{n}: CPU per chat: {name}", cpu.get(name), "cpu-ms", bcpu.get(name))
        )
    if cpu:
        rows.append(
            _row(
                "ttft",
                f"concurrent x{n}: CPU per chat: all",
                round(sum(cpu.values()), 2),
                "cpu-ms",
                round(sum(bcpu.values()), 2) if bcpu else None,
            )
        )
    return rows


def _streams(r: dict[str, Any]) -> list[dict[str, Any]]:
    h, b = r.get("hirebuddha", {}), r.get("baseline", {})
    n = h.get("chats", 0)
    rows = [
        _row(
            "streams",
            f"{n} streams: tokens delivered/s",
            h.get("tokens_per_s"),
            "tok/s",
            b.get("tokens_per_s"),
        ),
        _row(
            "streams",
            "all tokens delivered",
            h.get("tokens_delivered"),
            "tokens",
            b.get("tokens_delivered"),
            f"== {h.get('tokens_expected')}",
            h.get("all_delivered"),
        ),
        _row(
            "streams",
            "first token added p99",
            h.get("first_token_added_ms", {}).get("p99"),
            "ms",
            b.get("first_token_added_ms", {}).get("p99"),
            "<= floor + 1000",
            _within(
                h.get("first_token_added_ms", {}).get("p99"),
                b.get("first_token_added_ms", {}).get("p99"),
                plus=1000,
            ),
        ),
        _row(
            "streams",
            "wall time (last stream done)",
            h.get("seconds"),
            "s",
            b.get("seconds"),
            "<= floor + 1",
            _within(h.get("seconds"), b.get("seconds"), plus=1),
        ),
        _row(
            "streams",
            "gap between deltas p50",
            h.get("gap_ms", {}).get("p50"),
            "ms",
            b.get("gap_ms", {}).get("p50"),
        ),
        _row(
            "streams",
            "gap between deltas p99",
            h.get("gap_ms", {}).get("p99"),
            "ms",
            b.get("gap_ms", {}).get("p99"),
            "<= floor + 100",
            _within(h.get("gap_ms", {}).get("p99"), b.get("gap_ms", {}).get("p99"), plus=100),
        ),
        _row("streams", "deltas (frames) received", h.get("deltas"), "frames", b.get("deltas")),
    ]
    cpu, bcpu = h.get("cpu_s_per_1k_tokens", {}), b.get("cpu_s_per_1k_tokens", {})
    runtime = sum(cpu.get(k) or 0 for k in ("web", "actors", "ledger")) if cpu else None
    rows.append(
        _row(
            "streams",
            "CPU s/1k tokens: web+actors+ledger",
            runtime and round(runtime, 4),
            "cpu-s",
            bcpu.get("baseline"),
        )
    )
    cpu_goals = {"web": 0.01, "actors": 0.03}
    for name in ("web", "actors", "ledger"):
        limit = cpu_goals.get(name)
        value = cpu.get(name)
        goal, ok = (f"<= {limit}", value is not None and value <= limit) if limit else ("", None)
        rows.append(_row("streams", f"CPU s/1k tokens: {name}", value, "cpu-s", None, goal, ok))
    for name in ("fake-llm", "bench-client", "postgres", "rabbitmq"):
        rows.append(_row("streams", f"CPU s/1k tokens: {name}", cpu.get(name), "cpu-s", bcpu.get(name)))
    for stage, ms in h.get("stages_ms", {}).items():
        rows.append(_row("streams", f"first token stage {stage} p99", ms.get("p99"), "ms"))
    rows.append(
        _row(
            "streams",
            "executions redelivered",
            h.get("redeliveries"),
            "executions",
            None,
            "== 0",
            h.get("redeliveries") == 0,
        )
    )
    for count, run in r.get("scaling", {}).items():
        per_k = run.get("cpu_s_per_1k_tokens") or {}
        label = f"{count} actors processes"
        rows.append(_row("streams", f"{label}: tokens delivered/s", run.get("tokens_per_s"), "tok/s"))
        rows.append(_row("streams", f"{label}: CPU s/1k tokens actors", per_k.get("actors"), "cpu-s"))
        rows.append(_row("streams", f"{label}: gap between deltas p99", run.get("gap_p99_ms"), "ms"))
    return rows


def _sockets(r: dict[str, Any]) -> list[dict[str, Any]]:
    h, b = r.get("hirebuddha", {}), r.get("baseline", {})
    k = h.get("sockets")
    per, bper = h.get("bytes_per_socket"), b.get("bytes_per_socket")
    proj = h.get("projected_rss_10k_mb")
    return [
        _row(
            "sockets",
            f"{k} idle sockets: KB per socket",
            per and round(per / 1024, 1),
            "KB",
            bper and round(bper / 1024, 1),
            "<= 20",
            per is not None and per / 1024 <= 20,
        ),
        _row(
            "sockets",
            f"web RSS with {k} sockets",
            h.get("rss_with_sockets_mb"),
            "MB",
            b.get("rss_with_sockets_mb"),
        ),
        _row(
            "sockets",
            "web RSS projected at 10,000 sockets",
            proj,
            "MB",
            b.get("projected_rss_10k_mb"),
            "<= 400",
            proj is not None and proj <= 400,
        ),
        _row("sockets", "sockets opened per second", h.get("opens_per_s"), "/s", b.get("opens_per_s")),
        _row(
            "sockets",
            "sockets still open after hold",
            h.get("open_after_hold"),
            "sockets",
            None,
            f"== {k}",
            h.get("open_after_hold") == k,
        ),
    ]


def _ledger(r: dict[str, Any]) -> list[dict[str, Any]]:
    from tools.bench.ledger import PACED_P99_GOAL_MS, TARGET_ENTRIES_PER_S

    lat, paced = r.get("event_to_entry_ms", {}), r.get("paced", {})
    own, plat = r.get("ledger_entries_per_s"), paced.get("event_to_entry_ms", {})
    return [
        _row("ledger", "flood: entries/s (first publish to last entry)", r.get("entries_per_s"), "/s"),
        _row(
            "ledger",
            "flood: ledger's sustained rate (first to last entry)",
            own,
            "/s",
            None,
            f">= {TARGET_ENTRIES_PER_S}",
            (own or 0) >= TARGET_ENTRIES_PER_S,
        ),
        _row("ledger", "flood: usage events published/s", r.get("publish_per_s"), "/s"),
        _row("ledger", "flood: usage events per broker message", r.get("events_per_message"), "events"),
        _row("ledger", "flood: ledger CPU per 1,000 entries", r.get("ledger_cpu_s_per_1k_entries"), "cpu-s"),
        _row("ledger", "flood: event-to-entry p50", lat.get("p50"), "ms"),
        _row("ledger", "flood: event-to-entry p99", lat.get("p99"), "ms"),
        _row(
            "ledger",
            f"flood: entries == events ({r.get('events')} events, 2 entries each)",
            r.get("entries"),
            "entries",
            None,
            f"== {2 * r.get('events', 0)}",
            r.get("entries_equal_events"),
        ),
        _row(
            "ledger",
            f"paced at {paced.get('target_entries_per_s')} entries/s: events published/s",
            paced.get("publish_per_s"),
            "/s",
        ),
        _row("ledger", "paced: usage events per broker message", paced.get("events_per_message"), "events"),
        _row("ledger", "paced: event-to-entry p50", plat.get("p50"), "ms"),
        _row(
            "ledger",
            "paced: event-to-entry p99",
            plat.get("p99"),
            "ms",
            None,
            f"<= {PACED_P99_GOAL_MS:g}",
            plat.get("p99", math.inf) <= PACED_P99_GOAL_MS,
        ),
        _row(
            "ledger",
            f"paced: entries == events ({paced.get('events')} events, 2 entries each)",
            paced.get("entries"),
            "entries",
            None,
            f"== {2 * (paced.get('events') or 0)}",
            paced.get("entries_equal_events"),
        ),
        *_ledger_backlog(r.get("backlog") or {}),
    ]


def _ledger_backlog(b: dict[str, Any]) -> list[dict[str, Any]]:
    """The backlog drain (tools/bench/ledger.py `_backlog`), when it ran."""
    if not b:
        return []
    rate, cpu = b.get("ledger_entries_per_s"), b.get("ledger_cpu_s_per_1k_entries")
    return [
        _row("ledger", "backlog: drain rate (ledger paused, then resumed)", rate, "/s"),
        _row("ledger", "backlog: ledger CPU per 1,000 entries", cpu, "cpu-s"),
        _row(
            "ledger",
            f"backlog: entries == events ({b.get('events')} events, 2 entries each)",
            b.get("entries"),
            "entries",
            None,
            f"== {2 * (b.get('events') or 0)}",
            b.get("entries_equal_events"),
        ),
    ]


def _rest(r: dict[str, Any]) -> list[dict[str, Any]]:
    lat = r.get("latency_ms", {})
    rate = r.get("target_rate")
    return [
        _row(
            "rest", f"GET {r.get('path')} achieved rate (target {rate:g}/s)", r.get("achieved_rate"), "req/s"
        ),
        _row("rest", "latency p50", lat.get("p50"), "ms"),
        _row(
            "rest",
            "latency p95",
            lat.get("p95"),
            "ms",
            None,
            "< 10 (at 500/s)",
            lat.get("p95", math.inf) < 10,
        ),
        _row("rest", "latency p99", lat.get("p99"), "ms"),
        _row("rest", "web CPU per request", r.get("web_cpu_ms_per_request"), "cpu-ms"),
        _row("rest", "all answered 200", r.get("requests"), "requests", None, "all 200", r.get("ok")),
    ]


BUILDERS = {"ttft": _ttft, "streams": _streams, "sockets": _sockets, "ledger": _ledger, "rest": _rest}


def figures(run: dict[str, Any]) -> list[dict[str, Any]]:
    """Every figure of the run as table rows."""
    return [row for name, result in run["results"].items() for row in BUILDERS[name](result)]


def _fmt(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return (
            f"{value:,.4f}" if abs(value) < 0.1 else f"{value:,.2f}" if abs(value) < 100 else f"{value:,.0f}"
        )
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def table(run: dict[str, Any]) -> str:
    """The human table: figure, Hirebuddha, floor (baseline), ratio, goal."""
    rows = run.get("figures") or figures(run)
    head = ("figure", "hirebuddha", "floor", "ratio", "unit", "goal")
    lines = [
        [
            r["scenario"] + ": " + r["figure"],
            _fmt(r["value"]),
            _fmt(r["floor"]),
            _fmt(r["ratio"]) + ("x" if r["ratio"] is not None else ""),
            r["unit"],
            (r["goal"] + {True: "  ok", False: "  MISSED"}.get(r["goal_met"], "  (no floor)"))
            if r["goal"]
            else "",
        ]
        for r in rows
    ]
    widths = [max(len(str(x)) for x in col) for col in zip(head, *lines, strict=False)]

    def fmt(cells: Any) -> str:
        out = [str(cells[0]).ljust(widths[0])]
        out += [str(c).rjust(w) for c, w in zip(cells[1:4], widths[1:4], strict=True)]
        out += [str(cells[4]).ljust(widths[4]), str(cells[5])]
        return "  ".join(out).rstrip()

    v = run["versions"]
    title = (
        f"hirebuddha bench ({'quick' if run['params']['quick'] else 'full'}), {run['cpu_count']} cores, "
        f"{run['duration_s']} s; python {v['python']}, litestar {v['litestar']}, faststream "
        f"{v['faststream']}, PostgreSQL {v['postgresql']}, RabbitMQ {v.get('rabbitmq')}; "
        f"fake LLM {run['params']['tokens_per_second']:g} tok/s, ttft {run['params']['ttft_ms']:g} ms; "
        "floor = baseline (no broker, no DB) in this run"
    )
    return "\n".join([title, fmt(head), fmt(["-" * w for w in widths]), *map(fmt, lines)])


def complete(run: dict[str, Any]) -> bool:
    """Every chat answered in full, every socket open, every event in the ledger, every GET 200."""
    checks = {
        "ttft": "completed",
        "streams": "all tokens delivered",
        "sockets": "still open",
        "ledger": "entries == events",
        "rest": "all answered",
    }
    rows = run.get("figures") or figures(run)
    return all(r["goal_met"] for r in rows if checks[r["scenario"]] in r["figure"])
