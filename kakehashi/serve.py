"""The `serve` command: build, serve with live reload, rebuild on every change.

Takes the build options, host and port. Serves the output folder under the base URL's
path (so `--base-url https://u.github.io/repo/` previews at `/repo/`, as Pages serves it)
with the application of `preview.py`. A watcher thread polls content/, templates/ and
static/ (never following a symlink, never looking inside the output folder); after each
burst of saves it asks serve's own build process to rebuild, one build at a time, so the
server keeps answering from the last good site while a rebuild runs, however long; open
pages reload when it ends. A failed rebuild, whether the content has errors or the build
crashed, keeps the last good site online and shows what failed as an overlay on the page
and in the terminal.
"""

from __future__ import annotations

import ctypes
import errno
import gc
import logging
import multiprocessing
import os
import signal
import sys
import threading
import time
import tomllib
import traceback
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, unquote, urlsplit

from tornado.httpserver import HTTPServer
from tornado.ioloop import IOLoop
from tornado.netutil import bind_sockets

from .diagnostics import Diagnostic, display_path
from .preview import MAX_HEADER_BYTES, URL_SAFE, ServeState, make_application, reload_browsers
from .quick import write_edited_pages
from .site import PACKAGE_DIR, BuildCache, BuildOptions, build

LOG = logging.getLogger("kakehashi")
POLL_SECONDS = 0.25  # how often the watcher looks for changes
COALESCE_SECONDS = 0.15  # saves closer together than this make one rebuild
WATCH_LIMIT = 20_000  # files the watcher looks at in all; a larger tree gets one warning
STOP_SECONDS = 2.0  # Ctrl-C waits this long for a running rebuild to finish
IGNORED_PREFIXES = (".", "#")  # hidden files and folders, editor autosaves
IGNORED_SUFFIXES = ("~", ".swp", ".swo", ".swx", ".bak", ".tmp")  # editor backups


def snapshot(folders: list[str], skipped: tuple[str, ...]) -> tuple[dict, bool]:
    """(mtime, size, inode) of the files under the folders, never following a symlink; and
    whether every entry was looked at.

    A symlink counts as a file of its own (its target is not looked at), so a link loop or
    a link to a huge tree costs one entry; folders in `skipped` (the output) are left out;
    at most WATCH_LIMIT entries are looked at, folders first in breadth.
    """
    seen: dict[str, tuple[int, int, int]] = {}
    pending = deque(folders)
    budget = WATCH_LIMIT
    while pending and budget > 0:
        try:
            with os.scandir(pending.popleft()) as listing:
                entries = sorted(listing, key=lambda entry: entry.name)
        except OSError:
            continue  # removed meanwhile, or unreadable: the build reports what matters
        for entry in entries[:budget]:
            budget -= 1
            name = entry.name
            if name.startswith(IGNORED_PREFIXES) or name.endswith(IGNORED_SUFFIXES):
                continue
            try:
                if entry.is_dir(follow_symlinks=False):
                    if entry.path not in skipped:
                        pending.append(entry.path)
                    continue
                info = entry.stat(follow_symlinks=False)
            except OSError:
                continue
            seen[entry.path] = (info.st_mtime_ns, info.st_size, info.st_ino)
    return seen, budget > 0


def watch(folders: list[str], skipped: tuple[str, ...], rebuild: Callable[[set[str]], None],
          stop: threading.Event, last: tuple) -> None:
    """Poll the folders until `stop`; after each burst of saves, call `rebuild` with the
    paths that changed (in this thread).

    `last` is the folders' snapshot the site was built from, taken before the first build,
    so that a save made while it ran, or just after the server answers, is never missed.
    Later snapshots are taken just before each rebuild, so saves during it make one more.
    """
    if not last[1]:
        LOG.warning("serve: the watched folders hold more than %d files and folders; only "
                    "changes to the first %d are noticed", WATCH_LIMIT, WATCH_LIMIT)
    while not stop.wait(POLL_SECONDS):
        if snapshot(folders, skipped) == last:
            continue
        if stop.wait(COALESCE_SECONDS):
            return
        before, last = last, snapshot(folders, skipped)
        files = before[0].keys() | last[0].keys()
        rebuild({path for path in files if before[0].get(path) != last[0].get(path)})


