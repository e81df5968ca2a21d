"""The `serve` command: build, serve with live reload, rebuild on every change.

Takes the build options, host and port. Serves the output folder under the base URL's
path (so `--base-url https://u.github.io/repo/` previews at `/repo/`, as Pages serves it).
A watcher thread polls content/, templates/ and static/ (never following a symlink, never
looking inside the output folder); after each burst of saves it has a build process of
its own rebuild, one build at a time, so the server keeps answering from the last good
site while a rebuild runs, however long; open pages reload when it ends. A failed rebuild,
whether the content has errors or the build crashed, keeps the last good site online and
shows what failed as an overlay on the page and in the terminal.
"""

from __future__ import annotations

import asyncio
import errno
import html
import ipaddress
import json
import logging
import mimetypes
import multiprocessing
import os
import signal
import stat
import sys
import threading
import time
import tomllib
import traceback
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote, unquote, unquote_to_bytes, urlsplit

import livereload
from tornado import web
from tornado.httpserver import HTTPServer
from tornado.ioloop import IOLoop
from tornado.netutil import bind_sockets
from tornado.routing import Matcher, Rule
from tornado.websocket import WebSocketClosedError, WebSocketHandler

from .diagnostics import Diagnostic, display_path
from .site import PACKAGE_DIR, BuildCache, BuildOptions, build

LOG = logging.getLogger("kakehashi")
POLL_SECONDS = 0.25  # how often the watcher looks for changes
COALESCE_SECONDS = 0.15  # saves closer together than this make one rebuild
WATCH_LIMIT = 20_000  # files the watcher looks at in all; a larger tree gets one warning
BUILD_NICENESS = 5  # the build process yields the processor to the server
STOP_SECONDS = 2.0  # Ctrl-C waits this long for a running rebuild to finish
SWAP_WAIT_SECONDS = 0.5  # a request that finds no output folder waits this long for the swap
MAX_URL_BYTES = 8192  # longer request targets are answered 414
MAX_HEADER_BYTES = 1 << 20  # Tornado closes the connection on larger request headers
CHUNK_BYTES = 1 << 16  # files other than pages are sent in pieces of this size
# Opening never waits: a named pipe in the output folder must not hang the server.
OPEN_FLAGS = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
IGNORED_PREFIXES = (".", "#")  # hidden files and folders, editor autosaves
IGNORED_SUFFIXES = ("~", ".swp", ".swo", ".swx", ".bak", ".tmp")  # editor backups
WILDCARD_HOSTS = ("", "0.0.0.0", "::")
URL_SAFE = "/!$&'()*+,;=:@~"  # left as they are when a decoded base path is put in a URL
LIVERELOAD_JS = Path(livereload.__file__).parent / "vendors" / "livereload.js"
LIVE_SCRIPT = (b'<script>(function(){var s=document.createElement("script");'
               b'var port=window.location.port||(window.location.protocol=="https:"?443:80);'
               b's.src="//"+window.location.hostname+":"+port+"/livereload.js?port="+port;'
               b'document.head.appendChild(s);})();</script>')
OVERLAY_STYLE = ("position:fixed;inset:auto 0 0 0;max-height:60vh;overflow:auto;z-index:2147483647;"
                 "margin:0;padding:1rem 1.25rem;background:#2b0b0b;color:#ffe9e9;"
                 "font:14px/1.5 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;"
                 "border-top:4px solid #ff5c5c;white-space:pre-wrap")


@dataclass
class ServeState:
    """What the server shows: written by the rebuild thread, read by the server's thread."""

    out_dir: Path  # the output folder, resolved
    errors: tuple[Diagnostic, ...] = ()  # what the last rebuild failed with, if it failed
    browsers: set = field(default_factory=set)  # open live-reload sockets (server thread only)


def overlay_html(errors: tuple[Diagnostic, ...]) -> str:
    """The error overlay injected into every served page after a failed rebuild."""
    lines = "\n".join(html.escape(item.format()) for item in errors)
    return (f'<pre id="kakehashi-errors" role="alert" style="{OVERLAY_STYLE}">'
            f"<strong>Kakehashi: the last rebuild failed; showing the last good site.</strong>\n"
            f"{lines}</pre>")


def inject(page: bytes, errors: tuple[Diagnostic, ...]) -> bytes:
    """A whole page with the live-reload script before `</head>`, the overlay before `</body>`."""
    head = page.find(b"</head>")
    if head >= 0:
        page = page[:head] + LIVE_SCRIPT + page[head:]
    if errors:
        overlay = overlay_html(errors).encode()
        body = page.rfind(b"</body>")
        page = page[:body] + overlay + page[body:] if body >= 0 else page + overlay
    return page


