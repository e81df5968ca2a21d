#!/usr/bin/env python3
"""Bounded time on hostile and huge input: whole-process builds of generated projects.

Each case is a project written by `kakehashi new`, then made huge: a section with one
citation in every one of N paragraphs (in both languages), a run of 50,000 `[^`, and a
bibliography of N entries. Prints the median wall time of a few runs per case, and the
time per unit, so that growth that is worse than linear shows as a rising per-unit time.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PARAGRAPH = "Paragraph {i} says something about the topic at some length here.[^rfc3629]\n\n"
ENTRY = ("@online{{k{i},\n  author = {{Author{i}, Name}},\n  title = {{Title number {i}}},\n"
         "  url = {{https://example.org/{i}}},\n  date = {{2020-01-{d:02d}}},\n}}\n\n")


def new_project(folder: Path) -> Path:
    """A fresh starter project in `folder`/c."""
    subprocess.run([sys.executable, str(ROOT / "build.py"), "new", str(folder / "c")], check=True,
                   capture_output=True)
    return folder / "c"


def with_body(content: Path, body: str) -> None:
    """Replace the body of the starter section in both languages."""
    for language in ("ja", "en"):
        path = content / "sections" / f"01-introduction.{language}.md"
        head = path.read_text("utf-8").split("\n---\n", 1)[0] + "\n---\n\n"
        path.write_text(head + body, "utf-8")


def timed_build(content: Path, runs: int) -> float:
    """Median wall seconds of `build.py build` over `runs` runs (exit status ignored)."""
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run([sys.executable, str(ROOT / "build.py"), "--content", str(content),
                        "--out", str(content.parent / "out"), "--no-cache"], capture_output=True)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="runs per case (default 3)")
    args = parser.parse_args()
    cases = [("citations per section", n, lambda c, n=n: with_body(
                  c, "".join(PARAGRAPH.format(i=i) for i in range(n)))) for n in (3000, 6000, 12000)]
    cases.append(("run of [^ (refused)", 50_000, lambda c: with_body(c, "x" + "[^" * 50_000 + "\n")))
    cases += [("bibliography entries", n, lambda c, n=n: (c / "references.bib").open("a").write(
                  "".join(ENTRY.format(i=i, d=1 + i % 28) for i in range(n)))) for n in (2500, 5000, 10000)]
    print(f"{'case':28} {'size':>8} {'median s':>9} {'ms per unit':>12}")
    for name, size, make in cases:
        with tempfile.TemporaryDirectory() as folder:
            content = new_project(Path(folder))
            make(content)
            seconds = timed_build(content, args.runs)
        print(f"{name:28} {size:>8} {seconds:>9.2f} {1000 * seconds / size:>12.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
