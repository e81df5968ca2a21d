"""The recipe: load, resolve, format, render, plan and write the site.

`build(options)` names the stages in order; `stages.py` holds those before planning, each
reusing what an earlier build computed (serve's `BuildCache` in memory, or build's cache
folder, `cache.py`) and running in parallel for large reports. The pages are then made a
part at a time and each part written as it is made (`SiteOutput`), into a temporary folder
swapped into place only when the site is complete, so the whole site is never held in
memory and a failed build leaves the previous output untouched.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import fcntl
import hashlib
import logging
import os
import re
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from .assets import load_assets
from .bibliography import Bibliography, load_bibliography
from .cache import DiskCache, Reuse
from .config import SiteConfig, load_config
from .diagnostics import Diagnostics, Silence, configured_silences, display_path, inline_silences
from .pages import SitePlan, plan_site
from .render import Renderer, render_site
from .search import start_search
from .stages import (Site, align_sections, check_content, format_entries, load_bibliography_once,
                     load_sections, render_sections, resolve_references, scan_sections)

LOG = logging.getLogger("kakehashi")
MARKER = ".kakehashi-output"
PACKAGE_DIR = Path(__file__).resolve().parent
PROJECT_ROOT = PACKAGE_DIR.parent
LOCK_WAIT_SECONDS = 60  # a build waits this long for another one into the same folder
AT_FDCWD, RENAME_EXCHANGE = -100, 2  # renameat2(2)


@dataclass(frozen=True)
class BuildOptions:
    """What the command line asked for."""

    content_dir: Path  # holds site.toml, the .bib and sections/
    out_dir: Path  # where the site goes
    base_url: str | None = None  # overrides site.toml's base_url
    strict: bool = False  # warnings fail the build
    drafts: bool = False  # include `draft: true` sections
    pdf_links: bool = False  # pages link to LANG/report.pdf (set by the pdf command)
    cache: bool = False  # keep stage outputs in the cache folder beside --out (build, not --no-cache)
    templates_dir: Path = field(default_factory=lambda: resource_dir("templates"))
    static_dir: Path = field(default_factory=lambda: resource_dir("static"))


def resource_dir(name: str) -> Path:
    """One of the engine's own folders: the installed package's copy, else the checkout's."""
    installed = PACKAGE_DIR / name  # `pip install .` puts templates/ and static/ here
    return installed if installed.is_dir() else PROJECT_ROOT / name


@dataclass
class BuildCache:
    """Stage outputs kept between rebuilds by `serve`, keyed by everything they depend on.

    A plain build uses a fresh cache, so it computes everything; `serve` keeps one cache for
    its whole run, so a section edit re-renders that section and the pages that show it.
    """

    store: dict[str, dict] = field(default_factory=dict)  # kind -> slot -> (key, value)
    used: dict[str, set] = field(default_factory=dict)  # kind -> slots used since the last prune
    pages_rendered: int = 0  # pages the last render_site actually rendered
    last: LastBuild | None = None  # the last build, if it succeeded: for serve's quick pages

    def memo(self, kind: str, key, compute, keep_one_per=None):
        """The cached value for `key`, computing it on a miss; optionally one entry per slot."""
        table = self.store.setdefault(kind, {})
        slot = keep_one_per if keep_one_per is not None else key
        self.used.setdefault(kind, set()).add(slot)
        hit = table.get(slot)
        if hit is not None and hit[0] == key:
            return hit[1]
        value = compute()
        table[slot] = (key, value)
        return value

    def bibliography(self, path: Path, diag: Diagnostics) -> Bibliography | None:
        """The parsed .bib, reparsed only when its bytes change; replays its diagnostics."""
        try:
            data = path.read_bytes()
        except OSError:
            data = None

        def load() -> tuple[Bibliography | None, list]:
            own = Diagnostics()
            return load_bibliography(path, own), own.items
        bibliography, items = self.memo("bibliography", (path, data), load, keep_one_per=path)
        diag.items.extend(items)
        return bibliography

    def prune(self) -> None:
        """Forget every slot the builds since the last prune did not use (removed sections, pages)."""
        for kind, table in self.store.items():
            used = self.used.get(kind, set())
            for slot in [slot for slot in table if slot not in used]:
                del table[slot]
        self.used.clear()


@dataclass(frozen=True)
class LastBuild:
    """What serve keeps of its last good build, to render one section's page alone."""

    site: Site
    plan: SitePlan
    renderer: Renderer


@dataclass(frozen=True)
class BuildResult:
    """What a build did."""

    diagnostics: Diagnostics  # every problem found
    files: dict[str, bytes]  # output path -> bytes with write=False (else {}: they are on disk)
    seconds: float  # wall time
    site: Site | None  # the stages' output, None when loading failed