def content_type(path: str) -> str:
    """The Content-Type of a file by its name; text in UTF-8."""
    kind = mimetypes.guess_type(path)[0] or "application/octet-stream"
    textual = kind.startswith("text/") or kind in ("application/xml", "application/json",
                                                   "application/javascript", "image/svg+xml")
    return f"{kind}; charset=utf-8" if textual else kind


class DecodedPath(Matcher):
    """Requests whose percent-decoded path starts with `prefix` (or, if `exact`, is it)."""

    def __init__(self, prefix: str, exact: bool = False):
        self.prefix, self.exact = prefix.encode("utf-8"), exact

    def match(self, request) -> dict | None:
        path = unquote_to_bytes(request.path)
        if self.exact:
            return {} if path == self.prefix else None
        if not path.startswith(self.prefix):
            return None
        return {"path_args": [path[len(self.prefix):]], "path_kwargs": {}}


class SiteHandler(web.RequestHandler):
    """The site's files; pages get the live-reload script and, after a failed rebuild, the
    overlay."""

    def initialize(self, state: ServeState) -> None:
        self.state = state

    def set_default_headers(self) -> None:
        self.set_header("Cache-Control", "no-store")

    async def head(self, path: str) -> None:
        await self.get(path, include_body=False)

    async def get(self, path: str, include_body: bool = True) -> None:
        if len(self.request.uri) > MAX_URL_BYTES:
            raise web.HTTPError(414)
        if any(ord(char) < 32 or char == "\x7f" for char in path):
            raise web.HTTPError(400)  # NUL and other control characters name no file
        parts = path.split("/")
        if ".." in parts:
            raise web.HTTPError(403)
        deadline = time.monotonic() + SWAP_WAIT_SECONDS
        while True:
            try:
                target, file = self.open_file(parts)
                break
            except FileNotFoundError:
                if self.state.out_dir.is_dir() or time.monotonic() > deadline:
                    raise web.HTTPError(404) from None
            await asyncio.sleep(0.01)  # between the build's two renames: the new site is coming
        if target is None:
            if self.request.path.startswith("//"):
                raise web.HTTPError(403)  # "//host/" would send the browser to another site
            self.redirect(self.request.path + "/")
            return
        with file:
            self.set_header("Content-Type", content_type(target))
            if target.endswith(".html"):
                self.finish(inject(file.read(), self.state.errors))
                return
            self.set_header("Content-Length", os.fstat(file.fileno()).st_size)
            while include_body and (chunk := file.read(CHUNK_BYTES)):
                self.write(chunk)
                await self.flush()

    def open_file(self, parts: list[str]):
        """(path, open file) of what the URL names in the site folder; (None, None) for a folder
        reached without its final slash. Raises HTTPError when there is nothing to serve."""
        root = os.path.realpath(self.state.out_dir)
        target = os.path.realpath(os.path.join(root, *parts))
        if os.path.commonpath([root, target]) != root:
            raise web.HTTPError(403)  # `..` in disguise, or a symlink out of the site
        if os.path.isdir(target):
            if not self.request.path.endswith("/"):
                return None, None
            target = os.path.join(target, "index.html")
        try:
            descriptor = os.open(target, OPEN_FLAGS)
        except FileNotFoundError:
            raise
        except PermissionError:
            raise web.HTTPError(403) from None
        except OSError:
            raise web.HTTPError(404) from None  # a name too long, a file where a folder is…
        if not stat.S_ISREG(os.fstat(descriptor).st_mode):
            os.close(descriptor)
            raise web.HTTPError(404)
        return target, os.fdopen(descriptor, "rb")

    def write_error(self, status_code: int, **kwargs) -> None:
        """A missing page gets the site's own 404.html, as GitHub Pages serves it."""
        if status_code == 404:
            try:
                page = (self.state.out_dir / "404.html").read_bytes()
            except OSError:
                page = None
            if page is not None:
                self.set_header("Content-Type", "text/html; charset=utf-8")
                self.finish(inject(page, self.state.errors))
                return
        super().write_error(status_code, **kwargs)


def is_own_origin(origin: str, host: str, port: int) -> bool:
    """Whether a browser's Origin is this server's own address, not another site's page."""
    try:
        parts = urlsplit(origin)
        origin_port = parts.port or 80
    except ValueError:
        return False
    name = (parts.hostname or "").lower()
    if parts.scheme != "http" or origin_port != port or not name:
        return False
    try:
        address = ipaddress.ip_address(name)
    except ValueError:
        address = None
    if host in WILDCARD_HOSTS:  # any of this machine's addresses, never a DNS name (rebinding)
        return address is not None or name == "localhost"
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = host == "localhost"
    if loopback:
        return name == "localhost" or (address is not None and address.is_loopback)
    return name == host.lower()


