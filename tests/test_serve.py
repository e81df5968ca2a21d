"""`build.py serve` for real: a subprocess on a free port of 127.0.0.1, watched in Chromium.

Live reload, the error overlay, robustness against a burst of bad saves, path escapes, a
port in use, the base-URL sub-path and Ctrl-C; then the faults of issue 9, each provoked:
symlink loops and links to huge trees, a rebuild that takes as long as we like, odd URLs,
base paths with unusual characters, pages around the 64 KiB read size, sections that come
and go, foreign websocket origins, an output folder inside the content and a build that
crashes. The watcher polls every 0.25 s, so an edit must reach the open page within 2 s.
Times in these tests are hang guards only; speed is measured in benchmarks/.
"""

from __future__ import annotations

import http.client
import os
import re
import shutil
import signal
import socket
import time
import urllib.parse
from pathlib import Path

import pytest

import conftest
from conftest import ROOT, SECTIONS, http_get, run_build, start_server

SECTION = "sections/01-memo-leak.ja.md"
ORIGINAL = SECTIONS[SECTION]
RELOAD_SECONDS = 2.0
SETTLE_SECONDS = 1.2  # a few polls (0.25 s), the coalescing delay and a small rebuild
HANG_SECONDS = 5.0  # a request or an edit that takes longer than this is a hang
# Set in every page the browser opens, before its own scripts: livereload.js fires
# `LiveReloadConnect` on the document once its websocket has shaken hands with the server.
LIVERELOAD_PROBE = ("document.addEventListener('LiveReloadConnect', "
                    "() => { window.__liveReloadConnected = true; });")


def edit(content: Path, text: str) -> None:
    """Save the section as an editor would: the whole file, rewritten in place."""
    (content / SECTION).write_text(text, encoding="utf-8")


# The section with an unknown citation key at line 8, column 9 (its `[`).
BROKEN = ORIGINAL.replace("メモは流出した。[^altman-memo]",
                          "メモは流出した。[^altman-mmo]", 1)
assert BROKEN.splitlines()[7].startswith("メモは流出した。[^altman-mmo]")


@pytest.fixture
def open_live(browser):
    """A factory: `open_live(url)` is a page on the live server, its livereload connected."""
    contexts = []

    def open_page(url: str):
        context = browser.new_context()
        contexts.append(context)
        context.add_init_script(LIVERELOAD_PROBE)
        page = context.new_page()
        page.goto(url)
        page.wait_for_function("window.__liveReloadConnected === true", timeout=5000)
        return page
    yield open_page
    for context in contexts:
        context.close()


def wait_reloaded(page, seconds: float = 5.0) -> None:
    """Wait until livereload has reloaded the page and reconnected."""
    page.wait_for_function("window.__liveReloadConnected === true", timeout=seconds * 1000)


# --- Live reload and the error overlay -------------------------------------------------------

def test_an_edit_appears_in_the_open_page_without_a_manual_reload(project, live_server, open_live):
    content = project()
    server = live_server(content)
    page = open_live(f"{server.url}ja/memo-leak/")
    assert page.get_by_text("メモは流出した。").count() == 1
    edit(content, ORIGINAL.replace("メモは流出した。", "メモは昨日流出した。", 1))
    page.get_by_text("メモは昨日流出した。").wait_for(timeout=RELOAD_SECONDS * 1000)


def test_a_broken_edit_shows_the_overlay_and_the_fix_clears_it(project, live_server, open_live):
    content = project()
    server = live_server(content)
    page = open_live(f"{server.url}ja/memo-leak/")
    overlay = page.locator("#kakehashi-errors")
    assert overlay.count() == 0
    edit(content, BROKEN)
    overlay.wait_for(state="visible", timeout=RELOAD_SECONDS * 1000)
    message = overlay.inner_text()
    assert re.search(r'(^|/)sections/01-memo-leak\.ja\.md:8:9: error: unknown citation key '
                     r'"altman-mmo"; did you mean "altman-memo"\?', message, re.M), message
    assert page.get_by_text("メモは流出した。").count() == 1  # the last good page stays
    wait_reloaded(page)
    edit(content, ORIGINAL.replace("メモは流出した。", "メモは直った。", 1))
    page.get_by_text("メモは直った。").wait_for(timeout=RELOAD_SECONDS * 1000)
    assert overlay.count() == 0


