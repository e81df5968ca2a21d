#!/usr/bin/env python3
"""Kakehashi's benchmark: build speed, incremental rebuild speed and peak memory.

Each figure is the median over several runs (these machines are shared and noisy), with
the minimum and maximum beside it. Exits 1 when a median misses its target.

    python benchmarks/bench.py [--runs 5] [--sections 100] [--sources 500]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from corpus import write_corpus  # noqa: E402

from kakehashi.site import BuildCache, BuildOptions, build  # noqa: E402

TARGETS = {  # median targets: seconds, or MiB for memory
    "flagship full build (s)": 3.0,
    "flagship peak memory (MiB)": 250,
    "synthetic full build (s)": 30.0,
    "synthetic peak memory (MiB)": 600,
    "section edit rebuild (s)": 0.5,
}
CHILD = """
import json, resource, sys, time, logging
sys.path.insert(0, {root!r})
from pathlib import Path
from kakehashi.site import BuildOptions, build
started = time.perf_counter()
result = build(BuildOptions(Path({content!r}), Path({out!r})))
seconds = time.perf_counter() - started
assert not result.diagnostics.errors, [d.format() for d in result.diagnostics.errors]
print(json.dumps({{"seconds": seconds, "rss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}}))
"""


def measure_full_build(content: Path, runs: int) -> tuple[list[float], list[float]]:
    """Wall time of the build inside a fresh process, and that process's peak RSS (MiB)."""
    seconds, memory = [], []
    with tempfile.TemporaryDirectory() as scratch:
        for run in range(runs):
            out = Path(scratch) / f"site-{run}"
            code = CHILD.format(root=str(ROOT), content=str(content), out=str(out))
            completed = subprocess.run([sys.executable, "-c", code], capture_output=True,
                                       text=True, check=True)
            figures = json.loads(completed.stdout.strip().splitlines()[-1])
            seconds.append(figures["seconds"])
            memory.append(figures["rss"])
    return seconds, memory


def measure_section_edit(content: Path, runs: int) -> list[float]:
    """Rebuild time after editing one section, with serve's cache kept between builds."""
    section = sorted((content / "sections").glob("*.ja.md"))[1]
    original = section.read_text(encoding="utf-8")
    times = []
    with tempfile.TemporaryDirectory() as scratch:
        options = BuildOptions(content, Path(scratch) / "site")
        cache = BuildCache()
        build(options, cache=cache)
        try:
            for run in range(runs):
                section.write_text(original + f"\n\n追記 {run}。\n", encoding="utf-8")
                started = time.perf_counter()
                build(options, cache=cache)
                times.append(time.perf_counter() - started)
        finally:
            section.write_text(original, encoding="utf-8")
    return times


def summary(name: str, values: list[float]) -> tuple[str, float]:
    """One report line: median with min and max, and whether it meets its target."""
    median = statistics.median(values)
    target = TARGETS.get(name)
    verdict = "" if target is None else ("ok" if median <= target else "MISSED") + f" (target {target})"
    return f"{name:32} median {median:8.3f}   min {min(values):8.3f}   max {max(values):8.3f}   {verdict}", median


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--sections", type=int, default=100)
    parser.add_argument("--sources", type=int, default=500)
    args = parser.parse_args()
    results: dict[str, list[float]] = {}
    with tempfile.TemporaryDirectory() as scratch:
        flagship = ROOT / "content"
        results["flagship full build (s)"], results["flagship peak memory (MiB)"] = \
            measure_full_build(flagship, args.runs)
        synthetic = write_corpus(Path(scratch) / "corpus", args.sections, 12, args.sources)
        results["synthetic full build (s)"], results["synthetic peak memory (MiB)"] = \
            measure_full_build(synthetic, max(3, args.runs // 2))
        local = Path(scratch) / "flagship"
        subprocess.run(["cp", "-r", str(flagship), str(local)], check=True)
        results["section edit rebuild (s)"] = measure_section_edit(local, args.runs)
    print(f"Kakehashi benchmark: {args.runs} runs; synthetic corpus {args.sections} sections x 2 "
          f"languages, {args.sources} sources")
    missed = False
    for name, values in results.items():
        line, median = summary(name, values)
        print(line)
        missed |= name in TARGETS and median > TARGETS[name]
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
