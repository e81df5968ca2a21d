"""The `serve` command: build, serve with livereload, rebuild on every change.

Takes the build options, host and port. Serves the output folder under the base URL's
path (so `--base-url https://u.github.io/repo/` previews at `/repo/`, as Pages serves it),
watches content/, templates/ and static/, and rebuilds. A failed rebuild keeps the last
good site online and shows every error as an overlay on the page and in the terminal.
"""

from __future__ import annotations

import errno
import html
import logging
import sys
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from livereload import Server
from livereload.handlers import LiveReloadHandler, StaticFileHandler
from tornado import web
from tornado.ioloop import IOLoop
from tornado.netutil import bind_sockets

from .diagnostics import Diagnostic
from .site import BuildCache, BuildOptions, build

LOG = logging.getLogger("kakehashi")
COALESCE_SECONDS = 0.15  # saves closer together than this make one rebuild
OVERLAY_STYLE = ("position:fixed;inset:auto 0 0 0;max-height:60vh;overflow:auto;z-index:2147483647;"
                 "margin:0;padding:1rem 1.25rem;background:#2b0b0b;color:#ffe9e9;"
                 "font:14px/1.5 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;"
                 "border-top:4px solid #ff5c5c;white-space:pre-wrap")


@dataclass
class ServeState:
    """What the server shows: the errors of the last failed rebuild, if any."""

    errors: list[Diagnostic] = field(default_factory=list)


def overlay_html(errors: list[Diagnostic]) -> str:
    """The error overlay injected into every served page after a failed rebuild."""
    lines = "\n".join(html.escape(item.format()) for item in errors)
    return (f'<pre id="kakehashi-errors" role="alert" style="{OVERLAY_STYLE}">'
            f"<strong>Kakehashi: the last rebuild failed; showing the last good site.</strong>\n"
            f"{lines}</pre>")


class SiteFileHandler(StaticFileHandler):
    """Static files of the site, with the error overlay when the last rebuild failed."""

    def initialize(self, path, default_filename=None, state=None):
        super().initialize(path, default_filename)
        self.state = state

    def validate_absolute_path(self, root, absolute_path):
        """Refuse anything that resolves outside the site folder (symlinks included)."""
        resolved = Path(absolute_path).resolve()
        if not resolved.is_relative_to(Path(root).resolve()):
            raise web.HTTPError(403)
        return super().validate_absolute_path(root, absolute_path)

    def shows_overlay(self) -> bool:
        """Whether this response is an HTML page served after a failed rebuild."""
        return bool(self.state.errors) and self.absolute_path.endswith(".html")

    def write(self, chunk):
        if self.shows_overlay() and isinstance(chunk, bytes) and b"</body>" in chunk:
            chunk = chunk.replace(b"</body>", overlay_html(self.state.errors).encode() + b"</body>", 1)
        return super().write(chunk)

    def get_content_size(self):
        """The file's size, plus the overlay's (Content-Length is set from this)."""
        size = super().get_content_size()
        return size + len(overlay_html(self.state.errors).encode()) if self.shows_overlay() else size


class SiteServer(Server):
    """livereload's server, serving the site under its base path."""

    def __init__(self, out_dir: Path, base_path: str, state: ServeState):
        super().__init__()
        self.out_dir, self.base_path, self.state = out_dir, base_path, state

    def get_web_handlers(self, script):
        handlers = [(rf"{self.base_path}(.*)", SiteFileHandler,
                     {"path": str(self.out_dir), "default_filename": "index.html",
                      "state": self.state})]
        if self.base_path != "/":
            handlers.append((r"/", web.RedirectHandler, {"url": self.base_path}))
        return handlers


def serve(options: BuildOptions, host: str = "127.0.0.1", port: int = 8000) -> int:
    """Build, then serve and rebuild until Ctrl-C; return the exit status."""
    problem = listen_problem(host, port)
    if problem:
        print(problem, file=sys.stderr)
        return 1
    state = ServeState()
    cache = BuildCache()
    pending: list[object] = []  # the scheduled rebuild, if any: bursts of saves coalesce

    def rebuild() -> None:
        pending.clear()
        result = build(options, cache=cache)
        for item in result.diagnostics.sorted():
            print(item.format(), file=sys.stderr)
        state.errors = [d for d in result.diagnostics.sorted()
                        if d.severity == "error" or options.strict and d.severity == "warning"]
        if state.errors:
            LOG.error("Rebuild failed after %.2f s; the last good site stays online.",
                      result.seconds)

    def changed() -> None:
        if not pending:
            pending.append(IOLoop.current().call_later(COALESCE_SECONDS, rebuild_and_reload))

    def rebuild_and_reload() -> None:
        rebuild()
        LiveReloadHandler.reload_waiters("*")

    rebuild()
    out_dir = options.out_dir.expanduser().resolve()
    if not (out_dir / "index.html").is_file():
        print("serve: the first build failed, so there is nothing to serve yet; fix the errors "
              "above and run it again", file=sys.stderr)
        return 1
    base_url = options.base_url or ""
    base_path = urlsplit(base_url).path if base_url else site_base_path(options)
    server = SiteServer(out_dir, base_path or "/", state)
    for folder in (options.content_dir, options.templates_dir, options.static_dir):
        server.watch(str(folder), changed, delay="forever")  # we reload after our own rebuild
    for name in ("livereload", "tornado"):
        logging.getLogger(name).propagate = False
    try:
        LOG.info("Serving http://%s:%d%s (Ctrl-C stops)", host, port, base_path or "/")
        server.serve(port=port, host=host, root=str(out_dir), restart_delay="forever")  # no reload on start-up
    except OSError as exc:
        # the port was taken between the check and now, or the address went away
        print(listen_problem(host, port) or f"serve: cannot listen on {host}:{port} ({exc})",
              file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        pass
    LOG.info("Stopped.")
    return 0


def listen_problem(host: str, port: int) -> str | None:
    """Why the server could not listen on host:port, as one line; None when it can."""
    try:
        sockets = bind_sockets(port, host)
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            return (f"serve: port {port} on {host} is already in use; stop the other server or "
                    f"choose another with --port")
        return f"serve: cannot listen on {host}:{port} ({exc.strerror or exc})"
    for sock in sockets:
        sock.close()
    return None


def site_base_path(options: BuildOptions) -> str:
    """The path part of site.toml's base_url."""
    try:
        data = tomllib.loads((options.content_dir / "site.toml").read_text("utf-8-sig"))
    except (OSError, tomllib.TOMLDecodeError):
        return "/"
    return urlsplit(str(data.get("base_url", "/"))).path or "/"