def test_the_server_survives_fifty_bad_saves_in_a_row(project, live_server, open_live):
    content = project()
    server = live_server(content)
    page = open_live(f"{server.url}ja/memo-leak/")
    for attempt in range(50):
        edit(content, BROKEN.replace("メモは流出した。", f"失敗{attempt}。", 1))
        time.sleep(0.05)
    assert server.process.poll() is None, server.log()
    status, body = http_get(f"{server.url}ja/memo-leak/", timeout=5)
    assert status == 200 and "メモは流出した。".encode() in body  # the last good site
    time.sleep(SETTLE_SECONDS)  # the burst's last rebuild and reload are done
    wait_reloaded(page)
    page.locator("#kakehashi-errors").wait_for(state="visible", timeout=2000)
    edit(content, ORIGINAL.replace("メモは流出した。", "メモは復旧した。", 1))
    page.get_by_text("メモは復旧した。").wait_for(timeout=5000)
    assert page.locator("#kakehashi-errors").count() == 0
    assert "Traceback" not in server.log()


# --- Requests that try to leave the site folder -----------------------------------------------

def raw_get(port: int, path: str) -> tuple[int, bytes]:
    """GET a path exactly as written (http.client sends it unnormalised)."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        connection.putrequest("GET", path, skip_host=True, skip_accept_encoding=True)
        connection.putheader("Host", f"127.0.0.1:{port}")
        connection.endheaders()
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


# Relative to the site's base path; the site folder's parent holds secret.txt.
ESCAPES = ["../secret.txt", "%2e%2e/secret.txt", "..%2fsecret.txt", "%2e%2e%2fsecret.txt",
           "%2E%2E/secret.txt", ".%2e/secret.txt", "ja/../../secret.txt", "ja/..%2f..%2fsecret.txt",
           "ja/%2e%2e/%2e%2e/secret.txt", "static/..%5c..%5csecret.txt", "%2fsecret.txt",
           "/secret.txt", "link-to-secret.txt", "link-to-outside/secret.txt"]


def test_requests_cannot_escape_the_site_folder(project, live_server, tmp_path):
    server = live_server(project())
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP SECRET", encoding="utf-8")
    assert secret.parent == server.out.parent  # `..` from the site root reaches it
    os.symlink(secret, server.out / "link-to-secret.txt")
    os.symlink(tmp_path, server.out / "link-to-outside")
    assert raw_get(server.port, f"{server.base_path}ja/memo-leak/")[0] == 200
    for path in [f"{server.base_path}{escape}" for escape in ESCAPES] + ["/../secret.txt"]:
        status, body = raw_get(server.port, path)
        assert status in (403, 404), (path, status)
        assert b"TOP SECRET" not in body, path


# --- Port in use, base URL, Ctrl-C ------------------------------------------------------------

def test_a_second_server_on_the_same_port_fails_with_one_line(project, live_server, tmp_path):
    content = project()
    first = live_server(content)
    second = start_server(content, tmp_path / "second-site", port=first.port, wait=False)
    returncode = second.process.wait(timeout=60)
    log = second.log()
    assert returncode == 1, log
    assert "Traceback" not in log, log
    assert log.splitlines() == [f"serve: port {first.port} on 127.0.0.1 is already in use; stop "
                                "the other server or choose another with --port"], log
    assert http_get(first.url)[0] == 200  # the first server is unharmed


def test_a_base_url_with_a_path_is_served_under_it(browser, project, live_server):
    server = live_server(project(), "--base-url", "https://u.github.io/repo/")
    assert server.url == f"http://127.0.0.1:{server.port}/repo/"
    status, _ = http_get(f"http://127.0.0.1:{server.port}/")
    assert status in (301, 302, 307, 308)
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
    connection.request("GET", "/")
    assert connection.getresponse().getheader("Location") == "/repo/"
    connection.close()
    assert http_get(f"http://127.0.0.1:{server.port}/ja/")[0] == 404  # nothing outside /repo/
    failed = []
    context = browser.new_context()
    try:
        page = context.new_page()
        page.on("response", lambda response: response.status >= 400
                and not response.url.endswith("/favicon.ico") and failed.append(response.url))
        page.goto(f"http://127.0.0.1:{server.port}/")
        assert page.url == f"http://127.0.0.1:{server.port}/repo/"
        page.click("a.chooser-link[hreflang=en]")
        page.wait_for_url(f"http://127.0.0.1:{server.port}/repo/en/")
        page.click("main ol.toc a >> nth=1")
        page.wait_for_url(f"http://127.0.0.1:{server.port}/repo/en/gemini/")
        sheets = page.evaluate("[...document.styleSheets].filter(s => s.cssRules.length).length")
        assert sheets >= 1
    finally:
        context.close()
    assert failed == []  # every page, stylesheet and livereload.js loaded


def test_ctrl_c_stops_the_server_cleanly(project, live_server):
    server = live_server(project())
    returncode, log = server.stop()
    assert returncode == 0, log
    assert "Traceback" not in log, log
    with pytest.raises(OSError):
        http_get(server.url, timeout=1)


# --- Issue 9: faults provoked against the real server ------------------------------------------

REBUILD_LINE = re.compile(r"^(Built \d+ pages|Rebuild failed|.*\[internal\]$)", re.M)


def rebuilds(server) -> int:
    """How many builds the server has finished, the first included (failed ones too)."""
    return len(REBUILD_LINE.findall(server.log()))


def wait_until(condition, message: str, seconds: float = HANG_SECONDS) -> None:
    """Wait until `condition()` is true; fail with `message` after `seconds`."""
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(message)
        time.sleep(0.05)


def exchange(port: int, request: bytes, timeout: float = HANG_SECONDS) -> bytes:
    """Send raw bytes; the server's answer up to the end of its headers ('' if it sent none)."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as connection:
        connection.sendall(request)
        answer = b""
        try:
            while b"\r\n\r\n" not in answer:
                piece = connection.recv(65536)
                if not piece:
                    break
                answer += piece
        except ConnectionResetError:
            pass
    return answer


