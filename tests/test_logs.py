"""Every process logs JSON lines through one formatter (runtime/logs.py), with the ids of the
work that wrote them: the web's request id (tests/test_health.py), the actors' execution id."""

from __future__ import annotations

import json
import logging
import re
import sys
import uuid

from conftest import Process
from helpers.api import ApiUser
from helpers.chat_fixtures import open_session, priced_fake_agent
from helpers.ledger import start_ledger_process
from helpers.platform import Platform, chat
from runtime.logs import JsonFormatter, execution_id

# What the processes print for `up` and the tests (stdout), not log lines.
READY = ("actors ready", "ledger consumer ready")


def json_lines(proc: Process) -> list[dict]:
    """Every line the process logged, parsed; fails on a line that is neither JSON nor READY."""
    lines = [x for x in proc.output().splitlines() if x.strip() and not x.startswith(READY)]
    bad = [x for x in lines if not x.startswith("{")]
    assert not bad, f"non-JSON log lines: {bad[:5]}"
    return [json.loads(x) for x in lines]


async def test_actors_and_ledger_log_json_lines_and_name_the_execution(platform: Platform, admin: ApiUser):
    bot = await priced_fake_agent(admin)  # the ledger started below records its usage
    session = await open_session(admin, bot["id"])
    async with chat(platform, session, admin.token) as ws:
        # One provider 500 before the answer: the actor logs a retry warning inside the run.
        execution_id = await ws.message(f"[[flaky:1]] {uuid.uuid4().hex}")
        assert (await ws.reply(execution_id))["type"] == "execution.completed"
    lines = [line for proc in platform.actors for line in json_lines(proc)]
    mine = [x for x in lines if x.get("execution_id") == execution_id]
    assert any(x["level"] == "warning" and "retrying" in x["msg"] for x in mine), lines[-10:]

    ledger = await start_ledger_process(env={"HB_AMQP_PREFIX": platform.env["HB_AMQP_PREFIX"]})
    ledger.stop()
    assert any(x["logger"].startswith("hirebuddha") for x in json_lines(ledger))


def test_a_line_is_one_json_object_with_its_time_ids_extras_and_traceback():
    """The formatter alone: an extra msgspec cannot encode is written as its str, the time
    is UTC to the millisecond, the ids of the running work and a traceback are fields."""

    class Opaque:
        def __str__(self) -> str:
            return "opaque!"

    formatter = JsonFormatter()
    token = execution_id.set("exec-1")
    try:
        try:
            raise ValueError("boom")
        except ValueError:
            record = logging.LogRecord(
                "hirebuddha.t", logging.ERROR, __file__, 1, "n=%d", (3,), sys.exc_info()
            )
        record.__dict__.update({"tenant": uuid.UUID(int=5), "thing": Opaque(), "count": 7})
        line = json.loads(formatter.format(record))
        again = json.loads(formatter.format(record))  # the cached second gives the same stamp
    finally:
        execution_id.reset(token)
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", line["ts"]), line["ts"]
    assert line["ts"] == again["ts"]
    assert (line["level"], line["logger"], line["msg"]) == ("error", "hirebuddha.t", "n=3")
    assert line["execution_id"] == "exec-1"
    assert (line["tenant"], line["thing"], line["count"]) == (str(uuid.UUID(int=5)), "opaque!", 7)
    assert "ValueError: boom" in line["exc"]
