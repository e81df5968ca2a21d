"""Shared fixtures: a small bilingual project written from a dict, and the build command;
for the real-browser, server and PDF tests: Chromium, Playwright and `build.py serve`."""

from __future__ import annotations

import contextlib
import functools
import http.client
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import tomllib
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
TESTDATA = ROOT / "tests" / "data"  # third-party BibTeX files, with their licences
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

SITE_TOML = """\
default_language = "ja"
base_url = "https://example.org/report/"
bibliography_file = "references.bib"
citation_numbering = "bibliography"
bibliography = "all"
allow_missing_translations = false

[languages.ja]
title = "試験報告"
description = "テスト用の小さな報告書。"

[languages.en]
title = "Test Report"
description = "A small report for the tests."
"""

# Six sources, numbered 1–6 in this order.
REFERENCES_BIB = """\
% Test bibliography: six sources.

@online{altman-memo,
  author       = {{The Information}},
  title        = {Altman Memo Forecasts 'Rough Vibes' Due to Resurgent Google},
  date         = {2025-11-20},
  url          = {https://www.theinformation.com/articles/altman-memo},
  urldate      = {2025-11-24},
}

@online{yamada-2025,
  author       = {山田, 太郎},
  title        = {生成AIの現状と課題},
  englishtitle = {The State and Challenges of Generative AI},
  language     = {japanese},
  date         = {2025-11-01},
  url          = {https://example.jp/yamada/ai},
  urldate      = {2025-11-12},
}

@article{smith-2024,
  author       = {Smith, Jane and Doe, John},
  title        = {Scaling Laws for Neural Language Models: A Review},
  journal      = {Journal of AI Research},
  volume       = {12},
  number       = {3},
  pages        = {1--20},
  date         = {2024-03},
}

@online{google-gemini-3,
  author       = {{Google DeepMind}},
  title        = {A new era of intelligence with Gemini 3},
  date         = {2025-11-18},
  url          = {https://blog.google/products/gemini/gemini-3/},
  urldate      = {2025-11-24},
}

@online{xpert-shallotpeat,
  title        = {Project Shallotpeat},
  organization = {Xpert.Digital},
  url          = {https://xpert.digital/en/project-shallotpeat/},
  urldate      = {2025-11-24},
}

@book{doe-2023,
  author       = {Doe, John},
  title        = {The iPhone and the eBook: Lower-Case Names in Titles},
  publisher    = {Example Press},
  location     = {London},
  year         = {2023},
}
"""

SECTIONS = {
    "sections/01-memo-leak.ja.md": """\
---
title: "メモ流出"
summary: "内部メモの概要。"
---

## 経緯

メモは流出した。[^altman-memo][^yamada-2025][^smith-2024]

その後の報道[^altman-memo][^google-gemini-3]があった。[^note]

[^note]: これは通常の脚注である。
""",
    "sections/01-memo-leak.en.md": """\
---
title: "The memo leak"
summary: "What the internal memo said."
---

## Background

The memo leaked.[^altman-memo][^yamada-2025][^smith-2024]

Reports followed[^altman-memo][^google-gemini-3].[^note]

[^note]: This is an ordinary footnote.
""",
    "sections/02-gemini.ja.md": """\
---
title: "Gemini 3"
---

## 性能

Gemini 3 が公開された。[@google-gemini-3; @xpert-shallotpeat]

### 評価

評価は分かれる。[@smith-2024]
""",
    "sections/02-gemini.en.md": """\
---
title: "Gemini 3"
---

## Performance

Gemini 3 was released.[@google-gemini-3; @xpert-shallotpeat]

### Evaluation

Opinions differ.[@smith-2024]
""",
    "sections/03-conclusion.ja.md": """\
---
title: "結論"
---

計画は続く。[^xpert-shallotpeat]
""",
    "sections/03-conclusion.en.md": """\
---
title: "Conclusion"
---

The plan goes on.[^xpert-shallotpeat]
""",
}

DEFAULT_FILES = {"site.toml": SITE_TOML, "references.bib": REFERENCES_BIB, **SECTIONS}


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--update-golden", action="store_true", default=False,
                     help="rewrite the golden output trees under tests/golden/")


@pytest.fixture
def update_golden(request: pytest.FixtureRequest) -> bool:
    return request.config.getoption("--update-golden")


def write_project(folder: Path, files: dict[str, str | bytes | None] | None = None,
                  defaults: bool = True) -> Path:
    """Write a content tree into `folder`: the defaults, overridden (None removes) by `files`."""
    tree: dict[str, str | bytes | None] = dict(DEFAULT_FILES) if defaults else {}
    tree.update(files or {})
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "sections").mkdir(exist_ok=True)
    for relative, text in tree.items():
        if text is None:
            continue
        path = folder / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(text, bytes):
            path.write_bytes(text)
        else:
            path.write_text(text, encoding="utf-8", newline="")
    return folder