def status_of(answer: bytes) -> int | None:
    """The status code of a raw answer; None when the server closed without one."""
    match = re.match(rb"HTTP/1\.[01] (\d{3}) ", answer)
    return int(match[1]) if match else None


def get_target(port: int, target: bytes, headers: bytes = b"") -> bytes:
    """GET a request target exactly as given (no encoding, no checks)."""
    return exchange(port, b"GET " + target + b" HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n" % port
                    + headers + b"Connection: close\r\n\r\n")


def test_the_watcher_never_follows_symlinks_out_of_the_content(project, live_server, tmp_path):
    content = project()
    server = live_server(content)
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "notes.md").write_text("outside", encoding="utf-8")
    built = rebuilds(server)
    os.symlink(content, content / "loop")  # content/loop/loop/… without end
    os.symlink("/", content / "everything")  # a link to a huge tree: the whole file system
    os.symlink(outside, content / "outside")
    wait_until(lambda: rebuilds(server) > built, f"new links made no rebuild:\n{server.log()}")
    started = time.monotonic()
    while time.monotonic() - started < 2 * SETTLE_SECONDS:  # several polls of the watcher
        assert http_get(f"{server.url}ja/memo-leak/", timeout=HANG_SECONDS)[0] == 200
        time.sleep(0.1)
    built = rebuilds(server)
    (outside / "notes.md").write_text("changed behind a link", encoding="utf-8")
    time.sleep(2 * SETTLE_SECONDS)
    assert rebuilds(server) == built, server.log()  # what a link leads to is not watched
    edit(content, ORIGINAL.replace("メモは流出した。", "メモはまだ見張られている。", 1))
    wait_until(lambda: "メモはまだ見張られている。".encode()
               in http_get(f"{server.url}ja/memo-leak/", timeout=HANG_SECONDS)[1],
               f"an edit was missed with links in the content:\n{server.log()}")


