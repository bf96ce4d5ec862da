"""The floor: a minimal chat WebSocket that calls the fake LLM directly (no broker, no database).

Same frames as the real chat socket (docs/contract.md): an `auth` first frame (accepted without a
lookup: authentication is outside the measured path), then `ready`; each `message` gets
`execution.started`, one `delta` per streamed token and `execution.completed` with usage.
The fake LLM is called the way the actors call it (`OpenAIProvider`: the SDK makes the
request, msgspec parses the stream), with nothing else in between.
It runs in its own process (`python -m tools.bench.baseline`), like the web process, so
its CPU is measured the same way.
"""

from __future__ import annotations

import argparse
import asyncio
import uuid
from typing import Any, cast

import msgspec
import uvicorn
from litestar import Litestar, WebSocket, get, websocket

from actors.providers.openai_compat import OpenAIProvider
from runtime.messages import Usage

_encode = msgspec.json.Encoder().encode
_decode = msgspec.json.Decoder().decode


async def _answer(socket: WebSocket, llm: OpenAIProvider, model: str, content: str) -> None:
    execution_id = str(uuid.uuid4())
    await socket.send_text(_encode({"type": "execution.started", "execution_id": execution_id}).decode())
    seq, parts, usage = 0, [], {"input_tokens": 0, "output_tokens": 0}
    async for item in llm.stream([{"role": "user", "content": content}], model):
        if isinstance(item, Usage):
            usage = {"input_tokens": item.input_tokens, "output_tokens": item.output_tokens}
            continue
        if not isinstance(item, str):  # a tool call: the baseline offers no tools
            continue
        seq += 1
        parts.append(item)
        frame = {"type": "delta", "execution_id": execution_id, "seq": seq, "text": item}
        await socket.send_text(_encode(frame).decode())
    done = {
        "type": "execution.completed",
        "execution_id": execution_id,
        "text": "".join(parts),
        "usage": usage,
    }
    await socket.send_text(_encode(done).decode())


def create_app(llm_url: str, model: str = "fake") -> Litestar:
    """The baseline app: `GET /health` and the chat socket `/ws`."""
    # The same lean client the actors use (SSE parsed with msgspec): the floor is a direct
    # call done as cheaply as we know how, so it hides none of the runtime's own cost.
    llm = OpenAIProvider(llm_url, "bench-key")
    tasks: set[asyncio.Task[None]] = set()

    @get("/health")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    @websocket("/ws")
    async def chat(socket: WebSocket) -> None:
        await socket.accept()
        first: dict[str, Any] = _decode(await socket.receive_text())
        if first.get("type") != "auth":
            await socket.close(code=4401)
            return
        await socket.send_text(_encode({"type": "ready"}).decode())
        while True:
            event = await socket.receive()
            if event["type"] == "websocket.disconnect":
                return
            raw = cast(str | bytes, event.get("text") or event.get("bytes") or b"{}")
            frame: dict[str, Any] = _decode(raw)
            if frame.get("type") == "message":
                task = asyncio.create_task(_answer(socket, llm, model, str(frame.get("content", ""))))
                tasks.add(task)
                task.add_done_callback(tasks.discard)

    return Litestar([health, chat], debug=False)


def main(argv: list[str] | None = None) -> None:
    """`python -m tools.bench.baseline --port N --llm URL`."""
    parser = argparse.ArgumentParser(prog="tools.bench.baseline", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--llm", required=True, help="base URL of the fake LLM (ending in /v1)")
    parser.add_argument("--model", default="fake")
    args = parser.parse_args(argv)
    uvicorn.run(
        create_app(args.llm, args.model),
        host=args.host,
        port=args.port,
        log_level="warning",
        access_log=False,
        ws_max_size=1 << 20,
        # The chat socket stack the web process runs (runtime/cli.py `cmd_web`), so the floor
        # pays no more per frame than we do: our sans-I/O protocol, no per-message deflate
        # (a negotiating client made the floor compress every delta), no server pings.
        ws="web.chat.wsprotocol:LeanWebSocketProtocol",
        ws_per_message_deflate=False,
        ws_ping_interval=None,
    )


if __name__ == "__main__":
    main()
