#!/usr/bin/env python3
"""Kakehashi's benchmark: the figures of the speed targets, as ratios to a floor.

Every figure is a whole process (`python build.py …`), timed from outside with the standard
library (time.perf_counter around the child, its peak memory from os.wait4). Each scale's
synthetic corpus (corpus.py) is built by Kakehashi and by the floor (floor.py: the same
libraries doing the bare job) in turn, A B A B, and a ratio is the median of the paired
ratios, so that a shared machine's drift cancels out. Figures:

- cold build: `build --no-cache` from an empty output folder, over the floor's build;
- rebuild: `build` after editing one section (the cache from the build before), over the
  floor's cold build;
- serve: `serve` on the corpus, one section edited: the seconds of its "Updated … in X s"
  line (the edited section's new page on disk) and of its "Built … in X s" line (the
  whole site rebuilt after it);
- peak memory of the cold build (the largest process, workers included).

Exits 1 when a median misses its target.

    python benchmarks/bench.py [--scale seed|large|both] [--runs 5]
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))

from corpus import SCALES, write_corpus  # noqa: E402

TARGETS = {  # (scale, figure) -> the most a median may be
    ("seed", "cold build / floor"): 1.3,
    ("large", "cold build / floor"): 1.0,
    ("large", "rebuild after a one-section edit / floor's cold build"): 0.45,
    ("large", "serve: one-section edit to new HTML (s)"): 0.25,
    ("large", "cold build peak memory (MiB)"): 250,
}
BUILT = re.compile(r"Built \d+ pages in ([\d.]+) s")
UPDATED = re.compile(r"Updated .+? in ([\d.]+) s;")
SERVING = re.compile(r"Serving http://\S+()")  # the server is up and its watcher looking
SETTLE_SECONDS = 1.0


def run(command: list[str]) -> tuple[float, float]:
    """Run one whole process; its wall seconds and peak resident memory (MiB)."""
    started = time.perf_counter()
    pid = os.posix_spawn(command[0], command, os.environ, file_actions=[
        (os.POSIX_SPAWN_OPEN, 1, os.devnull, os.O_WRONLY, 0),
        (os.POSIX_SPAWN_OPEN, 2, os.devnull, os.O_WRONLY, 0)])
    _, status, usage = os.wait4(pid, 0)  # the child's own figures, its workers' included
    seconds = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"bench: {' '.join(command)} failed; run it by hand to see why")
    return seconds, usage.ru_maxrss / 1024


def kakehashi(content: Path, out: Path, *options: str) -> list[str]:
    return [sys.executable, str(ROOT / "build.py"), "build", *options, "--content", str(content),
            "--out", str(out)]


def floor(content: Path, out: Path) -> list[str]:
    return [sys.executable, str(ROOT / "benchmarks" / "floor.py"), str(content), str(out)]


def edit_section(content: Path, run_number: int) -> None:
    """Append one sentence to the middle section's Japanese file."""
    files = sorted((content / "sections").glob("*.ja.md"))
    path = files[len(files) // 2]
    original = path.read_text("utf-8").split("\n\n追記")[0]
    path.write_text(f"{original}\n\n追記 {run_number}。\n", "utf-8")


def measure_builds(content: Path, scratch: Path, runs: int) -> dict[str, list[float]]:
    """Cold builds and one-section rebuilds, each paired with a floor build."""
    figures = {"cold": [], "floor": [], "cold/floor": [], "rebuild/floor": [], "peak": []}
    for number in range(runs + 1):  # the first round warms the machine up and is not counted
        shutil.rmtree(scratch / "cold", ignore_errors=True)
        cold, peak = run(kakehashi(content, scratch / "cold", "--no-cache"))
        shutil.rmtree(scratch / "floor", ignore_errors=True)
        bare, _ = run(floor(content, scratch / "floor"))
        if number == 0:
            run(kakehashi(content, scratch / "cached"))  # the cache the rebuilds start from
        edit_section(content, number)
        rebuild, _ = run(kakehashi(content, scratch / "cached"))
        if number:
            figures["cold"].append(cold)
            figures["floor"].append(bare)
            figures["cold/floor"].append(cold / bare)
            figures["rebuild/floor"].append(rebuild / bare)
            figures["peak"].append(peak)
    return figures


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def measure_serve(content: Path, scratch: Path, runs: int) -> tuple[list[float], list[float]]:
    """The seconds serve's own log lines give after each one-section edit: for the edited
    section's page, and for the whole rebuild."""
    log = scratch / "serve.log"
    command = [sys.executable, str(ROOT / "build.py"), "serve", "--content", str(content),
               "--out", str(scratch / "served"), "--port", str(free_port())]
    with open(log, "wb") as output:
        server = subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT)
    try:
        wait_for_lines(log, 1, 3600, SERVING)
        pages, builds = [], []
        for number in range(runs + 1):
            time.sleep(SETTLE_SECONDS)  # the watcher's first look, or the last rebuild's end
            edit_section(content, 100 + number)
            builds.append(wait_for_lines(log, number + 2, 600))
            pages.append(wait_for_lines(log, number + 1, 1, UPDATED))
        return pages[1:], builds[1:]
    finally:
        server.send_signal(signal.SIGINT)
        server.wait(30)


def wait_for_lines(log: Path, count: int, timeout: float, pattern: re.Pattern = None) -> float:
    """The seconds of the `count`-th "Built … in X s" line of a log, once it is there."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = (pattern or BUILT).findall(log.read_text("utf-8", "replace"))
        if len(found) >= count:
            return float(found[count - 1] or 0)
        time.sleep(0.05)
    raise SystemExit(f"bench: serve wrote no rebuild line within {timeout:.0f} s (see {log})")


def line(scale: str, name: str, values: list[float]) -> tuple[str, bool]:
    """One report line: median, min and max, and whether the median meets its target."""
    median = statistics.median(values)
    target = TARGETS.get((scale, name))
    verdict = "" if target is None else ("ok" if median <= target else "MISSED") + f" (target {target})"
    return (f"{scale:5} {name:58} median {median:8.3f}   min {min(values):8.3f}   "
            f"max {max(values):8.3f}   {verdict}"), target is not None and median > target


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", choices=("seed", "large", "both"), default="both")
    parser.add_argument("--runs", type=int, default=5, help="counted runs of each figure")
    args = parser.parse_args()
    report, missed = [], False
    for scale in ("seed", "large") if args.scale == "both" else (args.scale,):
        with tempfile.TemporaryDirectory(prefix=f"kakehashi-bench-{scale}-") as folder:
            scratch = Path(folder)
            sections, sources = SCALES[scale]
            content = write_corpus(scratch / "content", sections, sources)
            builds = measure_builds(content, scratch, args.runs)
            serve_page, serve_build = measure_serve(content, scratch, args.runs)
        for name, values in (("cold build (s)", builds["cold"]), ("floor (s)", builds["floor"]),
                             ("cold build / floor", builds["cold/floor"]),
                             ("rebuild after a one-section edit / floor's cold build",
                              builds["rebuild/floor"]),
                             ("serve: one-section edit to new HTML (s)", serve_page),
                             ("serve: one-section edit to the whole site rebuilt (s)",
                              serve_build),
                             ("cold build peak memory (MiB)", builds["peak"])):
            text, miss = line(scale, name, values)
            report.append(text)
            missed |= miss
    print(f"Kakehashi benchmark: {args.runs} runs per figure, {os.cpu_count()} processors")
    print("\n".join(report))
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