SLOW_EN = "---\ntitle: \"Slow\"\n---\n\nSlow to read.\n"
SLOW_JA = "---\ntitle: \"遅い\"\n---\n\n読むのが遅い。\n"


def hold_a_rebuild(content: Path, server) -> int:
    """Make a section a named pipe and wait until a rebuild reads it; the pipe's writing end.

    The rebuild waits until the test writes the section and closes that end.
    """
    sections = content / "sections"
    (sections / "04-slow.en.md").write_text(SLOW_EN, encoding="utf-8")
    os.mkfifo(sections / "04-slow.ja.md")
    writer = []

    def rebuild_is_reading() -> bool:
        try:
            writer.append(os.open(sections / "04-slow.ja.md", os.O_WRONLY | os.O_NONBLOCK))
        except OSError:  # ENXIO: nobody reads the pipe yet
            return False
        return True
    wait_until(rebuild_is_reading, "no rebuild opened the section; provoke a long rebuild "
               f"another way:\n{server.log()}", seconds=10)
    return writer[0]


def release_the_rebuild(content: Path, writer: int) -> None:
    """Put a plain file where the pipe was, then let the held rebuild read the pipe to its end."""
    sections = content / "sections"
    (sections / "04-slow.ja.md.tmp").write_text(SLOW_JA, encoding="utf-8")
    os.replace(sections / "04-slow.ja.md.tmp", sections / "04-slow.ja.md")
    try:
        os.write(writer, SLOW_JA.encode())
    except BrokenPipeError:
        pass  # the reader is gone (the test killed it)
    finally:
        os.close(writer)


def build_processes(server) -> list[int]:
    """The process ids of the server's build process (its multiprocessing children)."""
    found = []
    for children in Path(f"/proc/{server.process.pid}/task").glob("*/children"):
        for pid in children.read_text().split():
            if b"spawn_main" in Path(f"/proc/{pid}/cmdline").read_bytes():
                found.append(int(pid))
    return found


def test_pages_are_served_while_a_rebuild_runs(project, live_server, open_live):
    content = project()
    server = live_server(content)
    page = open_live(f"{server.url}ja/memo-leak/")
    writer = hold_a_rebuild(content, server)
    try:
        finished = rebuilds(server)
        for attempt in range(3):  # during the rebuild: the last good site, at once
            status, body = http_get(f"{server.url}ja/memo-leak/", timeout=HANG_SECONDS)
            assert status == 200 and "メモは流出した。".encode() in body
            assert http_get(f"{server.url}static/kakehashi.css", timeout=HANG_SECONDS)[0] == 200
            edit(content, ORIGINAL.replace("メモは流出した。", f"メモは保存{attempt}。", 1))
            time.sleep(0.3)
        assert rebuilds(server) == finished  # still the same rebuild, still reading
    finally:
        release_the_rebuild(content, writer)
    page.get_by_text("メモは保存2。").wait_for(timeout=HANG_SECONDS * 1000)
    time.sleep(2 * SETTLE_SECONDS)
    assert rebuilds(server) == finished + 2, server.log()  # three saves made one more rebuild
    assert http_get(f"{server.url}ja/slow/")[0] == 200


@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="reads /proc (Linux)")
def test_a_killed_build_is_one_line_and_the_next_save_recovers(project, live_server):
    content = project()
    server = live_server(content)
    writer = hold_a_rebuild(content, server)
    try:
        (child,) = build_processes(server)
        os.kill(child, signal.SIGKILL)  # as the kernel's out-of-memory killer would
        wait_until(lambda: "stopped with signal 9" in server.log(), server.log())
        status, body = http_get(f"{server.url}ja/memo-leak/", timeout=HANG_SECONDS)
        assert status == 200 and "メモは流出した。".encode() in body  # the last good site
        overlay = re.search(rb'<pre id="kakehashi-errors".*?</pre>', body, re.S)[0]
        assert overlay.count(b"\n") == 1 and b"stopped with signal 9" in overlay
    finally:
        release_the_rebuild(content, writer)

    def recovered() -> bool:
        status, body = http_get(f"{server.url}ja/slow/")
        return status == 200 and b"kakehashi-errors" not in body
    wait_until(recovered, f"no new build process rebuilt the site:\n{server.log()}")
    assert "Traceback" not in server.log()


