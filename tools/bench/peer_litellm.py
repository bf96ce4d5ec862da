"""The LiteLLM proxy as a peer: installed into a virtualenv of its own, started with one
worker and no database, routing one model to our fake LLM.

Never installed into the project's environment: `.hirebuddha/peers/litellm` (git-ignored)
holds its own venv, created on first use by `make bench-peers` (network needed once). Its
startup is kept off the network too: the model cost map is the packaged copy.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import os
import secrets
import signal
import subprocess
import sys
from pathlib import Path

from tools.bench.stack import Proc, Stack, StartError, free_port

VERSION = "1.108.7"
"""The release the issue compares against (PyPI has it; 1.107.x was pulled)."""
ROOT = Path(__file__).resolve().parents[2]
VENV = ROOT / ".hirebuddha" / "peers" / "litellm"
MODEL = "bench-fake"


def _bin(name: str) -> Path:
    return VENV / "bin" / name


def installed_version() -> str | None:
    """The LiteLLM version in the peer venv, or None when it is not installed."""
    if not _bin("python").exists():
        return None
    done = subprocess.run(  # noqa: S603 - our own venv's interpreter, fixed arguments
        [str(_bin("python")), "-c", "from importlib.metadata import version; print(version('litellm'))"],
        capture_output=True,
        text=True,
        check=False,
    )
    return done.stdout.strip() or None if done.returncode == 0 else None


def install(version: str = VERSION) -> str:
    """Create the peer venv and install `litellm[proxy]==version` unless it is there."""
    if installed_version() == version:
        return version
    if not _bin("python").exists():
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)  # noqa: S603
    subprocess.run(  # noqa: S603 - fixed arguments, pinned version
        [str(_bin("pip")), "install", "-q", f"litellm[proxy]=={version}"], check=True
    )
    got = installed_version()
    if got != version:
        raise StartError(f"litellm {version} did not install into {VENV} (found {got})")
    return got


MASTER_KEY = "sk-bench-" + secrets.token_hex(16)
"""The proxy refuses to start without one; with no database, it is the only key it accepts."""


def _config(llm_url: str) -> str:
    """One model, routed to the fake LLM as an OpenAI-compatible endpoint; nothing else on."""
    return (
        "model_list:\n"
        f"  - model_name: {MODEL}\n"
        "    litellm_params:\n"
        f"      model: openai/{MODEL}\n"
        f"      api_base: {llm_url}\n"
        "      api_key: bench-key\n"
        "litellm_settings:\n"
        "  drop_params: true\n"
        "  telemetry: false\n"
        "general_settings:\n"
        f"  master_key: {MASTER_KEY}\n"
    )


def _die_with_parent() -> None:
    """In the child before exec: SIGTERM when the bench dies (no orphan proxy)."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def _spawn(workdir: Path, config: Path, port: int, env: dict[str, str]) -> Proc:
    log = workdir / "litellm.log"
    with log.open("wb") as out:
        popen = subprocess.Popen(  # noqa: S603 - the peer venv's own entry point
            [str(_bin("litellm")), "--config", str(config), "--host", "127.0.0.1", "--port", str(port)]
            + ["--num_workers", "1"],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=workdir,
            preexec_fn=_die_with_parent,  # noqa: PLW1509 - only a prctl between fork and exec
        )
    return Proc("litellm", popen, log)


async def start(stack: Stack, llm_url: str) -> str:
    """Start the proxy (one worker, no database, a master key) as one of the stack's
    processes; returns its base URL (ending in /v1)."""
    config = stack.workdir / "litellm.yaml"
    config.write_text(_config(llm_url))
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_URL", "HB_", "LITELLM_"))}
    env |= {"LITELLM_LOCAL_MODEL_COST_MAP": "True", "LITELLM_LOG": "ERROR", "NO_DOCKER": "1"}
    proc = _spawn(stack.workdir, config, port, env)
    stack.procs["litellm"] = proc
    base = f"http://127.0.0.1:{port}"
    await stack.wait_http(proc, f"{base}/health/liveliness", limit_s=180)
    return f"{base}/v1"


def process_tree(pid: int) -> list[int]:
    """`pid` and its descendants (a proxy may fork workers): CPU is charged to all of them."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError, IndexError, ValueError):
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            children.setdefault(ppid, []).append(int(entry.name))
    tree, todo = [], [pid]
    while todo:
        current = todo.pop()
        tree.append(current)
        todo.extend(children.get(current, []))
    return tree


async def warm(base_url: str) -> None:
    """One chat through the proxy, so its first-request setup is not in any figure."""
    from tools.bench.peer_client import HttpChat

    chat = await HttpChat.open(base_url, MODEL, MASTER_KEY)
    try:
        result = await chat.chat("[[reply:3]] warm up", within=60)
    finally:
        await chat.close()
    if not result.ok:
        raise StartError(f"litellm proxy did not answer a chat: {result.error}")
    await asyncio.sleep(0)
