"""Knowledge end to end: uploads of every type ingested by the actors over RabbitMQ, hybrid
search scoped to tenant and agent, agents that call `knowledge_search` over a real tool-call
round trip and answer with citations, deletion, and ingestion beside a streaming chat."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import httpx
import pytest

from helpers.api import ApiUser, agent, register
from helpers.chat_fixtures import fake_agent, open_session
from helpers.fake_llm import FakeLLM
from helpers.knowledge import docx_of, ingested, pdf_of, search, upload, uploaded
from helpers.platform import Platform, UsageTap, chat, fake_reply, running_platform

MAX_BYTES = 2 * 1024 * 1024


@pytest.fixture(scope="module", name="platform")
async def knowledge_platform(database: str, fake_llm: FakeLLM) -> AsyncIterator[Platform]:
    """Web plus one actors process, uploads limited to 2 MiB."""
    async with running_platform(fake_llm, 1, env={"HB_MAX_DOCUMENT_BYTES": str(MAX_BYTES)}) as running:
        yield running


@pytest.fixture(name="admin")
async def admin_fixture(platform: Platform) -> AsyncIterator[ApiUser]:
    async with httpx.AsyncClient(base_url=platform.base_url, timeout=30) as client:
        yield await register(client)


@pytest.fixture(name="other")
async def other_tenant(platform: Platform) -> AsyncIterator[ApiUser]:
    async with httpx.AsyncClient(base_url=platform.base_url, timeout=30) as client:
        yield await register(client)


def marker() -> str:
    """A word no other document of the run contains."""
    return "zq" + uuid.uuid4().hex[:10]


async def test_every_supported_type_is_ingested_and_its_text_found(
    admin: ApiUser, platform: Platform
) -> None:
    words = {kind: marker() for kind in ("pdf", "docx", "html", "markdown", "text")}
    files = {
        "pdf": ("report.bin", pdf_of(f"The quarterly report mentions {words['pdf']} twice.")),
        "docx": ("handbook.docx", docx_of(f"Employees may take {words['docx']} leave.")),
        "html": (
            "page.txt",  # named .txt: the type comes from the content
            f"<!doctype html><html><head><style>p{{}}</style><script>var hidden = 1;</script></head>"
            f"<body><p>Office in {words['html']} opens at nine.</p></body></html>".encode(),
        ),
        "markdown": ("notes.md", f"# Notes\n\n- the [{words['markdown']}](https://x.test) policy\n".encode()),
        "text": ("plain.txt", f"Plain words about {words['text']} only.".encode()),
    }
    async with UsageTap(platform.env["HB_AMQP_PREFIX"]) as tap:
        for kind, (name, content) in files.items():
            document = await uploaded(admin, name, content)
            assert (document["file_type"], document["filename"]) == (kind, name)
            assert document["chunk_count"] >= 1 and document["embedding_tokens"] > 0
            assert any(words[kind] in chunk["content"] for chunk in document["preview"]), document
            [top, *_] = await search(admin, words[kind])
            assert top["document_id"] == document["id"] and words[kind] in top["content"]
            billed = await tap.wait_for(document["id"])
            assert [(e.model, e.embedding_tokens) for e in billed] == [
                ("demo-embed", document["embedding_tokens"])
            ]
    html = (await admin.get("/api/v1/documents")).json()
    html_doc = next(d for d in html if d["file_type"] == "html")
    detail = (await admin.get(f"/api/v1/documents/{html_doc['id']}")).json()
    assert "hidden" not in detail["preview"][0]["content"]  # scripts are not text


async def test_a_malformed_pdf_fails_with_a_reason_and_breaks_nothing(admin: ApiUser) -> None:
    r = await upload(admin, "broken.pdf", b"%PDF-1.7\n1 0 obj << /Type /Catalog >>\nthis is not a pdf body")
    assert r.status_code == 201, r.text
    failed = await ingested(admin, r.json()["id"])
    assert failed["upload_status"] == "failed" and "PDF" in failed["error"], failed
    assert failed["chunk_count"] == 0
    after = marker()
    good = await uploaded(admin, "after.txt", f"Still working: {after}.".encode())
    assert (await search(admin, after))[0]["document_id"] == good["id"]


async def test_uploads_are_checked_by_content_size_and_repeated_idempotently(admin: ApiUser) -> None:
    binary = await upload(admin, "fake.pdf", b"\x89PNG\r\n\x1a\n\x00\x00binary")
    assert binary.status_code == 415 and binary.json()["code"] == "unsupported_document_type", binary.text
    large = await upload(admin, "large.txt", b"a " * (MAX_BYTES // 2 + 10))
    assert large.status_code == 413 and large.json()["code"] == "too_large", large.text
    empty = await upload(admin, "empty.txt", b"")
    assert empty.status_code == 400, empty.text
    content = f"Same content {marker()}".encode()
    first = await uploaded(admin, "a.txt", content)
    again = await upload(admin, "b.txt", content)
    assert again.status_code == 200 and again.json()["id"] == first["id"], again.text
    listed = [d["id"] for d in (await admin.get("/api/v1/documents")).json()]
    assert listed.count(first["id"]) == 1


async def test_members_read_but_only_admins_write(admin: ApiUser, platform: Platform) -> None:
    from helpers.api import member

    reader = await member(admin)
    assert (await upload(reader, "x.txt", b"member upload")).status_code == 403
    document = await uploaded(admin, "shared.txt", f"Shared {marker()}".encode())
    assert (await reader.get(f"/api/v1/documents/{document['id']}")).status_code == 200
    assert (await reader.delete(f"/api/v1/documents/{document['id']}")).status_code == 403


async def test_another_tenant_can_neither_search_read_attach_nor_cite(
    admin: ApiUser, other: ApiUser, platform: Platform, fake_llm: FakeLLM
) -> None:
    secret = marker()
    theirs = await uploaded(admin, "secret.txt", f"The launch code is {secret}.".encode())
    assert await search(other, secret) == []
    assert (await other.get(f"/api/v1/documents/{theirs['id']}")).status_code == 404
    assert (await other.delete(f"/api/v1/documents/{theirs['id']}")).status_code == 404
    assert theirs["id"] not in [d["id"] for d in (await other.get("/api/v1/documents")).json()]
    spy = await fake_agent(other)
    attach = await other.put(f"/api/v1/agents/{spy['id']}/documents", json={"document_ids": [theirs["id"]]})
    assert attach.status_code == 404, attach.text
    own = await uploaded(other, "own.txt", f"Our own note about {secret[:4]} and codes.".encode(), spy["id"])
    # Their agent searches with the secret word: it finds only its own tenant's chunks.
    session = await open_session(other, spy["id"])
    async with chat(platform, session, other.token) as client:
        execution = await client.message(f"what is the launch code {secret}? [[tool:knowledge_search]]")
        done = await client.reply(execution)
    assert done["type"] == "execution.completed", done
    assert secret not in done["text"]
    assert {c["document_id"] for c in done["citations"]} <= {own["id"]}
    # And the admin's own agent, asked the same, cites the admin's document.
    mine = await fake_agent(admin)
    r = await admin.put(f"/api/v1/agents/{mine['id']}/documents", json={"document_ids": [theirs["id"]]})
    assert r.status_code == 200 and r.json() == {"document_ids": [theirs["id"]]}
    session = await open_session(admin, mine["id"])
    async with chat(platform, session, admin.token) as client:
        execution = await client.message(f"what is the launch code {secret}? [[tool:knowledge_search]]")
        done = await client.reply(execution)
    assert secret in done["text"] and done["citations"][0]["document_id"] == theirs["id"]


async def test_an_agent_answers_with_citations_over_a_real_tool_call_round_trip(
    admin: ApiUser, platform: Platform, fake_llm: FakeLLM
) -> None:
    word = marker()
    faq = await uploaded(
        admin, "faq.md", f"# Refunds\n\nThe refund window is thirty days, code {word}.\n".encode()
    )
    other = await uploaded(admin, "other.txt", f"Unrelated text on parking {marker()}.".encode())
    helper = await fake_agent(admin)
    r = await admin.put(f"/api/v1/agents/{helper['id']}/documents", json={"document_ids": [faq["id"]]})
    assert r.status_code == 200
    assert (await admin.get(f"/api/v1/agents/{helper['id']}/documents")).json() == {
        "document_ids": [faq["id"]]
    }
    agent_hits = await search(admin, "parking refund window", agent_id=helper["id"])
    assert agent_hits and {h["document_id"] for h in agent_hits} == {faq["id"]}  # scoped to the agent
    session = await open_session(admin, helper["id"])
    requests_before = fake_llm.stats.requests
    async with chat(platform, session, admin.token) as client:
        execution = await client.message(f"How long is the refund window {word}? [[tool:knowledge_search]]")
        done = await client.reply(execution)
        frames = client.of(execution)
    assert done["type"] == "execution.completed", done
    kinds = [f["type"] for f in frames]
    assert kinds.index("tool.call") < kinds.index("tool.result") < kinds.index("delta")
    call = next(f for f in frames if f["type"] == "tool.call")
    assert call["name"] == "knowledge_search" and word in call["arguments"]["query"]
    result = next(f for f in frames if f["type"] == "tool.result")
    assert result["name"] == "knowledge_search" and "faq.md" in result["summary"]
    assert done["text"].startswith("From the tools: [faq.md #0]") and word in done["text"]
    assert done["citations"] == [{"document_id": faq["id"], "filename": "faq.md", "chunk_index": 0}]
    assert fake_llm.stats.requests - requests_before == 2  # the tool call, then the answer
    assert other["id"] not in {c["document_id"] for c in done["citations"]}
    # The stored result keeps the citations: a client resuming after the end gets them too.
    async with chat(platform, session, admin.token) as client:
        await client.send({"type": "resume", "execution_id": execution, "after_seq": 0})
        resumed = await client.reply(execution)
    assert resumed["citations"] == done["citations"]


async def test_the_demo_agent_searches_its_documents_offline(admin: ApiUser, platform: Platform) -> None:
    word = marker()
    demo = await agent(admin)  # the built-in demo provider
    await uploaded(admin, "demo.txt", f"The cafeteria serves {word} on Fridays.".encode(), demo["id"])
    session = await open_session(admin, demo["id"])
    async with chat(platform, session, admin.token) as client:
        execution = await client.message(f"When is {word} served?")
        done = await client.reply(execution)
    assert done["text"].startswith("Here is what I found:") and word in done["text"], done
    assert [c["filename"] for c in done["citations"]] == ["demo.txt"]


async def test_deleting_a_document_removes_it_from_search_and_answers(
    admin: ApiUser, platform: Platform
) -> None:
    word = marker()
    helper = await fake_agent(admin)
    document = await uploaded(admin, "gone.txt", f"Soon deleted: {word}.".encode(), helper["id"])
    assert (await search(admin, word))[0]["document_id"] == document["id"]
    assert (await admin.delete(f"/api/v1/documents/{document['id']}")).status_code == 204
    assert await search(admin, word) == []
    assert (await admin.get(f"/api/v1/documents/{document['id']}")).status_code == 404
    assert (await admin.get(f"/api/v1/agents/{helper['id']}/documents")).json() == {"document_ids": []}
    session = await open_session(admin, helper["id"])
    async with chat(platform, session, admin.token) as client:
        execution = await client.message(f"what about {word}? [[tool:knowledge_search]]")
        done = await client.reply(execution)
    # No document left: the agent gets no tool, so the model answers without one.
    assert done["type"] == "execution.completed" and done["citations"] == [] and word not in done["text"]
    assert not [f for f in client.of(execution) if f["type"].startswith("tool.")]


async def test_a_thousand_chunks_ingest_while_a_chat_streams(admin: ApiUser, platform: Platform) -> None:
    from actors.ingest import CHUNK_WORDS, OVERLAP_WORDS

    step = CHUNK_WORDS - OVERLAP_WORDS
    words = [f"w{i}" for i in range(step * 999 + CHUNK_WORDS)]  # exactly 1,000 chunks
    content = " ".join(words).encode()
    assert len(content) < MAX_BYTES
    r = await upload(admin, "big.txt", content)
    assert r.status_code == 201, r.text
    helper = await fake_agent(admin)
    session = await open_session(admin, helper["id"])
    async with chat(platform, session, admin.token) as client:
        replies = []
        for _ in range(3):
            execution = await client.message("[[reply:40]]")
            replies.append(await client.reply(execution))
    assert [(d["type"], d["text"]) for d in replies] == [("execution.completed", fake_reply(40))] * 3
    big = await ingested(admin, r.json()["id"], timeout=180)
    assert (big["upload_status"], big["chunk_count"]) == ("completed", 1000), big
    last = await search(admin, words[-1])
    assert last[0]["document_id"] == big["id"] and last[0]["chunk_index"] == 999


async def test_search_validates_its_input(admin: ApiUser) -> None:
    assert (await admin.get("/api/v1/knowledge/search")).status_code == 400
    bad_mode = await admin.get("/api/v1/knowledge/search", params={"q": "x", "mode": "psychic"})
    assert bad_mode.status_code == 400
    unknown = await admin.get("/api/v1/knowledge/search", params={"q": "x", "agent_id": str(uuid.uuid4())})
    assert unknown.status_code == 404 and unknown.json()["code"] == "not_found"


async def test_a_bad_tool_call_is_told_to_the_model_and_the_reply_goes_on(
    admin: ApiUser, platform: Platform
) -> None:
    helper = await fake_agent(admin)
    await uploaded(admin, "tools.txt", f"Tool test {marker()}.".encode(), helper["id"])
    session = await open_session(admin, helper["id"])
    async with chat(platform, session, admin.token) as client:
        unknown = await client.message("[[tool:no_such_tool]]")
        first = await client.reply(unknown)
        broken = await client.message("[[tool:knowledge_search:not json]]")
        second = await client.reply(broken)
        results = [f["summary"] for f in client.frames if f["type"] == "tool.result"]
    assert first["type"] == second["type"] == "execution.completed"
    assert results == ["error: there is no tool 'no_such_tool'", "error: the arguments are not a JSON object"]
    assert first["text"].startswith("From the tools: error:") and first["citations"] == []


async def test_uploads_that_are_not_multipart_files_are_refused_with_a_code(admin: ApiUser) -> None:
    as_json = await admin.post("/api/v1/documents", json={"file": "text"})
    no_file = await admin.post(
        "/api/v1/documents", data={"agent_id": str(uuid.uuid4())}, files={"other": ("x", b"y")}
    )
    for r in (as_json, no_file):
        assert 400 <= r.status_code < 500 and r.json()["code"], r.text
    unknown_agent = await upload(admin, "x.txt", b"attach me", agent_id=str(uuid.uuid4()))
    assert unknown_agent.status_code == 404, unknown_agent.text


async def test_a_model_that_never_stops_calling_tools_is_bounded(
    admin: ApiUser, platform: Platform, fake_llm: FakeLLM
) -> None:
    from actors.tools import MAX_TOOL_STEPS

    helper = await fake_agent(admin)
    word = marker()
    await uploaded(admin, "loop.txt", f"Loop test {word}.".encode(), helper["id"])
    session = await open_session(admin, helper["id"])
    before = fake_llm.stats.requests
    async with chat(platform, session, admin.token) as client:
        execution = await client.message(f"{word} again [[tool-loop:knowledge_search]]")
        done = await client.reply(execution)
        calls = client.of(execution, "tool.call")
    assert done["type"] == "execution.completed", done
    assert len(calls) == MAX_TOOL_STEPS
    assert fake_llm.stats.requests - before == MAX_TOOL_STEPS + 1  # the last call offers no tools
    assert done["text"].startswith("From the tools:") and [c["filename"] for c in done["citations"]] == [
        "loop.txt"
    ]