def build(options: BuildOptions, write: bool = True, cache: BuildCache | None = None) -> BuildResult:
    """Build the site: every stage in order, each page written as soon as it is made, and
    the new site put in place of the old one in one step."""
    started = time.perf_counter()
    disk = DiskCache.beside(options.out_dir) if write and options.cache else None
    reuse = Reuse(cache, disk)  # serve's memory, build's cache folder, or nothing to reuse
    if cache is not None:
        cache.last = None  # until this build succeeds
    diag = Diagnostics()
    config = load_config(options.content_dir / "site.toml", diag, options.base_url)
    site = load_site(config, options, diag, reuse) if config else None
    diag.silence(find_silences(options.content_dir, config))
    if site is None or (write and diag.failed(options.strict)):  # check goes on: it lists all
        return BuildResult(diag, {}, time.perf_counter() - started, site)
    plan = plan_site(site, options.pdf_links)
    files: dict[str, bytes] = {}  # the site in memory, for check and pdf (write=False)
    if not write:
        make_files(site, plan, options, reuse, files.update)
        return BuildResult(diag, files, time.perf_counter() - started, site)
    check_output_dir(options, diag)
    if diag.failed(options.strict):
        return BuildResult(diag, {}, time.perf_counter() - started, site)
    renderer = None
    with SiteOutput(options, diag, spare=options.cache or cache is not None) as output:
        if not output.failed:
            renderer = make_files(site, plan, options, reuse, output.add)
            output.commit()
    failed = diag.failed(options.strict)
    if cache is not None:
        cache.pages_rendered = reuse.made.get("pages", 0)
        cache.prune()  # a section or page that is gone must not stay in serve's memory
        cache.last = None if failed or renderer is None else LastBuild(site, plan, renderer)
    if failed:
        return BuildResult(diag, {}, time.perf_counter() - started, site)
    reuse.save()
    seconds = time.perf_counter() - started
    LOG.info("Built %d pages in %.2f s (%d rendered)", len(plan.pages), seconds,
             reuse.made.get("pages", 0))
    return BuildResult(diag, {}, seconds, site)


def make_files(site: Site, plan: SitePlan, options: BuildOptions, reuse: Reuse,
               emit: Callable[[dict[str, bytes]], None]) -> Renderer:
    """Every output file, handed to `emit` a part at a time: the pages, the search index
    (started first, while this process is smallest, as each language's worker starts as
    large as it is, and made while the pages render), the content's files and the static
    ones. Gives the pages' renderer."""
    search = start_search(site, plan, reuse)
    try:
        renderer = render_site(plan, options.templates_dir, reuse, emit,
                               options.out_dir.expanduser().resolve())
    except BaseException:
        search.stop()
        raise
    search.finish(emit)
    emit(site.assets)
    emit(static_files(options))
    return renderer


def load_site(config: SiteConfig, options: BuildOptions, diag: Diagnostics,
              reuse: Reuse) -> Site | None:
    """Load, resolve, format and render: every stage before planning pages."""
    report = load_sections(options.content_dir, config, diag, options.drafts, reuse)
    bibliography = load_bibliography_once(config.bibliography_path, diag, reuse)
    if bibliography is None:
        return None
    scans = scan_sections(report, diag, reuse)
    index, labels = resolve_references(report, scans, bibliography, config, diag, reuse)
    assets = load_assets(options.content_dir, diag)
    check_content(report, assets, diag, reuse)
    entries = format_entries(bibliography, index, config, reuse)
    rendered = render_sections(report, scans, index, labels, entries, config, diag, reuse)
    alignments = align_sections(rendered, config, reuse)
    return Site(config, report, bibliography, index, entries, rendered, labels, assets, alignments,
                scans)


def find_silences(content_dir: Path, config: SiteConfig | None) -> list[Silence]:
    """The author's silences: site.toml's `silence` list and inline comments in every file."""
    files = [content_dir / "site.toml", *sorted((content_dir / "sections").glob("*.md"))]
    if config is not None:
        files.insert(1, config.bibliography_path)
    rules = []
    for path in files:
        try:
            text = path.read_text("utf-8-sig").replace("\r\n", "\n")
        except (OSError, UnicodeDecodeError):
            continue  # loading reported it
        if config is not None and path == config.path:
            rules += configured_silences(config.silence, content_dir, path, text)
        rules += inline_silences(path, text)
    return rules


def static_files(options: BuildOptions) -> dict[str, bytes]:
    """The output files that are not pages: static/, .nojekyll and the output folder's marker."""
    files = {".nojekyll": b"",
             MARKER: b"This folder was created by Kakehashi and is replaced by each build.\n"}
    for path in sorted(options.static_dir.rglob("*")):
        if path.is_file() and not path.name.startswith("."):
            files["static/" + path.relative_to(options.static_dir).as_posix()] = path.read_bytes()
    return files


