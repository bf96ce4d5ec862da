"""Percentiles and per-process counters read from /proc (CPU seconds, resident memory)."""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from dataclasses import dataclass

_TICKS = os.sysconf("SC_CLK_TCK")


def percentile(values: Sequence[float], pct: float) -> float:
    """Nearest-rank percentile of `values` (NaN when there are none)."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(1, math.ceil(pct / 100 * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


def summary(values: Sequence[float], pcts: Sequence[float] = (50, 90, 99)) -> dict[str, float]:
    """`{"n", "p50", ..., "max", "mean"}` of `values`, rounded to 3 decimals."""
    out: dict[str, float] = {"n": len(values)}
    for pct in pcts:
        out[f"p{pct:g}"] = round(percentile(values, pct), 3)
    out["max"] = round(max(values), 3) if values else math.nan
    out["mean"] = round(sum(values) / len(values), 3) if values else math.nan
    return out


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time the process has used so far (/proc/<pid>/stat)."""
    with open(f"/proc/{pid}/stat") as fh:
        # The command name (field 2) may contain spaces: split after its closing ")".
        fields = fh.read().rsplit(")", 1)[1].split()
    utime, stime = int(fields[11]), int(fields[12])  # fields 14 and 15 of proc(5)
    return (utime + stime) / _TICKS


def rss_bytes(pid: int) -> int:
    """Resident set size of the process (VmRSS of /proc/<pid>/status)."""
    with open(f"/proc/{pid}/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError(f"no VmRSS for pid {pid}")


SERVICES = {"postgres": ("postgres",), "rabbitmq": ("beam.smp", "erl_child_setup", "inet_gethost")}
"""The machine's shared services by process name (/proc/<pid>/comm): what a chat costs
them is part of its cost (a bench runs alone on its machine, so all of theirs is ours)."""


def service_pids() -> dict[str, list[int]]:
    """Pids of the processes of each of `SERVICES` running now."""
    found: dict[str, list[int]] = {name: [] for name in SERVICES}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/comm") as fh:
                comm = fh.read().strip()
        except OSError:  # gone since the listing
            continue
        for name, comms in SERVICES.items():
            if comm in comms:
                found[name].append(int(entry))
    return found


@dataclass
class CpuMeter:
    """CPU seconds used by named groups of processes between `start()` and `stop()`.

    With `services`, PostgreSQL and RabbitMQ are groups too, read per pid: a process that
    starts in between counts from zero, one that exits in between loses what it used
    after the first reading (pooled connections live through a scenario, so ~nothing).
    """

    pids: dict[str, int] | dict[str, list[int]]
    """One pid or several (e.g. every actors process) per name."""
    services: bool = False

    def _read(self) -> dict[str, dict[int, float]]:
        groups: dict[str, list[int]] = {
            name: [pids] if isinstance(pids, int) else list(pids) for name, pids in self.pids.items()
        }
        if self.services:
            groups.update(service_pids())
        readings: dict[str, dict[int, float]] = {}
        for name, pids in groups.items():
            readings[name] = {}
            for pid in pids:
                try:
                    readings[name][pid] = cpu_seconds(pid)
                except OSError:
                    if name not in SERVICES:  # one of ours died: that is an error to see
                        raise
        return readings

    def start(self) -> None:
        """Take the first reading."""
        self._before = self._read()

    def stop(self) -> dict[str, float]:
        """CPU seconds per group since `start()`."""
        return {
            name: sum(s - self._before.get(name, {}).get(pid, 0.0) for pid, s in pids.items())
            for name, pids in self._read().items()
        }


def ratio(value: float, floor: float) -> float:
    """value / floor, NaN when the floor is not positive."""
    if not floor or floor <= 0 or math.isnan(floor) or math.isnan(value):
        return math.nan
    return round(value / floor, 2)