def test_ctrl_c_stops_the_server_while_a_rebuild_hangs(project, live_server):
    content = project()
    server = live_server(content)
    writer = hold_a_rebuild(content, server)
    builders = build_processes(server) if Path("/proc/self/task").exists() else []
    try:
        returncode, log = server.stop()  # within SERVER_STOP_SECONDS, or it fails
    finally:
        os.close(writer)
    assert returncode == 0 and "Traceback" not in log, log
    for pid in builders:  # no build process outlives the server
        wait_until(lambda: not Path(f"/proc/{pid}").exists(), f"build process {pid} lives on")


ODD_TARGETS = [b"%00", b"ja/%00/", b"ja%00.html", b"%zz", b"%", b"%e3%81", b"%ff%fe", b"ja/%0a",
               b"ja/%0d%0aSet-Cookie:%20x=1", b"ja\\memo-leak\\", b"..\\..\\secret.txt",
               b"%5c..%5c..%5csecret.txt", b"..%00/secret.txt", b"..;/secret.txt",
               b"....//....//secret.txt", b"%252e%252e/secret.txt", b"ja/./../../secret.txt",
               b"%c0%ae%c0%ae/secret.txt", b"ja/" + b"x" * 300 + b"/", b"x" * 70_000,
               b"ja/" + b"%e6%97%a5" * 12_000]


def test_odd_urls_get_a_4xx_and_never_a_dropped_connection(project, live_server):
    server = live_server(project())
    for target in ODD_TARGETS:
        answer = get_target(server.port, server.base_path.encode() + target)
        status = status_of(answer)
        assert status is not None and 400 <= status < 500, (target[:60], answer[:200])
        assert b"Set-Cookie" not in answer.partition(b"\r\n\r\n")[0]
    assert status_of(get_target(server.port, b"//ja")) in (403, 404)  # no redirect off-site
    assert http_get(f"{server.url}ja/memo-leak/")[0] == 200  # and the server is well
    assert "Traceback" not in server.log()


@pytest.mark.parametrize("base_path", ["/a(b/", "/a+b/", "/c++[1]*/", "/my%20report/",
                                       "/%E6%97%A5%E6%9C%AC%E8%AA%9E/"])
def test_a_base_path_with_any_legal_characters_is_served(project, live_server, base_path):
    server = live_server(project(), "--base-url", f"https://u.github.io{base_path}")
    port = server.port
    assert status_of(get_target(port, f"{base_path}ja/memo-leak/".encode())) == 200
    answer = get_target(port, f"{base_path.lower()}static/kakehashi.css".encode())
    assert status_of(answer) == 200  # %e6 is %E6: the decoded path is what matches
    status, body = http_get(f"http://127.0.0.1:{port}{base_path}ja/memo-leak/")
    assert status == 200 and "メモは流出した。".encode() in body
    for start in ("/", base_path.rstrip("/")):
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=HANG_SECONDS)
        connection.request("GET", start)
        response = connection.getresponse()
        location = response.getheader("Location")
        connection.close()
        assert response.status in (301, 302, 307, 308) and location.isascii(), location
        assert urllib.parse.unquote(location) == urllib.parse.unquote(base_path), location
    assert status_of(get_target(port, b"/ja/memo-leak/")) == 404  # nothing outside the base


