"""serve's server side: the site over HTTP under its base path, with live reload.

Takes the output folder, the decoded base path and the address served; gives the Tornado
application `serve` runs. Pages are read whole and given the live-reload script and,
after a failed rebuild, the error overlay, with an exact Content-Length; the base path is
matched against the percent-decoded request path, so any legal character works; odd or
hostile URLs get a 4xx; the live-reload socket talks only to pages of this server.
"""

from __future__ import annotations

import asyncio
import html
import ipaddress
import json
import mimetypes
import os
import stat
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote, unquote_to_bytes, urlsplit

import livereload
from tornado import web
from tornado.routing import Matcher, Rule
from tornado.websocket import WebSocketClosedError, WebSocketHandler

from .diagnostics import Diagnostic

SWAP_WAIT_SECONDS = 0.5  # a request that finds no output folder waits this long for the swap
MAX_URL_BYTES = 8192  # longer request targets are answered 414
MAX_HEADER_BYTES = 1 << 20  # Tornado closes the connection on larger request headers
CHUNK_BYTES = 1 << 16  # files other than pages are sent in pieces of this size
# Opening never waits: a named pipe in the output folder must not hang the server.
OPEN_FLAGS = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
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
    """What the server shows: written by serve's watcher thread, read by the server's thread."""

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
            await asyncio.sleep(0.01)  # mid-swap, where a swap takes two renames
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
