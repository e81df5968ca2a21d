"""Worker processes: results in order, a failed worker's share done again, and a build that
uses them byte for byte the same as a serial one."""

from __future__ import annotations

import os
import subprocess
import sys
import threading

import pytest

from conftest import ROOT, tree_bytes, write_project
from kakehashi import workers
from kakehashi.site import BuildOptions, build

FORKING = hasattr(os, "fork") and threading.active_count() == 1 and workers.worker_count(10**6) > 1


@pytest.fixture
def many_workers(monkeypatch):
    """Every stage forks, even for a handful of items."""
    monkeypatch.setattr(workers, "ITEMS_PER_WORKER", 1)


def test_small_work_stays_in_this_process():
    assert workers.worker_count(workers.ITEMS_PER_WORKER - 1) == 1
    assert set(workers.parallel_map(lambda _: os.getpid(), range(10))) == {os.getpid()}


def in_fresh_process(code: str) -> str:
    """Run Python code in a new interpreter, where no other thread runs (a test session has
    Playwright's and the servers' threads, and workers never fork beside threads)."""
    completed = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                               text=True, timeout=300)
    assert completed.returncode == 0, completed.stderr
    return completed.stdout


@pytest.mark.skipif(not FORKING, reason="needs fork and two processors")
@pytest.mark.parametrize("only_collect", [False, True])
def test_results_come_back_in_order_from_several_processes(only_collect):
    """In order, from several processes; a collecting process does no share itself."""
    printed = in_fresh_process(
        "import os\nfrom kakehashi import workers\nworkers.ITEMS_PER_WORKER = 1\n"
        "results = workers.parallel_map(lambda n: (n * n, os.getpid()), list(range(500)),\n"
        f"                               only_collect={only_collect})\n"
        "assert [square for square, _ in results] == [n * n for n in range(500)]\n"
        "pids = {pid for _, pid in results}\n"
        "print(len(pids), workers.worker_count(500), os.getpid() in pids)\n")
    processes, expected, here = printed.split()
    assert int(processes) == int(expected) > 1
    assert here == str(not only_collect)


@pytest.mark.skipif(not FORKING, reason="needs fork and two processors")
def test_a_failed_worker_share_is_done_by_this_process(many_workers):
    parent = os.getpid()

    def work(n):
        if n == 499 and os.getpid() != parent:
            raise RuntimeError("a worker fails")
        return n
    assert workers.parallel_map(work, list(range(500))) == list(range(500))


def test_no_workers_while_other_threads_run():
    stop = threading.Event()
    thread = threading.Thread(target=stop.wait)
    thread.start()
    try:
        assert workers.worker_count(10**6) == 1
    finally:
        stop.set()
        thread.join()


@pytest.mark.skipif(not FORKING, reason="needs fork and two processors")
def test_a_build_in_parallel_is_byte_identical_to_a_serial_one(tmp_path):
    content = write_project(tmp_path / "content")
    assert not build(BuildOptions(content, tmp_path / "serial")).diagnostics.errors
    printed = in_fresh_process(
        "from pathlib import Path\nfrom kakehashi import workers\n"
        "from kakehashi.site import BuildOptions, build\nworkers.ITEMS_PER_WORKER = 1\n"
        f"result = build(BuildOptions(Path({str(content)!r}), Path({str(tmp_path / 'parallel')!r})))\n"
        "assert not result.diagnostics.errors\nprint(workers.worker_count(10**6))\n")
    assert int(printed) > 1  # the build really ran on several processes
    assert tree_bytes(tmp_path / "serial") == tree_bytes(tmp_path / "parallel")