def fetch(url: str) -> tuple[int, dict, bytes]:
    """GET a page: (status, headers, the whole body as Content-Length announced it)."""
    parts = url.split("/", 3)
    connection = http.client.HTTPConnection(parts[2].split(":")[0], int(parts[2].split(":")[1]),
                                            timeout=HANG_SECONDS)
    try:
        connection.request("GET", "/" + parts[3])
        response = connection.getresponse()
        body = response.read()  # http.client raises IncompleteRead on a short body
        return response.status, dict(response.getheaders()), body
    finally:
        connection.close()


def test_the_overlay_is_correct_for_pages_of_any_size(project, live_server):
    content = project()
    server = live_server(content)
    conclusion = content / "sections/03-conclusion.ja.md"
    original = conclusion.read_text(encoding="utf-8")
    page_file = server.out / "ja" / "conclusion" / "index.html"
    straddle = 2 * 65536 - 3  # "</body>" across the second 64 KiB boundary
    padding = 0
    for _ in range(4):
        end = page_file.read_bytes().rfind(b"</body>")
        if end == straddle:
            break
        padding += straddle - end
        built = rebuilds(server)
        conclusion.write_text(original + "\n" + "x" * padding + "\n", encoding="utf-8")
        wait_until(lambda: rebuilds(server) > built, f"no rebuild:\n{server.log()}")
        time.sleep(SETTLE_SECONDS)
    assert page_file.read_bytes().rfind(b"</body>") == straddle
    edit(content, BROKEN)
    wait_until(lambda: b"kakehashi-errors" in http_get(f"{server.url}ja/")[1],
               f"the broken edit brought no overlay:\n{server.log()}")
    for path in ("ja/conclusion/", "ja/", "ja/memo-leak/", "missing/"):
        status, headers, body = fetch(f"{server.url}{path}")
        assert status == (404 if path == "missing/" else 200), path
        assert int(headers["Content-Length"]) == len(body), path
        start = body.index(b'<pre id="kakehashi-errors"')
        end = body.index(b"</pre>", start) + len(b"</pre>")
        assert body[end:].lstrip().startswith(b"</body>") and body.count(b"kakehashi-errors") == 1
        assert b"altman-mmo" in body[start:end], path
        source = server.out / ("404.html" if path == "missing/" else f"{path}index.html")
        script = re.search(rb"<script>\(function\(\)\{var s=.*?</script>", body)[0]
        assert body[:start] + body[end:] == source.read_bytes().replace(b"</head>", script + b"</head>", 1)


def rss_mib(pid: int) -> float:
    """The resident memory of a process and all its children, in MiB (Linux)."""
    total = 0.0
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            total += int(line.split()[1]) / 1024
    for children in Path(f"/proc/{pid}/task").glob("*/children"):
        total += sum(rss_mib(int(child)) for child in children.read_text().split())
    return total


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads /proc (Linux)")
def test_memory_returns_when_sections_come_and_go(project, live_server):
    content = project()
    server = live_server(content)
    text = "---\ntitle: \"大きな節\"\n---\n\n" + "これは長い一行である。" * 60_000 + "\n"  # 2 MB

    def add_and_remove(cycle: int) -> None:
        files = [content / "sections" / f"04-big{cycle}.{lang}.md" for lang in ("ja", "en")]
        for path in files:
            path.write_text(text, encoding="utf-8")
        page = server.out / "ja" / f"big{cycle}" / "index.html"
        wait_until(page.is_file, f"section {cycle} never appeared:\n{server.log()}", seconds=60)
        for path in files:
            path.unlink()
        wait_until(lambda: not page.exists(), f"section {cycle} never went:\n{server.log()}",
                   seconds=60)
        time.sleep(SETTLE_SECONDS)
    for cycle in range(2):
        add_and_remove(cycle)
    settled = rss_mib(server.process.pid)
    for cycle in range(2, 8):
        add_and_remove(cycle)
    grown = rss_mib(server.process.pid) - settled
    assert grown < 15, f"memory grew by {grown:.0f} MiB over 6 sections added and removed"


