"""Shared by the stages that run in parallel: `parallel_map` over forked worker processes.

A large report's bibliography, sections and pages are worked on by several processes at
once. The workers are forked when a stage needs them, so they inherit everything the
stage has computed so far and are sent nothing but their share of the items; each sends
its results back through a pipe, and the results are put together in the items' order, so
the output is byte for byte that of a serial build. The calling process works on the
first share itself. Small amounts of work, a single core, systems without `fork` and
processes that run other threads (`serve`) stay serial: there, starting processes would
cost more than it saves, or would not be safe.
"""

from __future__ import annotations

import ctypes
import os
import pickle
import signal
import threading
from collections.abc import Callable, Sequence
from typing import TypeVar

ITEMS_PER_WORKER = 100  # a worker is worth forking for at least this many items
ITEM = TypeVar("ITEM")
RESULT = TypeVar("RESULT")


def worker_count(items: int) -> int:
    """How many processes (this one included) should share `items` pieces of work."""
    if not hasattr(os, "fork") or threading.active_count() > 1:
        return 1
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return max(1, min(cores or 1, items // ITEMS_PER_WORKER))


def parallel_map(function: Callable[[ITEM], RESULT], items: Sequence[ITEM],
                 cost: int | None = None, only_collect: bool = False) -> list[RESULT]:
    """`[function(item) for item in items]`, shared among worker processes when it pays.

    The items are dealt out in turn, so a caller that puts the largest first spreads them
    over the workers, each doing its large ones before its results pile up. `cost` is the
    work in items' worth when the items are few and large (languages). With `only_collect`,
    this process does no share itself, when the work would need much more memory than its
    results (the search index): each worker needs it only for its own share.
    """
    workers = min(len(items), worker_count(len(items) if cost is None else cost))
    if workers == 1:
        return [function(item) for item in items]
    shares = [items[first::workers] for first in range(workers)]  # dealt out like cards
    children: list[list[int]] = []  # [pid, pipe], emptied once the worker is reaped
    release_free_memory()  # each worker starts as big as this process is
    try:
        ours = [] if only_collect else shares[0]
        for share in shares if only_collect else shares[1:]:
            children.append(start_worker(function, share))
        done = [] if only_collect else [[function(item) for item in ours]]
        for child, share in zip(children, shares if only_collect else shares[1:]):
            done.append(collect(child) or [function(item) for item in share])
    finally:
        for child in children:
            stop_worker(child)
    return [done[index % workers][index // workers] for index in range(len(items))]


def release_free_memory() -> None:
    """Give memory that was freed back to the system (glibc keeps it otherwise)."""
    try:
        ctypes.CDLL(None).malloc_trim(0)
    except (OSError, AttributeError):  # not glibc
        pass


def start_worker(function: Callable, share: Sequence) -> list[int]:
    """Fork a process that works on `share` and writes its pickled results to a pipe."""
    reading, writing = os.pipe()
    pid = os.fork()
    if pid:
        os.close(writing)
        return [pid, reading]
    os.close(reading)  # the worker: compute, send, and leave without the parent's clean-up
    status = 1
    try:
        results = [function(item) for item in share]
        with os.fdopen(writing, "wb") as pipe:
            pickle.dump(results, pipe, pickle.HIGHEST_PROTOCOL)  # as it goes: no second copy
        status = 0
    except BaseException:  # noqa: BLE001 - whatever went wrong, the parent does this share
        pass
    finally:
        os._exit(status)


def collect(child: list[int]) -> list | None:
    """A worker's results, or None when it failed (the caller then does its share itself)."""
    pid, pipe = child
    results = None
    with os.fdopen(pipe, "rb") as reader:
        try:
            results = pickle.load(reader)  # as it comes: the pickled bytes are never all held
        except Exception:  # noqa: BLE001 - cut short or damaged: the caller does the share
            pass
        while reader.read(1 << 16):  # whatever is left, so that the worker can end
            pass
    _, status = os.waitpid(pid, 0)
    child.clear()  # reaped: its pid may belong to another process from now on
    return results if status == 0 and isinstance(results, list) else None


def stop_worker(child: list[int]) -> None:
    """End a worker not yet collected (this process failed or was interrupted) and reap it."""
    if not child:
        return
    pid, pipe = child
    os.close(pipe)
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    child.clear()
