"""A pool of worker processes that do the work, each stoppable.

Symbolic work can run away (a 4th derivative of a long expression), and a thread cannot be
stopped, so every request is computed in a separate process.  The server keeps ``size`` of
them ready (started with ``spawn``, each having imported tensorcalc, NumPy and matplotlib).
A request waits for an idle worker, sends it ``(task, request)`` over a pipe and waits at most
``timeout`` seconds for the answer; past that the worker is killed and a fresh one started in
the background, and the request fails with ``WorkTimeout``.  Waiting happens in threads, so
the event loop, and every other request, keeps going meanwhile.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import sys
from concurrent.futures import ThreadPoolExecutor

STARTUP = 120.0  # seconds a fresh worker may take to import tensorcalc
RECURSION = 20_000  # the parser and printers recurse per nesting level; 2,000 characters fit


class WorkTimeout(Exception):
    """The work took longer than the limit; the worker was stopped."""


class WorkerDied(Exception):
    """The worker process ended while working (killed, out of memory)."""


class Busy(Exception):
    """Too many requests are already waiting for a worker."""


def _main(conn) -> None:
    """The worker's loop: import once, then answer ``(task, request)`` messages."""
    from . import compute

    sys.setrecursionlimit(max(sys.getrecursionlimit(), RECURSION))
    compute.warm()
    conn.send("ready")
    while True:
        try:
            task, req = conn.recv()
        except EOFError:
            return
        conn.send(compute.run(task, req))


class Worker:
    """One worker process and the parent's end of its pipe."""

    def __init__(self, ctx):
        self.conn, child = ctx.Pipe()
        self.proc = ctx.Process(target=_main, args=(child,), daemon=True)
        self.proc.start()
        child.close()
        if not self.conn.poll(STARTUP) or self.conn.recv() != "ready":
            self.kill()
            raise WorkerDied("a worker process did not start")

    def call(self, message, timeout: float):
        try:
            self.conn.send(message)
            if not self.conn.poll(timeout):
                raise WorkTimeout
            return self.conn.recv()
        except (EOFError, OSError) as err:
            raise WorkerDied(str(err)) from None

    def kill(self) -> None:
        self.proc.kill()
        self.proc.join(5)
        self.conn.close()


class Pool:
    """``await pool.run(task, request)`` → ``(status, body)``, or WorkTimeout / WorkerDied /
    Busy.  ``await pool.start()`` before use, ``pool.close()`` after."""

    def __init__(self, size: int = 2, timeout: float = 5.0, max_waiting: int = 64):
        self.size, self.timeout, self.max_waiting = size, timeout, max_waiting
        self._ctx = multiprocessing.get_context("spawn")
        self._threads = ThreadPoolExecutor(max_workers=2 * size + 2, thread_name_prefix="tc-web")
        self._idle: asyncio.Queue | None = None
        self._all: set = set()
        self._waiting = 0
        self._loop = None
        self._closed = False

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._idle = asyncio.Queue()
        # fewer BLAS threads per worker: the workers are the parallelism
        os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
        os.environ.setdefault("MKL_NUM_THREADS", "1")
        os.environ.setdefault("MPLBACKEND", "Agg")
        workers = await asyncio.gather(
            *(
                self._loop.run_in_executor(self._threads, Worker, self._ctx)
                for _ in range(self.size)
            )
        )
        for w in workers:
            self._all.add(w)
            self._idle.put_nowait(w)

    def _replace(self) -> None:
        """Start a new worker in a thread and hand it to the idle queue when it is ready."""

        def spawn():
            if self._closed:
                return
            w = Worker(self._ctx)
            self._all.add(w)
            self._loop.call_soon_threadsafe(self._idle.put_nowait, w)

        self._threads.submit(spawn)

    def _release(self, w: Worker, fut) -> None:
        if fut.cancelled() or fut.exception() is not None:
            self._all.discard(w)
            self._threads.submit(w.kill)
            self._replace()
        else:
            self._idle.put_nowait(w)

    async def run(self, task: str, req: dict):
        if self._idle.empty() and self._waiting >= self.max_waiting:
            raise Busy
        self._waiting += 1
        try:
            w = await self._idle.get()
        finally:
            self._waiting -= 1
        fut = self._loop.run_in_executor(self._threads, w.call, (task, req), self.timeout)
        fut.add_done_callback(lambda f: self._release(w, f))
        return await asyncio.shield(fut)

    def close(self) -> None:
        self._closed = True
        for w in list(self._all):
            w.kill()
        self._all.clear()
        self._threads.shutdown(wait=False, cancel_futures=True)
