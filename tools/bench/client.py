"""The bench's clients: REST setup through the public API, a chat WebSocket, a raw HTTP/1.1 GET.

Everything is created the way a user would: the app admin logs in and sets rates and the
tenant's concurrency limit, a tenant registers, creates an agent and opens sessions.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from dataclasses import dataclass, field
from typing import Any

import httpx
import msgspec

from tools.bench import wsclient
from tools.bench.stack import ADMIN_PASSWORD
from tools.bench.wsclient import LeanWebSocket

API = "/api/v1"
MODEL = "bench-fake"
PASSWORD = "bench tenant password 1"
_decode = msgspec.json.Decoder().decode
_encode = msgspec.json.Encoder().encode


class SetupError(RuntimeError):
    """A setup call through the API did not answer as the contract says."""


def _expect(response: httpx.Response, status: int) -> Any:
    if response.status_code != status:
        raise SetupError(
            f"{response.request.method} {response.request.url.path}: "
            f"{response.status_code} {response.text[:500]}"
        )
    return response.json()


@dataclass
class Tenant:
    """A registered tenant with its admin's credentials, an agent and chat sessions."""

    http: httpx.AsyncClient
    email: str
    token: str
    tenant_id: str
    agent_id: str = ""
    sessions: list[str] = field(default_factory=list)

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    async def login(self) -> str:
        """A fresh access token (they last 15 minutes; a full run is longer)."""
        body = _expect(
            await self.http.post(f"{API}/auth/login", json={"email": self.email, "password": PASSWORD}), 200
        )
        self.token = body["access_token"]
        return self.token

    async def create_agent(self, max_tokens: int) -> str:
        body = {
            "name": "Bench",
            "role": "You answer.",
            "llm_config": {"provider": "openai", "model": MODEL, "max_tokens": max_tokens},
        }
        self.agent_id = _expect(await self.http.post(f"{API}/agents", json=body, headers=self.headers), 201)[
            "id"
        ]
        return self.agent_id

    async def open_sessions(self, count: int, parallel: int = 16) -> list[str]:
        """Make sure at least `count` sessions exist; returns the first `count`."""
        gate = asyncio.Semaphore(parallel)

        async def one() -> str:
            async with gate:
                r = await self.http.post(
                    f"{API}/sessions", json={"agent_id": self.agent_id}, headers=self.headers
                )
                return str(_expect(r, 201)["id"])

        missing = count - len(self.sessions)
        if missing > 0:
            self.sessions += await asyncio.gather(*(one() for _ in range(missing)))
        return self.sessions[:count]


async def setup_tenant(base_url: str, admin_email: str, max_concurrency: int, max_tokens: int) -> Tenant:
    """Rates for the bench model, a tenant allowed `max_concurrency` executions, its agent."""
    http = httpx.AsyncClient(base_url=base_url, timeout=60, limits=httpx.Limits(max_connections=32))
    admin = _expect(
        await http.post(f"{API}/auth/login", json={"email": admin_email, "password": ADMIN_PASSWORD}), 200
    )
    admin_headers = {"Authorization": f"Bearer {admin['access_token']}"}
    rates = {"input_tokens": ("0.0005", "0.001"), "output_tokens": ("0.0015", "0.003")}
    for resource, (cost, billing) in rates.items():
        rate = {
            "model": MODEL,
            "resource_type": resource,
            "unit": "1k_tokens",
            "cost_rate": cost,
            "billing_rate": billing,
        }
        existing = _expect(await http.get(f"{API}/admin/rates", headers=admin_headers), 200)
        if not any(r["model"] == MODEL and r["resource_type"] == resource for r in existing):
            _expect(await http.post(f"{API}/admin/rates", json=rate, headers=admin_headers), 201)
    # Agents may only name an active catalog model (priced above, so it may be active).
    models = _expect(await http.get(f"{API}/admin/models", headers=admin_headers), 200)
    if not any(m["model_key"] == MODEL for m in models):
        model = {
            "model_key": MODEL,
            "model_name": "Bench (fake LLM)",
            "provider": "openai",
            "context_window": 131072,
            "max_output_tokens": 16384,
        }
        _expect(await http.post(f"{API}/admin/models", json=model, headers=admin_headers), 201)
    email = f"bench-{secrets.token_hex(5)}@example.org"
    body = _expect(
        await http.post(
            f"{API}/auth/register", json={"email": email, "password": PASSWORD, "full_name": "Bench Tenant"}
        ),
        201,
    )
    tenant = Tenant(http, email, body["access_token"], body["tenant"]["id"])
    # The bench sends thousands of requests an hour: lift the free tier's hourly limits on
    # the bench's own platform (docs/limits.md; its concurrency is set per tenant below).
    _expect(
        await http.patch(
            f"{API}/admin/tiers/free",
            json={"requests_per_hour": None, "api_calls_per_hour": None},
            headers=admin_headers,
        ),
        200,
    )
    _expect(
        await http.patch(
            f"{API}/admin/tenants/{tenant.tenant_id}",
            json={"max_concurrency": max_concurrency},
            headers=admin_headers,
        ),
        200,
    )
    await tenant.create_agent(max_tokens)
    return tenant


