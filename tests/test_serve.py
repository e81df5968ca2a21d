"""`build.py serve` for real: a subprocess on a free port of 127.0.0.1, watched in Chromium.

Live reload, the error overlay, robustness against a burst of bad saves, path escapes, a
port in use, the base-URL sub-path and Ctrl-C. livereload polls for changes every 0.8 s, so
an edit must reach the open page within 2 s.
"""

from __future__ import annotations

import http.client
import os
import re
import time
from pathlib import Path

import pytest

from conftest import SECTIONS, http_get, start_server

SECTION = "sections/01-memo-leak.ja.md"
ORIGINAL = SECTIONS[SECTION]
RELOAD_SECONDS = 2.0
SETTLE_SECONDS = 1.2  # one livereload poll (0.8 s), the coalescing delay and a rebuild
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