def handshake(port: int, origin: bytes | None, host: bytes | None = None,
              extra: bytes = b"") -> int | None:
    """The status of a websocket handshake on /livereload from a page of `origin`."""
    host = host or b"127.0.0.1:%d" % port
    origin_header = b"Origin: " + origin + b"\r\n" if origin is not None else b""
    return status_of(exchange(port, b"GET /livereload HTTP/1.1\r\nHost: " + host + b"\r\n"
                              b"Upgrade: websocket\r\nConnection: Upgrade\r\n"
                              b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                              b"Sec-WebSocket-Version: 13\r\n" + origin_header + extra + b"\r\n"))


def test_the_live_reload_socket_accepts_only_its_own_origin(project, live_server):
    server = live_server(project())
    port = server.port
    assert handshake(port, b"http://127.0.0.1:%d" % port) == 101
    assert handshake(port, b"http://localhost:%d" % port, b"localhost:%d" % port) == 101
    for origin in (b"http://evil.example", b"https://evil.example:%d" % port, b"null",
                   b"http://127.0.0.1:%d" % (port + 1), b"https://127.0.0.1:%d" % port,
                   b"http://127.0.0.1.evil.example:%d" % port, b"http://[::1:%d" % port):
        assert handshake(port, origin) == 403, origin
        assert handshake(port, origin, extra=b"Sec-Fetch-Site: cross-site\r\n") == 403, origin
    rebinding = b"evil.example:%d" % port  # a DNS name rebound to 127.0.0.1: same-origin to it
    assert handshake(port, b"http://" + rebinding, rebinding,
                     b"Sec-Fetch-Site: same-origin\r\n") == 403


def test_an_output_folder_inside_the_content_does_not_rebuild_forever(project):
    content = project()
    server = start_server(content, content / "_site", wait=False)
    try:
        deadline = time.monotonic() + 60
        while server.process.poll() is None:
            try:
                if http_get(server.url, timeout=1.0)[0] == 200:
                    break
            except OSError:
                pass
            assert time.monotonic() < deadline, server.log()
            time.sleep(0.05)
        if server.process.poll() is not None:  # the build refuses such an --out: fine too
            assert server.process.returncode == 1 and "Traceback" not in server.log()
            assert "refusing" in server.log(), server.log()
            return
        edit(content, ORIGINAL.replace("メモは流出した。", "メモは一度だけ直した。", 1))
        wait_until(lambda: rebuilds(server) == 2, f"the edit made no rebuild:\n{server.log()}")
        time.sleep(4 * SETTLE_SECONDS)
        assert rebuilds(server) == 2, server.log()  # its own writes are no change to it
    finally:
        returncode, log = server.stop()
    assert returncode == 0 and "Traceback" not in log, log


def test_a_link_from_the_content_to_the_output_does_not_rebuild_forever(project, live_server,
                                                                          tmp_path):
    content = project()
    out = tmp_path / "site"
    os.symlink(out, content / "preview")  # the build accepts this --out: it is not inside
    server = live_server(content, out=out)
    edit(content, ORIGINAL.replace("メモは流出した。", "メモは一度だけ直した。", 1))
    wait_until(lambda: rebuilds(server) == 2, f"the edit made no rebuild:\n{server.log()}")
    time.sleep(4 * SETTLE_SECONDS)
    assert rebuilds(server) == 2, server.log()  # each build rewrites what the link shows


