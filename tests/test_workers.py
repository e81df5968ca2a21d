"""Worker processes: results in order, a failed worker's share done again, and a build that
uses them byte for byte the same as a serial one."""

from __future__ import annotations

import os
import threading

import pytest

from conftest import tree_bytes, write_project
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


@pytest.mark.skipif(not FORKING, reason="needs fork and two processors")
def test_results_come_back_in_order_from_several_processes(many_workers):
    results = workers.parallel_map(lambda n: (n * n, os.getpid()), list(range(500)))
    assert [square for square, _ in results] == [n * n for n in range(500)]
    assert len({pid for _, pid in results}) == workers.worker_count(500) > 1


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
def test_a_build_in_parallel_is_byte_identical_to_a_serial_one(tmp_path, monkeypatch):
    content = write_project(tmp_path / "content")
    assert not build(BuildOptions(content, tmp_path / "serial")).diagnostics.errors
    monkeypatch.setattr(workers, "ITEMS_PER_WORKER", 1)
    assert not build(BuildOptions(content, tmp_path / "parallel")).diagnostics.errors
    assert tree_bytes(tmp_path / "serial") == tree_bytes(tmp_path / "parallel")