@pytest.fixture
def project(tmp_path: Path):
    """A factory: `project({path: text})` writes tmp_path/content and returns that folder.

    The dict overrides the default project (site.toml, references.bib, three sections in
    ja and en); a value of None leaves that default file out; `defaults=False` starts empty.
    """
    def make(files: dict[str, str | bytes | None] | None = None, defaults: bool = True,
             name: str = "content") -> Path:
        return write_project(tmp_path / name, files, defaults)
    return make


def run_build(content: Path, out: Path, *args: str, cwd: Path | None = None,
              env: dict[str, str] | None = None, root: Path = ROOT) -> tuple[int, str, str]:
    """Run `python build.py --content CONTENT --out OUT ARGS…`; (returncode, stdout, stderr)."""
    command = [sys.executable, str(root / "build.py"), "--content", str(content),
               "--out", str(out), *args]
    environment = dict(os.environ, **(env or {}))
    completed = subprocess.run(command, cwd=cwd or root, env=environment, capture_output=True,
                               text=True, timeout=120)
    return completed.returncode, completed.stdout, completed.stderr


@pytest.fixture(scope="session")
def built_default(tmp_path_factory) -> Path:
    """The default project built once (with its site.toml base_url); do not modify it."""
    folder = tmp_path_factory.mktemp("default-site")
    content = write_project(folder / "content")
    code, _, stderr = run_build(content, folder / "out")
    assert code == 0, stderr
    return folder / "out"


@pytest.fixture(scope="session")
def project_copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A private copy of the generator (build.py, kakehashi/, templates/, static/).

    Tests that try to make the build write over the project root or the templates folder
    use this copy, so a regression can never damage the real repository.
    """
    root = tmp_path_factory.mktemp("kakehashi-copy")
    shutil.copy2(ROOT / "build.py", root / "build.py")
    for name in ("kakehashi", "templates", "static"):
        shutil.copytree(ROOT / name, root / name,
                        ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    return root


def tree_bytes(folder: Path) -> dict[str, bytes]:
    """Every file under `folder` (hidden ones too), keyed by its POSIX relative path."""
    return {path.relative_to(folder).as_posix(): path.read_bytes()
            for path in sorted(folder.rglob("*")) if path.is_file()}


# --- Real browser and real server (test_browser.py, test_serve.py, test_pdf.py) ---------------
#
# These tests drive Debian's Chromium through Playwright for Python and run the real
# `build.py serve` on a free port of 127.0.0.1. Locally they skip when Chromium or
# Playwright is missing; under CI=true a missing piece is a failure, never a skip.

CHROMIUM_DEFAULT = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run"]
SERVER_START_SECONDS = 30
SERVER_STOP_SECONDS = 5


def require(found: bool, reason: str) -> None:
    """Skip the test when something it needs is missing; under CI=true, fail instead."""
    if found:
        return
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason} (CI=true: a missing system package is a failure, never a skip)", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def chromium_path() -> str:
    """Chromium's binary: $CHROMIUM, else /usr/bin/chromium."""
    configured = os.environ.get("CHROMIUM") or CHROMIUM_DEFAULT
    found = shutil.which(configured)
    require(found is not None, f"Chromium not found at {configured} (set CHROMIUM, or on "
                               "Debian: apt-get install chromium fonts-noto-cjk)")
    return found


