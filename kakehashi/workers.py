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
from dataclasses import dataclass, field
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
    return parallel_start(function, items, cost, only_collect).results()


def parallel_start(function: Callable[[ITEM], RESULT], items: Sequence[ITEM],
                   cost: int | None = None, only_collect: bool = False) -> Started:
    """`parallel_map` in two steps: the workers start now, and `Started.results` gives the
    results (this process's own share done then), so that other work can go on meanwhile.
    Without workers, all the work is done by `results`."""
    workers = min(len(items), worker_count(len(items) if cost is None else cost))
    started = Started(function, items, workers, only_collect)
    if workers <= 1:  # one item or none, or not worth a process
        return started
    release_free_memory()  # each worker starts as big as this process is
    try:
        for share in started.theirs:
            started.children.append(start_worker(function, share))
    except BaseException:
        started.stop()
        raise
    return started


@dataclass
class Started:
    """Work shared among workers that are running (see `parallel_start`)."""

    function: Callable
    items: Sequence
    workers: int
    only_collect: bool
    children: list[list[int]] = field(default_factory=list)  # [pid, pipe], emptied when reaped

    @property
    def shares(self) -> list[Sequence]:
        """Each process's items, dealt out like cards."""
        return [self.items[first::self.workers] for first in range(self.workers)]

    @property
    def theirs(self) -> list[Sequence]:
        """The workers' shares: all, or all but the first, this process's own."""
        return self.shares if self.only_collect else self.shares[1:]

    def results(self) -> list:
        """Every item's result, in the items' order (a failed worker's share done here)."""
        if self.workers <= 1:
            return [self.function(item) for item in self.items]
        try:
            done = [] if self.only_collect else [[self.function(item) for item in self.shares[0]]]
            for child, share in zip(self.children, self.theirs):
                done.append(collect(child) or [self.function(item) for item in share])
        finally:
            self.stop()
        return [done[index % self.workers][index // self.workers]
                for index in range(len(self.items))]

    def stop(self) -> None:
        """End the workers not yet collected (the caller failed or was interrupted)."""
        for child in self.children:
            stop_worker(child)


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