def run_build(options: BuildOptions, cache: BuildCache) -> tuple[Diagnostic, ...]:
    """Build once; print every problem; return what fails the build (empty when it worked)."""
    try:
        result = build(options, cache=cache)
    except Exception as exc:  # a bug or an input no stage foresaw: one line, keep serving
        if os.environ.get("KAKEHASHI_DEBUG"):
            traceback.print_exc()
        crash = crash_diagnostic(exc, (PACKAGE_DIR, options.templates_dir.resolve()))
        print(crash.format(), file=sys.stderr)
        return (crash,)
    problems = result.diagnostics.sorted()
    for item in problems:
        print(item.format(), file=sys.stderr)
    errors = tuple(item for item in problems if item.severity == "error"
                   or options.strict and item.severity == "warning")
    if errors:
        LOG.error("Rebuild failed after %.2f s; the last good site stays online.", result.seconds)
    return errors


def crash_diagnostic(exc: Exception, roots: tuple[Path, ...]) -> Diagnostic:
    """An unexpected exception as one line: what, and the innermost place in `roots` it passed."""
    frames = traceback.extract_tb(exc.__traceback__)
    ours = [frame for frame in frames
            if any(Path(frame.filename).resolve().is_relative_to(root) for root in roots)]
    where = (ours or frames or [None])[-1]
    detail = (str(exc).strip().splitlines() or [""])[0][:300]
    message = (f"internal error ({type(exc).__name__}{': ' + detail if detail else ''}) while "
               "building; the last good site stays online; this is a bug in Kakehashi, not in "
               "your content: please report it (KAKEHASHI_DEBUG=1 shows the traceback)")
    if where is None:
        return Diagnostic("kakehashi", None, None, "error", message, "internal")
    return Diagnostic(display_path(where.filename), where.lineno, None, "error", message,
                      "internal")


