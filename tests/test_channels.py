"""Telegram and WhatsApp: verified webhooks become turns of one session per chat, the reply
goes back through the channel's send API (real HTTP fakes that record what they got), split
as the channel requires, retried; forged webhooks are refused, replays processed once
(docs/channels.md "Telegram and WhatsApp")."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import uuid
from collections.abc import AsyncIterator

import httpx
import pytest
import websockets

from helpers.api import ApiUser, register
from helpers.channel_fakes import ChannelApi
from helpers.chat_fixtures import fake_agent
from helpers.eventually import eventually
from helpers.platform import Platform, fake_reply, running_platform
from runtime import db
from runtime.channels import split

BOT_TOKEN = "123456789:AAE-test_token_for_the_fake_api_0001"


@pytest.fixture(scope="module", name="platform")
async def channel_platform(database, fake_llm, telegram_api, whatsapp_api) -> AsyncIterator[Platform]:
    """Web and actors whose Telegram and WhatsApp APIs are the fakes."""
    urls = {"HB_TELEGRAM_API_URL": telegram_api.base_url, "HB_WHATSAPP_API_URL": whatsapp_api.base_url}
    saved = {k: os.environ.get(k) for k in urls}
    os.environ.update(urls)  # the processes started below inherit them
    try:
        async with running_platform(fake_llm, 1) as running:
            yield running
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


@pytest.fixture(name="admin")
async def admin_fixture(platform: Platform) -> AsyncIterator[ApiUser]:
    async with httpx.AsyncClient(base_url=platform.base_url, timeout=30) as client:
        yield await register(client)


def telegram_update(update_id: int, chat_id: int, text: str) -> dict:
    return {
        "update_id": update_id,
        "message": {
            "message_id": update_id,
            "date": 1764547200,
            "chat": {"id": chat_id, "type": "private"},
            "from": {"id": chat_id, "first_name": "Alice", "username": "alice"},
            "text": text,
        },
    }


def whatsapp_payload(message_id: str, wa_id: str, text: str) -> bytes:
    value = {
        "messaging_product": "whatsapp",
        "metadata": {"phone_number_id": "1065550000"},
        "contacts": [{"wa_id": wa_id, "profile": {"name": "Bob"}}],
        "messages": [
            {
                "from": wa_id,
                "id": message_id,
                "timestamp": "1764547200",
                "type": "text",
                "text": {"body": text},
            }
        ],
    }
    body = {
        "object": "whatsapp_business_account",
        "entry": [{"id": "1", "changes": [{"field": "messages", "value": value}]}],
    }
    return json.dumps(body).encode()


def sign(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


async def sent_to(api: ChannelApi, chat: str, count: int) -> list[str]:
    """The texts the fake API received for `chat`, once there are `count` of them."""

    def mine() -> list[str]:
        return [
            (s["text"] if isinstance(s["text"], str) else s["text"]["body"])
            for s in api.sent
            if str(s.get("chat_id", s.get("to"))) == chat
        ]

    await eventually(lambda: len(mine()) >= count, what=f"{count} messages to {chat}", timeout=30)
    return mine()


async def test_telegram_forged_refused_turn_answered_replay_processed_once(platform, admin, telegram_api):
    agent = await fake_agent(admin)
    r = await admin.post(
        "/api/v1/channels",
        json={"kind": "telegram", "agent_id": agent["id"], "name": "Support bot", "bot_token": BOT_TOKEN},
    )
    assert r.status_code == 201, r.text
    channel = r.json()
    secret, url = channel["secret_token"], channel["webhook_path"]
    assert url == f"/api/v1/channels/{channel['id']}/telegram" and secret
    listed = (await admin.get("/api/v1/channels")).json()
    assert BOT_TOKEN not in json.dumps(listed) and secret not in json.dumps(listed)
    async with db.scope(system=True):
        stored = (
            await db.fetchrow("SELECT credentials FROM channels WHERE id = $1", uuid.UUID(channel["id"]))
        )["credentials"]
    assert BOT_TOKEN not in stored and secret not in stored  # encrypted at rest

    chat = 424242 + uuid.uuid4().int % 1000
    update = telegram_update(7001, chat, "[[reply:5]]")
    async with httpx.AsyncClient(base_url=platform.base_url) as client:
        for headers in ({}, {"X-Telegram-Bot-Api-Secret-Token": "wrong-secret"}):
            forged = await client.post(url, json=update, headers=headers)
            assert forged.status_code == 401 and forged.json()["code"] == "channel_signature_invalid"
        good = {"X-Telegram-Bot-Api-Secret-Token": secret}
        first = await client.post(url, json=update, headers=good)
        assert first.status_code == 200 and first.json()["accepted"] == 1, first.text
        assert (await sent_to(telegram_api, str(chat), 1)) == [fake_reply(5).strip()]
        assert telegram_api.paths[-1] == f"bot{BOT_TOKEN}"
        replay = await client.post(url, json=update, headers=good)
        assert replay.status_code == 200 and replay.json() == {"accepted": 0, "duplicates": 1, "refused": 0}
        # A second message of the same chat continues the same session.
        second = await client.post(url, json=telegram_update(7002, chat, "[[reply:3]]"), headers=good)
        assert second.json()["accepted"] == 1
        assert len(await sent_to(telegram_api, str(chat), 2)) == 2
        unknown = await client.post(f"/api/v1/channels/{uuid.uuid4()}/telegram", json=update, headers=good)
        assert unknown.status_code == 404 and unknown.json()["code"] == "not_found"
    sessions = [
        s for s in (await admin.get("/api/v1/sessions")).json() if s["title"] == "Support bot · alice"
    ]
    assert len(sessions) == 1  # one session per chat
    messages = (await admin.get(f"/api/v1/sessions/{sessions[0]['id']}/messages")).json()
    assert [m["role"] for m in messages] == [
        "user",
        "assistant",
        "user",
        "assistant",
    ]  # the replay added nothing


async def test_whatsapp_verify_signature_long_reply_split_and_retried(platform, admin, whatsapp_api):
    agent = await fake_agent(admin)
    body = {
        "kind": "whatsapp",
        "agent_id": agent["id"],
        "name": "WhatsApp desk",
        "phone_number_id": "1065550000",
        "access_token": "EAAG-test-access-token",
        "app_secret": "app-secret-of-the-test",
    }
    r = await admin.post("/api/v1/channels", json=body)
    assert r.status_code == 201, r.text
    channel = r.json()
    url, verify = channel["webhook_path"], channel["verify_token"]
    wa_id = f"4915{uuid.uuid4().int % 10**9:09d}"
    async with httpx.AsyncClient(base_url=platform.base_url) as client:
        ok = await client.get(
            url, params={"hub.mode": "subscribe", "hub.verify_token": verify, "hub.challenge": "1158201444"}
        )
        assert ok.status_code == 200 and ok.text == "1158201444"
        bad = await client.get(
            url, params={"hub.mode": "subscribe", "hub.verify_token": "nope", "hub.challenge": "1"}
        )
        assert bad.status_code == 403 and bad.json()["code"] == "channel_verify_failed"
        payload = whatsapp_payload(f"wamid.{uuid.uuid4().hex}", wa_id, "[[reply:800]]")
        for signature in (None, sign("another-secret", payload), "sha256=" + "0" * 64):
            headers = {"content-type": "application/json"} | (
                {"X-Hub-Signature-256": signature} if signature else {}
            )
            forged = await client.post(url, content=payload, headers=headers)
            assert forged.status_code == 401 and forged.json()["code"] == "channel_signature_invalid"
        whatsapp_api.failures = whatsapp_api.calls + 2  # the next two sends fail: retried
        headers = {
            "content-type": "application/json",
            "X-Hub-Signature-256": sign(body["app_secret"], payload),
        }
        first = await client.post(url, content=payload, headers=headers)
        assert first.status_code == 200 and first.json()["accepted"] == 1, first.text
        replay = await client.post(url, content=payload, headers=headers)
        assert replay.json()["duplicates"] == 1
    parts = await sent_to(whatsapp_api, wa_id, 2)
    full = fake_reply(800).strip()
    assert len(full) > 4096 and all(len(p) <= 4096 for p in parts)
    assert " ".join(parts) == full and len(parts) == 2  # split at a word boundary, nothing lost
    assert whatsapp_api.headers[-1]["authorization"] == "Bearer EAAG-test-access-token"


def test_split_respects_the_limit_and_prefers_boundaries():
    assert split("short", 4096) == ["short"]
    text = ("word " * 2000).strip()
    parts = split(text, 4096)
    assert all(len(p) <= 4096 for p in parts) and " ".join(parts) == text
    assert split("x" * 9000, 4096) == ["x" * 4096, "x" * 4096, "x" * 808]  # no boundary: hard cut
    lines = "\n".join(f"line {i}" for i in range(1500))
    assert all(not p.startswith("\n") for p in split(lines, 4096))


async def test_malformed_but_genuine_webhooks_are_answered_without_a_turn(platform, admin):
    agent = await fake_agent(admin)
    r = await admin.post(
        "/api/v1/channels",
        json={"kind": "telegram", "agent_id": agent["id"], "name": "Odd bot", "bot_token": BOT_TOKEN},
    )
    channel = r.json()
    headers = {"X-Telegram-Bot-Api-Secret-Token": channel["secret_token"], "content-type": "application/json"}
    odd = [
        b"[]",
        b'"text"',
        b'{"update_id": "x", "message": {"text": "hi", "chat": {"id": 1}}}',
        b'{"update_id": 5, "message": {"text": 7, "chat": {"id": 1}}}',
        b'{"update_id": 6, "message": {"text": "hi", "chat": "nope"}}',
        b'{"update_id": 7, "edited_message": {"text": "hi", "chat": {"id": 1}}}',
        b'{"update_id": 8, "message": []}',
        b'{"update_id": 9, "message": {"text": "\\u0000", "chat": {"id": 1}}}',
    ]
    async with httpx.AsyncClient(base_url=platform.base_url) as client:
        for body in odd:
            answer = await client.post(channel["webhook_path"], content=body, headers=headers)
            assert answer.status_code == 200 and answer.json()["accepted"] == 0, (body, answer.text)
        nul = telegram_update(10, 9, "hi\x00there")
        nul["message"]["from"]["username"] = "a\x00b"
        answer = await client.post(channel["webhook_path"], json=nul, headers=headers)
        assert answer.status_code == 200 and answer.json()["accepted"] == 1, answer.text
        broken = await client.post(channel["webhook_path"], content=b"{", headers=headers)
        assert broken.status_code == 400 and broken.json()["code"] == "bad_json"
    async with websockets.connect(
        f"{platform.ws_base}/widgets/wk_nope/ws", additional_headers={"Origin": "https://x.example"}
    ) as ws:
        frame = json.loads(await ws.recv())
        assert frame["code"] == "not_found"
        await ws.wait_closed()
        assert ws.close_code == 4404


def test_whatsapp_payload_shapes_are_read_defensively():
    from runtime.channels import inbound_text

    for payload in (
        {"entry": "x"},
        {"entry": [{"changes": [{"value": {"messages": ["x", {"type": "text"}]}}]}]},
        None,
    ):
        assert inbound_text("whatsapp", payload) == []
    value = {"messages": [{"from": "49", "id": "wamid.1", "type": "text", "text": {"body": "hi"}}]}
    assert inbound_text("whatsapp", {"entry": [{"changes": [{"value": value}]}]}) == [
        ("wa:wamid.1", "49", "49", "hi")
    ]