@dataclass
class Chat:
    """What one message's answer looked like at the client (perf_counter seconds)."""

    sent: float
    first_delta: float | None = None
    done: float | None = None
    deltas: list[float] = field(default_factory=list)
    text: str = ""
    final: str = ""
    error: str = ""
    execution: str | None = None

    @property
    def ok(self) -> bool:
        return self.final == "execution.completed" and not self.error

    def gaps_ms(self) -> list[float]:
        """Milliseconds between consecutive deltas."""
        return [(b - a) * 1000 for a, b in zip(self.deltas, self.deltas[1:], strict=False)]


class _Frame(msgspec.Struct):
    """The fields of a server frame the bench reads (the rest are skipped while decoding)."""

    type: str = ""
    execution_id: str | None = None
    text: str = ""
    code: str | None = None
    message: str | None = None
    error: Any = None


_decode_frame = msgspec.json.Decoder(_Frame).decode


class ChatSocket:
    """An authenticated chat WebSocket (first-frame auth, then `ready`), on the bench's lean
    client (tools/bench/wsclient.py): frames are handled as they are read, no await each."""

    def __init__(self, ws: LeanWebSocket) -> None:
        self.ws = ws

    @classmethod
    async def open(cls, url: str, token: str, within: float = 30) -> ChatSocket:
        ws = await wsclient.connect(url, within)
        ready: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()

        def first(message: bytes, at: float) -> None:
            if not ready.done():
                ready.set_result(message)

        ws.handler = first
        try:
            ws.send_text(_encode({"type": "auth", "token": token}))
            async with asyncio.timeout(within):
                waits: list[asyncio.Future[Any]] = [ready, ws.closed]
                done, _ = await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
            if ready not in done:
                raise SetupError("the chat socket closed before it was ready")
            frame = _decode(ready.result())
        except BaseException:
            await ws.close()
            raise
        if frame.get("type") != "ready":
            await ws.close()
            raise SetupError(f"expected a ready frame, got {frame}")
        return cls(ws)

    @property
    def is_open(self) -> bool:
        return self.ws.is_open

    async def close(self) -> None:
        await self.ws.close()

    async def chat(self, content: str, within: float = 120) -> Chat:
        """Send one message; collect its deltas until the final frame."""
        result = Chat(sent=time.perf_counter())
        finished: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        parts: list[str] = []

        def on_frame(message: bytes, now: float) -> None:
            if finished.done():
                return
            frame = _decode_frame(message)
            kind = frame.type
            if kind == "error":
                result.error = f"{frame.code}: {frame.message}"
                finished.set_result(None)
                return
            if kind == "execution.started" and result.execution is None:
                result.execution = frame.execution_id
            if frame.execution_id != result.execution:
                return
            if kind == "delta":
                if result.first_delta is None:
                    result.first_delta = now
                result.deltas.append(now)
                parts.append(frame.text)
            elif kind in ("execution.completed", "execution.failed", "execution.cancelled"):
                result.done, result.final = now, kind
                if kind != "execution.completed":
                    result.error = str(frame.error or kind)
                finished.set_result(None)

        self.ws.handler = on_frame
        self.ws.send_text(_encode({"type": "message", "content": content, "client_id": secrets.token_hex(8)}))
        try:
            async with asyncio.timeout(within):
                await asyncio.wait([finished, self.ws.closed], return_when=asyncio.FIRST_COMPLETED)
            if not finished.done():
                result.error = "closed"
        except TimeoutError:
            result.error = "timeout"
        finally:
            result.text = "".join(parts)
        return result


class RawHttp:
    """A keep-alive HTTP/1.1 connection sending one GET at a time (a lean load generator)."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    @classmethod
    async def open(cls, host: str, port: int) -> RawHttp:
        return cls(*await asyncio.open_connection(host, port))

    async def get(self, request: bytes) -> int:
        """Send a prepared request; read the response; return its status."""
        self.writer.write(request)
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        if length:
            await self.reader.readexactly(length)
        return status

    def close(self) -> None:
        self.writer.close()


def get_request(host: str, port: int, path: str, token: str) -> bytes:
    """Bytes of a GET with a bearer token."""
    return (
        f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nAuthorization: Bearer {token}\r\n"
        "Accept: application/json\r\n\r\n"
    ).encode()