def build_process(options: BuildOptions, connection) -> None:
    """The rebuild process: one build each time the server asks (with the paths that
    changed), answered with the pages of edited sections written ahead, if any, then what
    failed."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the server's to handle
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
    cache = BuildCache()  # lives here, so the server's memory never holds a build
    while True:
        try:
            changed = connection.recv()
        except (EOFError, OSError):
            return  # the server stopped
        urls = edited_pages(options, cache, changed)
        if urls:
            connection.send(("pages", urls))
        errors = run_build(options, cache)
        release_memory()
        connection.send(("built", errors))


def edited_pages(options: BuildOptions, cache: BuildCache, changed: set[str] | None) -> list[str]:
    """Write the pages of edited sections ahead of the rebuild, where that is safe (quick.py)."""
    if not changed or cache.last is None:
        return []
    started = time.perf_counter()
    try:
        urls = write_edited_pages(cache.last, changed, options.out_dir.expanduser().resolve(),
                                  options.strict)
    except Exception:  # noqa: BLE001 - the rebuild that follows reports whatever this was
        if os.environ.get("KAKEHASHI_DEBUG"):
            traceback.print_exc()
        return []
    if urls:
        LOG.info("Updated %s in %.3f s; rebuilding the rest of the site", ", ".join(urls),
                 time.perf_counter() - started)
    return urls


def release_memory() -> None:
    """Give what a build freed back to the system: glibc keeps freed heap pages otherwise.

    Cycles go first: a stage that pauses the collector (the search index) leaves its
    garbage to the next collection, which would otherwise come during the next build.
    """
    gc.collect()
    if sys.platform.startswith("linux"):
        try:
            ctypes.CDLL(None).malloc_trim(0)
        except (OSError, AttributeError):
            pass  # not glibc (musl has no malloc_trim)


@dataclass
class Builder:
    """The rebuild process, seen from the server: started on demand, restarted if it dies.

    Builds run in a process of their own, so a long regular expression over a huge section
    (which holds Python's lock for seconds) never stalls a request, and a crash that takes
    the process down is one line, not the end of the server.
    """

    options: BuildOptions
    process: multiprocessing.process.BaseProcess | None = None
    connection: object = None  # the server's end of the pipe
    busy: bool = False  # a build is running
    stopping: bool = False  # the server is stopping: the process's end is no failure

    def build(self, changed: set[str] | None = None,
              on_pages: Callable[[list[str]], None] | None = None) -> tuple[Diagnostic, ...]:
        """Run one build in the process; what failed (empty when it worked). `changed`:
        the paths saved since the last build; `on_pages` is told of pages written ahead."""
        if self.stopping:
            return ()
        if self.process is None or not self.process.is_alive():
            context = multiprocessing.get_context("spawn")  # a fresh interpreter, no threads
            self.connection, theirs = context.Pipe()
            self.process = context.Process(target=build_process, args=(self.options, theirs),
                                           name="kakehashi-build", daemon=True)
            self.process.start()
            theirs.close()
        self.busy = True
        try:
            self.connection.send(changed)
            while True:
                kind, value = self.connection.recv()
                if kind == "built":
                    return value
                if on_pages is not None:
                    on_pages(value)
        except (EOFError, OSError):
            self.process.join(1)
            code, self.process = self.process.exitcode, None
            if self.stopping:
                return ()
            how = (f"signal {-code}" + ("; out of memory?" if code == -9 else "")  # SIGKILL
                   if code and code < 0 else f"exit status {code}")
            crash = Diagnostic("kakehashi", None, None, "error", f"internal error (the build "
                               f"process stopped with {how}) while building; the last good "
                               "site stays online and the next save starts a new one",
                               "internal")
            print(crash.format(), file=sys.stderr)
            return (crash,)
        finally:
            self.busy = False

    def stop(self) -> None:
        """End the process: when idle, through the pipe; a build still running is cut short."""
        self.stopping = True
        process = self.process
        if process is None:
            return
        if not self.busy:
            self.connection.close()  # the process reads the end of the pipe and returns
            process.join(STOP_SECONDS)
        if process.is_alive():
            process.terminate()  # the next build cleans what an interrupted write left
            process.join(STOP_SECONDS)


def serve(options: BuildOptions, host: str = "127.0.0.1", port: int = 8000) -> int:
    """Build, then serve and rebuild until Ctrl-C; return the exit status."""
    try:
        sockets = bind_sockets(port, host)
    except OSError as exc:
        print(listen_problem(host, port, exc), file=sys.stderr)
        return 1
    out_dir = options.out_dir.expanduser().resolve()
    state = ServeState(out_dir)
    builder = Builder(options)
    try:
        return serve_site(builder, state, sockets, options, host, port)
    finally:
        builder.stop()


def serve_site(builder: Builder, state: ServeState, sockets: list, options: BuildOptions,
               host: str, port: int) -> int:
    """The first build, then the server and the watcher until Ctrl-C."""
    folders = [os.path.realpath(folder) for folder in
               (options.content_dir, options.templates_dir, options.static_dir)]
    skipped = (str(state.out_dir),)  # never our own output, wherever --out points
    built_from = snapshot(folders, skipped)
    state.errors = builder.build()
    if not (state.out_dir / "index.html").is_file():
        print("serve: the first build failed, so there is nothing to serve yet; fix the errors "
              "above and run it again", file=sys.stderr)
        return 1
    base_path = served_path(options)
    loop = IOLoop.current()

    def rebuild(changed: set[str]) -> None:
        state.errors = builder.build(changed, lambda _: loop.add_callback(reload_browsers, state))
        loop.add_callback(reload_browsers, state)

    stop = threading.Event()
    watcher = threading.Thread(target=watch, args=(folders, skipped, rebuild, stop, built_from),
                               name="kakehashi-watch", daemon=True)
    logging.getLogger("tornado").setLevel(logging.WARNING)
    logging.getLogger("tornado.access").setLevel(logging.ERROR)  # no line per request
    server = HTTPServer(make_application(state, base_path, host, port),
                        max_header_size=MAX_HEADER_BYTES)
    server.add_sockets(sockets)
    watcher.start()
    try:
        LOG.info("Serving http://%s:%d%s (Ctrl-C stops)", host, port,
                 quote(base_path, safe=URL_SAFE))
        loop.start()
    except KeyboardInterrupt:
        pass
    stop.set()
    server.stop()
    watcher.join(STOP_SECONDS)  # a rebuild in its last steps may finish; a long one is cut
    LOG.info("Stopped.")
    return 0


def listen_problem(host: str, port: int, exc: OSError) -> str:
    """Why the server could not listen on host:port, as one line."""
    if exc.errno == errno.EADDRINUSE:
        return (f"serve: port {port} on {host} is already in use; stop the other server or "
                f"choose another with --port")
    return f"serve: cannot listen on {host}:{port} ({exc.strerror or exc})"


def served_path(options: BuildOptions) -> str:
    """The decoded path the site is served under: that of --base-url or site.toml's, with '/'."""
    base_url = options.base_url
    if not base_url:
        try:
            data = tomllib.loads((options.content_dir / "site.toml").read_text("utf-8-sig"))
            base_url = str(data.get("base_url", "/"))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
            base_url = "/"
    path = unquote(urlsplit(base_url).path or "/")
    return path if path.endswith("/") else path + "/"
