"""The lean queue and flag of `web.chat.wsprotocol` keep asyncio.Queue's and asyncio.Event's
behaviour for what uvicorn uses of them (every WebSocket of `hirebuddha web` runs on them;
the socket tests prove the whole protocol end to end)."""

from __future__ import annotations

import asyncio

from websockets.frames import Frame, Opcode

from web.chat.wsprotocol import Flag, Inbox, text_header


async def test_inbox_hands_items_out_in_order_to_waiting_getters() -> None:
    inbox = Inbox()
    first = asyncio.create_task(inbox.get())
    second = asyncio.create_task(inbox.get())
    await asyncio.sleep(0)
    assert not first.done() and inbox.empty()
    inbox.put_nowait("a")
    inbox.put_nowait("b")
    assert sorted(await asyncio.gather(first, second)) == ["a", "b"]
    inbox.put_nowait("c")
    inbox.put_nowait("d")
    assert inbox.qsize() == 2
    assert [await inbox.get(), await inbox.get()] == ["c", "d"]
    assert inbox.empty()


async def test_a_getter_cancelled_after_its_wake_up_passes_the_item_on() -> None:
    inbox = Inbox()
    first = asyncio.create_task(inbox.get())
    second = asyncio.create_task(inbox.get())
    await asyncio.sleep(0)
    inbox.put_nowait("only")  # wakes `first`
    first.cancel()  # ... which is cancelled before it runs
    assert await second == "only"
    assert first.cancelled()
    assert inbox.empty()


async def test_flag_waits_only_while_cleared_and_set_wakes_every_waiter() -> None:
    flag = Flag(True)
    assert await flag.wait()
    flag.clear()
    waiters = [asyncio.create_task(flag.wait()) for _ in range(3)]
    await asyncio.sleep(0)
    assert not any(w.done() for w in waiters)
    flag.set()
    assert await asyncio.gather(*waiters) == [True, True, True]
    assert flag.is_set()


async def test_a_cancelled_flag_waiter_leaves_no_trace() -> None:
    flag = Flag(False)
    waiter = asyncio.create_task(flag.wait())
    await asyncio.sleep(0)
    waiter.cancel()
    await asyncio.gather(waiter, return_exceptions=True)
    assert flag._waiters is None
    flag.set()
    assert await flag.wait()


def test_direct_text_frames_are_the_bytes_websockets_writes() -> None:
    """`write_texts` frames payloads itself: byte for byte what the websockets encoder sends
    a client (unmasked, one fragment), for each of the three length encodings."""
    for size in (0, 1, 125, 126, 65535, 65536, 70000):
        data = b"x" * size
        assert text_header(size) + data == Frame(Opcode.TEXT, data).serialize(mask=False)