class LiveReloadSocket(WebSocketHandler):
    """livereload.js's socket: the handshake, then a `reload` message after each rebuild."""

    def initialize(self, state: ServeState, host: str, port: int) -> None:
        self.state, self.host, self.port = state, host, port

    def prepare(self) -> None:
        origin = self.request.headers.get("Origin")
        if origin is not None and not self.check_origin(origin):
            raise web.HTTPError(403)  # before Tornado's own check, which trusts same-origin

    def check_origin(self, origin: str) -> bool:
        return is_own_origin(origin, self.host, self.port)

    def on_message(self, message) -> None:
        try:
            command = json.loads(message).get("command")
        except (ValueError, AttributeError):
            return
        if command == "hello":
            self.write_message({"command": "hello", "serverName": "kakehashi",
                                "protocols": ["http://livereload.com/protocols/official-7"]})
            self.state.browsers.add(self)

    def on_close(self) -> None:
        self.state.browsers.discard(self)


class LiveReloadScript(web.RequestHandler):
    """livereload.js itself, from the livereload package."""

    def get(self) -> None:
        self.set_header("Content-Type", "application/javascript; charset=utf-8")
        self.finish(LIVERELOAD_JS.read_bytes())


def reload_browsers(state: ServeState) -> None:
    """Tell every open page to reload (on the server's thread)."""
    for socket in list(state.browsers):
        try:
            socket.write_message({"command": "reload", "path": "*", "liveCSS": True,
                                  "liveImg": True})
        except WebSocketClosedError:
            state.browsers.discard(socket)


def make_application(state: ServeState, base_path: str, host: str, port: int) -> web.Application:
    """The routes: live reload, the site under its (decoded) base path, redirects to it."""
    target = quote(base_path, safe=URL_SAFE)
    rules = [Rule(DecodedPath("/livereload", exact=True), LiveReloadSocket,
                  {"state": state, "host": host, "port": port}),
             Rule(DecodedPath("/livereload.js", exact=True), LiveReloadScript),
             Rule(DecodedPath(base_path), SiteHandler, {"state": state})]
    if base_path != "/":
        for start in ("/", base_path.rstrip("/")):
            rules.append(Rule(DecodedPath(start, exact=True), web.RedirectHandler,
                              {"url": target, "permanent": False}))
    return web.Application(rules, websocket_max_message_size=1 << 16)


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


def watch(folders: list[str], skipped: tuple[str, ...], rebuild: Callable[[], None],
          stop: threading.Event) -> None:
    """Poll the folders until `stop`; after each burst of saves, call `rebuild` (in this thread).

    The snapshot is taken just before the rebuild, so saves during it make one more.
    """
    last = snapshot(folders, skipped)
    if not last[1]:
        LOG.warning("serve: the watched folders hold more than %d files and folders; only "
                    "changes to the first %d are noticed", WATCH_LIMIT, WATCH_LIMIT)
    while not stop.wait(POLL_SECONDS):
        if snapshot(folders, skipped) == last:
            continue
        if stop.wait(COALESCE_SECONDS):
            return
        last = snapshot(folders, skipped)
        rebuild()


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
    """The rebuild process: one build each time the server asks, answered with what failed."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the server's to handle
    if hasattr(os, "nice"):
        os.nice(BUILD_NICENESS)  # on a busy machine the server and the editor come first
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
    cache = BuildCache()  # lives here, so the server's memory never holds a build
    while True:
        try:
            connection.recv()
        except (EOFError, OSError):
            return  # the server stopped
        connection.send(run_build(options, cache))


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

    def build(self) -> tuple[Diagnostic, ...]:
        """Run one build in the process; what failed (empty when it worked)."""
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
            self.connection.send(True)
            return self.connection.recv()
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
    state.errors = builder.build()
    if not (state.out_dir / "index.html").is_file():
        print("serve: the first build failed, so there is nothing to serve yet; fix the errors "
              "above and run it again", file=sys.stderr)
        return 1
    base_path = served_path(options)
    loop = IOLoop.current()

    def rebuild() -> None:
        state.errors = builder.build()
        loop.add_callback(reload_browsers, state)

    folders = [os.path.realpath(folder) for folder in
               (options.content_dir, options.templates_dir, options.static_dir)]
    skipped = (str(state.out_dir),)  # never our own output, wherever --out points
    stop = threading.Event()
    watcher = threading.Thread(target=watch, args=(folders, skipped, rebuild, stop),
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