@pytest.fixture(scope="session")
def playwright_driver():
    """Playwright's synchronous API, started once per session."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        require(False, "Playwright for Python is not installed "
                       "(pip install -r requirements-test.txt)")
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="session")
def browser(chromium_path: str, playwright_driver):
    """One headless Chromium for the whole session (Playwright drives the system's binary)."""
    instance = playwright_driver.chromium.launch(executable_path=chromium_path,
                                                 args=CHROMIUM_ARGS)
    yield instance
    instance.close()


# --- System packages (Debian) that some tests need --------------------------------------------
#
# `require_packages("chromium", "poppler-utils", …)` checks each package by what it brings (a
# program on PATH, a font family fontconfig knows), so it also works where the same things
# come from elsewhere. Missing ones skip the test locally with one line naming the Debian
# packages to install; under CI=true they fail it (through `require`).

POPPLER_TOOLS = ("pdfinfo", "pdffonts", "pdftotext", "pdftoppm")
PACKAGE_FONTS = {
    "fonts-noto-cjk": ("Noto Sans CJK JP", "Noto Serif CJK JP"),
    "fonts-ipaexfont-mincho": ("IPAexMincho",),
    "fonts-ipaexfont-gothic": ("IPAexGothic",),
}


def font_families() -> set[str]:
    """Every font family fontconfig knows, case-folded (empty without fc-list)."""
    try:
        completed = subprocess.run(["fc-list", "--format", "%{family}\n"], capture_output=True,
                                   text=True, timeout=30, stdin=subprocess.DEVNULL)
    except (OSError, subprocess.TimeoutExpired):
        return set()
    return {name.strip().casefold() for line in completed.stdout.splitlines()
            for name in line.split(",")}


def package_present(name: str, families: set[str]) -> bool:
    """Whether what the Debian package `name` brings is there (`families`: fontconfig's)."""
    if name == "chromium":
        return shutil.which(os.environ.get("CHROMIUM") or CHROMIUM_DEFAULT) is not None
    if name == "poppler-utils":
        return all(shutil.which(tool) for tool in POPPLER_TOOLS)
    return all(family.casefold() in families for family in PACKAGE_FONTS[name])


def require_packages(*packages: str) -> None:
    """Skip the test unless every named Debian package is installed; under CI=true, fail."""
    families = font_families() if set(packages) & set(PACKAGE_FONTS) else set()
    missing = [name for name in packages if not package_present(name, families)]
    require(not missing, f"needs the Debian package{'s' if len(missing) > 1 else ''} "
                         f"{', '.join(missing)} (apt-get install {' '.join(missing)})")


def free_port() -> int:
    """A TCP port of 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def http_get(url: str, timeout: float = 2.0) -> tuple[int, bytes]:
    """GET a URL without following redirects; (status, body)."""
    parts = urllib.parse.urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
    try:
        connection.request("GET", parts.path or "/")
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


@dataclass
class LiveServer:
    """A running `build.py serve`: its process, address and output."""

    process: subprocess.Popen
    port: int
    base_path: str  # "/" or e.g. "/repo/"
    out: Path
    log_path: Path  # the server's standard error, as a file (a pipe could fill up)

    @property
    def url(self) -> str:
        """The site's root URL, under the base path."""
        return f"http://127.0.0.1:{self.port}{self.base_path}"

    def log(self) -> str:
        return self.log_path.read_text("utf-8", errors="replace")

    def stop(self) -> tuple[int, str]:
        """Ctrl-C (SIGINT), wait for the exit; (returncode, standard error)."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=SERVER_STOP_SECONDS)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
                raise AssertionError(f"serve did not stop within {SERVER_STOP_SECONDS} s of "
                                     f"SIGINT:\n{self.log()}") from None
        return self.process.returncode, self.log()


def site_base_path(content: Path, args: tuple[str, ...]) -> str:
    """The path the site is served under: that of --base-url, else of site.toml's base_url."""
    base_url = args[args.index("--base-url") + 1] if "--base-url" in args else \
        tomllib.loads((content / "site.toml").read_text("utf-8-sig")).get("base_url", "/")
    return urllib.parse.urlsplit(base_url).path or "/"


def start_server(content: Path, out: Path, *args: str, port: int | None = None,
                 wait: bool = True) -> LiveServer:
    """Start `python build.py serve --content CONTENT --out OUT --port PORT ARGS…`.

    Unless `wait` is false, returns once the site answers under its base path.
    """
    port = port or free_port()
    base_path = site_base_path(content, args)
    log_path = out.parent / f"{out.name}-serve-{port}.log"
    command = [sys.executable, str(ROOT / "build.py"), "serve", "--content", str(content),
               "--out", str(out), "--port", str(port), *args]
    with open(log_path, "wb") as log:
        process = subprocess.Popen(command, cwd=ROOT, stdin=subprocess.DEVNULL,
                                   stdout=log, stderr=subprocess.STDOUT)
    server = LiveServer(process, port, base_path, out, log_path)
    deadline = time.monotonic() + SERVER_START_SECONDS
    while wait:
        if process.poll() is not None:
            raise AssertionError(f"serve exited with {process.returncode} before answering:\n"
                                 f"{server.log()}")
        try:
            status, _ = http_get(server.url, timeout=1.0)
            if status == 200:
                break
        except OSError:
            pass
        if time.monotonic() > deadline:
            server.stop()
            raise AssertionError(f"serve did not answer within {SERVER_START_SECONDS} s:\n"
                                 f"{server.log()}")
        time.sleep(0.05)
    return server


@pytest.fixture
def live_server(tmp_path: Path):
    """A factory: `live_server(content, *args)` starts `build.py serve` on a free port.

    Waits until the server answers; at teardown stops every server it started with SIGINT
    and asserts each exits 0 within a few seconds, without a traceback.
    """
    if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
        # Started in the background by a shell without job control: children would inherit
        # an ignored SIGINT and could not be stopped with Ctrl-C as a user does.
        signal.signal(signal.SIGINT, signal.default_int_handler)
    servers: list[LiveServer] = []

    def start(content: Path, *args: str, out: Path | None = None) -> LiveServer:
        server = start_server(content, out or tmp_path / f"site-{len(servers)}", *args)
        servers.append(server)
        return server
    yield start
    for server in servers:
        returncode, log = server.stop()
        assert returncode == 0, f"serve exited with {returncode} after SIGINT:\n{log}"
        assert "Traceback" not in log, log


class QuietHandler(SimpleHTTPRequestHandler):
    """Static files, without a log line per request."""

    def log_message(self, format, *args):  # noqa: A002 (the base class's name)
        pass


@contextlib.contextmanager
def serve_folder(folder: Path) -> Iterator[str]:
    """A built site's folder served as static files on 127.0.0.1; its origin, with no slash."""
    server = ThreadingHTTPServer(("127.0.0.1", 0),
                                 functools.partial(QuietHandler, directory=str(folder)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
