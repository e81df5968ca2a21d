#!/usr/bin/env python3
"""serve's benchmark: request latency while a huge section rebuilds, memory as sections come and go.

Runs the real `build.py serve` on a free port of 127.0.0.1 over the test project (three
sections in two languages), then (1) adds a section of `--megabytes` MB in each language
as one long paragraph (the worst case for Python's lock: one regular expression runs over
all of it) and GETs a page in a loop until the rebuild ends, and (2) adds and removes a
2 MB section `--cycles` times, reading the resident memory of serve and its build process.
Exits 1 when a figure misses its target.

    python benchmarks/bench_serve.py [--megabytes 20] [--cycles 8]
"""

from __future__ import annotations

import argparse
import http.client
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from conftest import free_port, write_project  # noqa: E402

TARGETS = {"latency during rebuild, p99 (ms)": 50.0,  # the maximum is shown, not judged:
           "memory growth over the cycles (MiB)": 25.0}  # on a shared machine it is noise
PAGE = "/report/ja/memo-leak/"
LINE = "これは長い一行である。"  # 33 bytes in UTF-8


def get(port: int, path: str, timeout: float = 120) -> int:
    """GET a path; its status."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        response.read()
        return response.status
    finally:
        connection.close()


def rss_mib(pid: int) -> float:
    """Resident memory of a process and its children, in MiB (Linux)."""
    total = 0.0
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            total += int(line.split()[1]) / 1024
    for children in Path(f"/proc/{pid}/task").glob("*/children"):
        total += sum(rss_mib(int(child)) for child in children.read_text().split())
    return total


def section(megabytes: float) -> str:
    """A section of about `megabytes` MB: front matter and one long paragraph."""
    return "---\ntitle: \"big\"\n---\n\n" + LINE * int(megabytes * 1e6 / len(LINE.encode())) + "\n"


def builds(log: Path) -> int:
    """Builds the server has finished so far (failed ones too)."""
    return len(re.findall(r"^(?:Built \d+ pages|Rebuild failed)", log.read_text("utf-8"), re.M))


def wait(condition, seconds: float = 600) -> None:
    """Wait until `condition()`; raise after `seconds`."""
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise SystemExit("bench_serve: the server did not get there in time")
        time.sleep(0.05)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--megabytes", type=float, default=20)
    parser.add_argument("--cycles", type=int, default=8)
    args = parser.parse_args()
    results: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as scratch:
        content = write_project(Path(scratch) / "content")
        out, log, port = Path(scratch) / "site", Path(scratch) / "serve.log", free_port()
        with open(log, "wb") as stream:
            server = subprocess.Popen([sys.executable, str(ROOT / "build.py"), "serve",
                                       "--content", str(content), "--out", str(out),
                                       "--port", str(port)], cwd=ROOT, stdout=stream,
                                      stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        try:
            wait(lambda: builds(log) == 1 and "Serving" in log.read_text("utf-8"))
            finished = builds(log)
            for lang in ("ja", "en"):
                (content / "sections" / f"04-big.{lang}.md").write_text(
                    section(args.megabytes), encoding="utf-8")
            started, latencies = time.monotonic(), []
            while builds(log) == finished:
                before = time.monotonic()
                get(port, PAGE)
                latencies.append((time.monotonic() - before) * 1000)
            rebuild = time.monotonic() - started
            latencies.sort()
            results["latency during rebuild, p50 (ms)"] = statistics.median(latencies)
            results["latency during rebuild, p99 (ms)"] = latencies[int(len(latencies) * 0.99)]
            results["latency during rebuild, max (ms)"] = latencies[-1]
            for lang in ("ja", "en"):
                (content / "sections" / f"04-big.{lang}.md").unlink()
            wait(lambda: not (out / "ja" / "big").exists())
            memory = []
            for cycle in range(args.cycles):
                files = [content / "sections" / f"05-cycle{cycle}.{lang}.md"
                         for lang in ("ja", "en")]
                for path in files:
                    path.write_text(section(2), encoding="utf-8")
                wait((out / "ja" / f"cycle{cycle}" / "index.html").is_file)
                for path in files:
                    path.unlink()
                wait(lambda: not (out / "ja" / f"cycle{cycle}").exists())
                time.sleep(1)
                memory.append(rss_mib(server.pid))
            settled = memory[min(1, len(memory) - 1)]  # after the first cycle warmed up
            results["memory growth over the cycles (MiB)"] = memory[-1] - settled
        finally:
            server.send_signal(signal.SIGINT)
            server.wait(30)
    print(f"serve benchmark: a {args.megabytes:g} MB section in each language rebuilt in "
          f"{rebuild:.1f} s while {len(latencies)} requests were answered; {args.cycles} "
          "cycles of a 2 MB section added and removed")
    missed = False
    for name, value in results.items():
        target = TARGETS.get(name)
        verdict = "" if target is None else \
            ("ok" if value <= target else "MISSED") + f" (target {target:g})"
        print(f"{name:40} {value:9.1f}   {verdict}")
        missed |= target is not None and value > target
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