@pytest.fixture
def generator_copy(tmp_path, monkeypatch):
    """A private copy of build.py, kakehashi/, templates/ and static/ that serve runs from."""
    root = tmp_path / "generator"
    root.mkdir()
    shutil.copy2(ROOT / "build.py", root / "build.py")
    for name in ("kakehashi", "templates", "static"):
        shutil.copytree(ROOT / name, root / name,
                        ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    monkeypatch.setattr(conftest, "ROOT", root)  # start_server runs root/build.py
    return root


ZERO_DIVISION = "<article class=\"section\">\n{{ 1 // 0 }}"


def test_a_crashing_rebuild_shows_one_line_and_keeps_the_last_good_site(
        project, live_server, open_live, generator_copy):
    content = project()
    server = live_server(content)
    page = open_live(f"{server.url}ja/memo-leak/")
    template = generator_copy / "templates" / "section.html"
    good = template.read_text(encoding="utf-8")
    template.write_text(good.replace('<article class="section">', ZERO_DIVISION, 1), "utf-8")
    overlay = page.locator("#kakehashi-errors")
    overlay.wait_for(state="visible", timeout=HANG_SECONDS * 1000)
    lines = overlay.inner_text().splitlines()
    assert len(lines) == 2, lines  # the heading and one line naming what failed
    assert re.match(r"templates/section\.html:\d+: error: ", lines[1]), lines
    assert page.get_by_text("メモは流出した。").count() == 1
    status, body = http_get(f"{server.url}ja/memo-leak/", timeout=HANG_SECONDS)
    assert status == 200 and "メモは流出した。".encode() in body
    log = server.log()
    assert "Traceback" not in log and log.count("ZeroDivisionError") == 1, log
    wait_reloaded(page)
    template.write_text(good, encoding="utf-8")
    page.wait_for_function("!document.getElementById('kakehashi-errors')",
                           timeout=HANG_SECONDS * 1000)


def test_a_crashing_first_build_exits_with_one_line(project, generator_copy, tmp_path):
    template = generator_copy / "templates" / "section.html"
    template.write_text(template.read_text(encoding="utf-8")
                        .replace('<article class="section">', ZERO_DIVISION, 1), "utf-8")
    server = start_server(project(), tmp_path / "site", wait=False)
    assert server.process.wait(timeout=60) == 1
    lines = server.log().splitlines()
    assert len(lines) == 2 and "ZeroDivisionError" in lines[0], lines
    assert lines[1].startswith("serve: the first build failed"), lines


# --- Issue 12: the edited section's page first --------------------------------------------------

UPDATED_LINE = re.compile(r"^Updated (\S+) in [\d.]+ s; rebuilding the rest of the site$", re.M)


def test_an_edited_section_is_on_disk_before_the_rebuild_and_equals_it(project, live_server,
                                                                        tmp_path):
    """The edited section's page is written ahead of the rebuild (its own log line, before
    the rebuild's), and what the rebuild then writes for it, byte for byte, is the same."""
    content = project()
    server = live_server(content)
    edit(content, ORIGINAL.replace("その後の報道", "その後の詳しい報道", 1))
    wait_until(lambda: rebuilds(server) == 2, "the edit was not rebuilt")
    log = server.log()
    assert UPDATED_LINE.findall(log) == ["/ja/memo-leak/"], log
    assert log.index("Updated /ja/memo-leak/") < log.rindex("Built "), log
    page = (server.out / "ja/memo-leak/index.html").read_bytes()
    assert "その後の詳しい報道".encode() in page
    assert run_build(content, tmp_path / "fresh")[0] == 0
    assert page == (tmp_path / "fresh/ja/memo-leak/index.html").read_bytes()


@pytest.mark.parametrize("why, text", [
    ("a new title changes every page's navigation", ORIGINAL.replace("メモ流出", "メモの流出", 1)),
    ("a source cited first numbers the sources anew (first-cited numbering)",
     ORIGINAL.replace("流出した。[^altman-memo]", "流出した。[^doe-2023][^altman-memo]", 1)),
    ("an unknown key is an error: the last good site stays", BROKEN),
])
def test_an_edit_that_reaches_beyond_its_section_waits_for_the_rebuild(project, live_server, why,
                                                                       text):
    content = project()
    toml = content / "site.toml"
    toml.write_text(toml.read_text("utf-8").replace('citation_numbering = "bibliography"',
                                                    'citation_numbering = "first-cited"'), "utf-8")
    server = live_server(content)
    before = (server.out / "ja/memo-leak/index.html").read_bytes()
    edit(content, text)
    wait_until(lambda: rebuilds(server) == 2, "the edit was not rebuilt")
    assert not UPDATED_LINE.search(server.log()), why
    if text is BROKEN:
        assert (server.out / "ja/memo-leak/index.html").read_bytes() == before
