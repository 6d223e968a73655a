"""One asyncio loop per process, in a background thread, where providers keep their connections.

Sync code (Celery tasks, request handlers) calls `run(coro, timeout)`; the loop outlives every
call, so HTTP/2 connections stay open between sends. After os.fork (Celery's prefork pool) the
child starts its own loop on first use: the parent's loop and sockets are not its to use.
"""

import asyncio
import concurrent.futures
import os
import threading

try:
    import uvloop
except ImportError:  # Windows: see pyproject.toml
    uvloop = None

_lock = threading.Lock()
_loop: asyncio.AbstractEventLoop | None = None
_pid = 0


def _start() -> asyncio.AbstractEventLoop:
    global _loop, _pid
    loop = uvloop.new_event_loop() if uvloop else asyncio.new_event_loop()
    ready = threading.Event()

    def serve():
        asyncio.set_event_loop(loop)
        loop.call_soon(ready.set)
        loop.run_forever()

    threading.Thread(target=serve, name="pushport-providers", daemon=True).start()
    ready.wait()
    _loop, _pid = loop, os.getpid()
    return loop


def loop() -> asyncio.AbstractEventLoop:
    """The process's provider loop, started on first use (and again in a forked child)."""
    current = _loop
    if current is not None and _pid == os.getpid():
        return current
    with _lock:
        if _loop is not None and _pid == os.getpid():
            return _loop
        return _start()


def run(coro, timeout: float | None = None):
    """Run a coroutine on the provider loop and wait for its result (cancelled on timeout)."""
    target = loop()
    try:
        running = asyncio.get_running_loop()
    except RuntimeError:
        running = None
    if running is target:
        coro.close()
        raise RuntimeError("run() was called from the provider loop itself; await instead")
    future = asyncio.run_coroutine_threadsafe(coro, target)
    try:
        return future.result(timeout)
    except concurrent.futures.TimeoutError:
        future.cancel()
        raise


def start_all(coros) -> concurrent.futures.Future:
    """Start coroutines at once on the provider loop; the future holds each one's result or
    exception, in order."""

    async def together():
        return await asyncio.gather(*coros, return_exceptions=True)

    return asyncio.run_coroutine_threadsafe(together(), loop())


def _forget_parent_loop():
    global _loop, _lock
    _loop = None
    # The parent's lock may have been held by another thread at fork time.
    _lock = threading.Lock()


os.register_at_fork(after_in_child=_forget_parent_loop)