def check_output_dir(options: BuildOptions, diag: Diagnostics) -> None:
    """Refuse an output folder that holds the user's own files or that the build reads."""
    out = options.out_dir.expanduser().resolve()
    read = {
        options.content_dir.resolve(): "the content folder",
        options.templates_dir.resolve(): "the templates folder",
        options.static_dir.resolve(): "the static folder",
    }
    protected = {
        Path("/"): "the file-system root",
        Path.home().resolve(): "your home folder",
        PROJECT_ROOT: "the project folder",
        Path.cwd().resolve(): "the current folder",
        **read,
    }
    reason = protected.get(out)
    if reason is None:
        reason = next((f"a folder inside {name} (every build would read its own output)"
                       for folder, name in read.items() if out.is_relative_to(folder)), None)
    if reason is None and options.content_dir.resolve().is_relative_to(out):
        reason = "a folder that contains the content"
    if reason is None and out.exists() and not out.is_dir():
        reason = "an existing file"
    if reason is None and any(parent.exists() and not parent.is_dir() for parent in out.parents):
        reason = "a path below an existing file"
    if reason is None and out.is_dir() and any(out.iterdir()) and not (out / MARKER).is_file():
        reason = f"a non-empty folder that Kakehashi did not create (no {MARKER} marker)"
    if reason:
        diag.error(options.out_dir, None, None, f"refusing to write the site into {reason}; "
                   "choose another --out (nothing was changed)", "output.refused")


def write_site(files: dict[str, bytes], options: BuildOptions, diag: Diagnostics,
               spare: bool = False) -> None:
    """Write a site made in memory (the pdf command's) into the output folder, atomically."""
    with SiteOutput(options, diag, spare) as output:
        output.add(files)
        output.commit()


class SiteOutput:
    """The output folder as a build fills it: each file written as soon as it is made.

    The files go into a temporary folder beside the output, swapped into place by `commit`
    only when the site is complete; without a commit (a failed or interrupted build) the
    output is left as it was. At every moment the output folder holds the complete previous
    site or the complete new one; what a killed build left beside it is removed (or put
    back) by the next. With `spare`, the site before is kept beside the output
    (`.OUT.spare`) rather than deleted, and the next build brings that copy up to date: a
    file is written only where its bytes differ, the files the site no longer has are
    removed, so a one-section edit rewrites a few files, not thousands, and nothing in the
    copy is trusted. A file that cannot be written is one message; the build then fails.
    """

    def __init__(self, options: BuildOptions, diag: Diagnostics, spare: bool = False) -> None:
        self.options, self.diag = options, diag
        self.out = options.out_dir.expanduser().resolve()
        self.temporary = self.out.parent / f".{self.out.name}.building-{os.getpid()}"
        self.kept = self.out.parent / f".{self.out.name}.spare"
        self.spare = spare
        self.updating = False  # the temporary folder is the spare copy, being brought up to date
        self.failed = False  # a problem was reported: nothing more is written
        self.names: set[str] = set()  # every file of the new site
        self.lock = contextlib.ExitStack()

    def __enter__(self) -> SiteOutput:
        try:
            self.out.parent.mkdir(parents=True, exist_ok=True)
            self.lock.enter_context(output_lock(self.out))
            recover_interrupted(self.out)
            shutil.rmtree(self.temporary, ignore_errors=True)
            ours = (self.kept / MARKER).is_file()
            self.spare = self.spare and (ours or not self.kept.exists())  # never a folder of the user's
            if self.spare and ours:
                self.kept.rename(self.temporary)  # a kill from here on leaves a folder the next build removes
                self.updating = True
            else:
                if ours:
                    shutil.rmtree(self.kept, ignore_errors=True)  # --no-cache: no copy is kept
                self.temporary.mkdir()
        except TimeoutError:
            self.failed = True
            self.diag.error(self.options.out_dir, None, None, "another Kakehashi build has been "
                            f"writing into this folder for {LOCK_WAIT_SECONDS} s; wait for it to "
                            "finish (nothing was changed)", "output.busy")
        except OSError as exc:
            self.report(exc)
        return self

    def add(self, files: dict[str, bytes]) -> None:
        """Write these files of the new site (nothing, once a file could not be written)."""
        if self.failed:
            return
        try:
            for relative, data in files.items():
                self.names.add(relative)
                path = self.temporary / relative
                if self.updating and same_file(path, data):
                    continue
                if self.updating:
                    clear_way(self.temporary, path)
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(data)
        except OSError as exc:
            self.report(exc)

    def commit(self) -> None:
        """Put the new site in place of the old one: what was added is the whole site."""
        if self.failed:
            return
        try:
            if self.updating:
                remove_others(self.temporary, self.names)
            swap_in(self.temporary, self.out, self.kept if self.spare else None)
        except OSError as exc:
            self.report(exc)

    def __exit__(self, *_) -> None:
        shutil.rmtree(self.temporary, ignore_errors=True)  # gone after a commit: swapped in
        self.lock.close()

    def report(self, exc: OSError) -> None:
        """The one message for a folder or file that cannot be written."""
        self.failed = True
        where = display_path(exc.filename) if exc.filename else display_path(self.out)
        self.diag.error(self.options.out_dir, None, None, "cannot write the site: "
                        f"{exc.strerror or exc} ({where}); the previous site is unchanged",
                        "output.unwritable")


def same_file(path: Path, data: bytes) -> bool:
    """Whether `path` is a plain file holding exactly `data`."""
    try:
        return (not path.is_symlink() and path.stat().st_size == len(data)
                and path.read_bytes() == data)
    except OSError:
        return False


def clear_way(folder: Path, path: Path) -> None:
    """Make room in an earlier site for the file `path`: a folder or link in its place, or a
    file in place of one of its folders, is removed."""
    for parent in reversed(path.relative_to(folder).parents[:-1]):
        if (folder / parent).is_file() or (folder / parent).is_symlink():
            (folder / parent).unlink()
    if path.is_symlink() or path.is_file():
        path.unlink()
    elif path.is_dir():
        shutil.rmtree(path)


def remove_others(folder: Path, names: set[str]) -> None:
    """Remove from an earlier site every file and folder the new one does not have."""
    folders = {""}
    for name in names:
        while (name := name.rpartition("/")[0]) and name not in folders:
            folders.add(name)
    for top, subfolders, files in os.walk(folder, topdown=True):
        here = os.path.relpath(top, folder).replace(os.sep, "/").removeprefix(".")
        prefix = here + "/" if here else ""
        for name in list(subfolders):
            path = os.path.join(top, name)
            if os.path.islink(path):
                files.append(name)  # a link is removed like a file, never followed
                subfolders.remove(name)
            elif prefix + name not in folders:
                shutil.rmtree(path)
                subfolders.remove(name)
        for name in files:
            if prefix + name not in names:
                os.unlink(os.path.join(top, name))


def swap_in(temporary: Path, out: Path, spare: Path | None = None) -> None:
    """Put the finished folder at `out`: one atomic exchange where the system has one. The
    site it replaces is deleted, or kept as `spare`."""
    if not out.exists():
        temporary.rename(out)
        return
    if not exchange_paths(temporary, out):
        previous = out.parent / f".{out.name}.previous-{os.getpid()}"
        out.rename(previous)  # a kill here is repaired by the next build (recover_interrupted)
        temporary.rename(out)
        temporary = previous
    if spare is not None:
        temporary.rename(spare)  # after an exchange: the previous site
    else:
        shutil.rmtree(temporary, ignore_errors=True)


def exchange_paths(first: Path, second: Path) -> bool:
    """Swap two paths in one step (Linux renameat2 RENAME_EXCHANGE); False where unsupported."""
    renameat2 = getattr(ctypes.CDLL(None, use_errno=True), "renameat2", None)
    if renameat2 is None:
        return False
    if renameat2(AT_FDCWD, os.fsencode(first), AT_FDCWD, os.fsencode(second), RENAME_EXCHANGE) == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.ENOSYS, errno.EINVAL, errno.EOPNOTSUPP):
        return False
    raise OSError(code, os.strerror(code), str(second))


def recover_interrupted(out: Path) -> None:
    """Clean what killed builds left beside `out`; put a previous site back if `out` is gone."""
    pattern = re.compile(rf"^\.{re.escape(out.name)}\.(building|previous)-(\d+)$")
    for path in sorted(out.parent.iterdir()):
        match = pattern.match(path.name)
        if not match or process_alive(int(match[2])):
            continue
        if match[1] == "previous" and not out.exists() and (path / MARKER).is_file():
            path.rename(out)  # killed between the two renames: the previous site comes back
        else:
            shutil.rmtree(path, ignore_errors=True)


def process_alive(pid: int) -> bool:
    """Whether another process with this id is running (our own id counts as not)."""
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@contextlib.contextmanager
def output_lock(out: Path):
    """One build at a time into one folder: wait for another to finish, then give up."""
    name = hashlib.sha256(str(out).encode()).hexdigest()[:16]
    path = Path(tempfile.gettempdir()) / f"kakehashi-{name}.lock"
    with open(path, "a") as handle:
        deadline = time.monotonic() + LOCK_WAIT_SECONDS
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise TimeoutError from None
                time.sleep(0.1)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
