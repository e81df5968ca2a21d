"""Render stage: the Jinja2 environment, the navigation and every page's bytes.

Takes the `SitePlan` (`pages.py`); gives each output file's bytes. Jinja runs with
autoescape and `StrictUndefined`, so a missing value in a template is an error, never empty
text. The list of sections in every page's navigation is rendered once per language
(`Navigation`, from `templates/navigation.html`) and put together for each page: the whole
list up to the plan's `navigation_limit`, beyond it the sections around the current one.
Pages are rendered in parallel for large reports and reused from earlier builds when their
key says nothing they show has changed. UI strings per language live in
`templates/i18n/LANG.toml`.
"""

from __future__ import annotations

import hashlib
import tomllib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, fields
from functools import partial
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from jinja2.bccache import Bucket, FileSystemBytecodeCache
from markupsafe import Markup

from .cache import MISSING, Kept, Reuse, fingerprint
from .config import SiteConfig
from .metadata import ReportDescription
from .pages import Chapter, Page, SitePlan, relative_href
from .workers import parallel_map

NEIGHBOURS = 5  # sections shown before and after the current one in a long report's navigation
LARGE_PAGES = {"print.html": 2, "bibliography.html": 1}  # rendered first, one per worker in turn
LIST_PAGES = ("bibliography.html", "print.html")  # the pages with lists of entries
PAGES_PER_BATCH = 600  # pages rendered before they are written (about 10 MB at 1,000 sections)
# Compiled templates, beside the compiled modules: kept by each template's source checksum
COMPILED_TEMPLATES = Path(__file__).resolve().parent / "__pycache__" / "templates"


@dataclass(frozen=True)
class Shared:
    """What every page's template sees besides the page itself."""

    config: SiteConfig
    ui: dict[str, dict[str, str]]  # language -> UI strings (templates/i18n/LANG.toml)
    reports: dict[str, ReportDescription]  # language -> the report's metadata
    templates: str  # a digest of the templates folder: a template edit changes every key


@dataclass(frozen=True)
class NavigationView:
    """The navigation of one page, as base.html shows it."""

    lists: Markup  # the list of sections: all of them, or those around the current one
    windowed: bool  # True: a long report, so only a part of it is listed
    position: int | None  # the current section's number, if the page is a section
    total: int  # sections in the report


@dataclass(frozen=True)
class Navigation:
    """One language's list of sections, rendered once for every page in one folder."""

    positions: dict[str, int]  # section URL -> its index in reading order
    items: tuple[str, ...]  # each section's <li>
    current: tuple[str, ...]  # the same, marked as the page being read
    opening: str  # the list's start tag
    more: str  # the marker of sections left out before or after
    closing: str  # the list's end tag
    windowed: bool  # more sections than the limit: list only the current one's neighbours

    def view(self, url: str) -> NavigationView:
        """This navigation as shown on the page at `url`."""
        position = self.positions.get(url)
        total = len(self.items)
        start, end = 0, total
        if self.windowed:
            start = max(0, min((position or 0) - NEIGHBOURS, total - 2 * NEIGHBOURS - 1))
            end = min(total, start + 2 * NEIGHBOURS + 1)
        parts = [self.opening, self.more if start > 0 else ""]
        for index in range(start, end):
            parts.append(self.current[index] if index == position else self.items[index])
        parts += [self.more if end < total else "", self.closing]
        return NavigationView(Markup("".join(parts)), self.windowed,
                              None if position is None else position + 1, total)


class CompiledTemplates(FileSystemBytecodeCache):
    """Jinja's compiled templates kept between runs, like Python's own `__pycache__`: a
    template is compiled again when its source changes (Jinja checks its checksum), and a
    folder that cannot be written or a damaged file only costs the compiling (at the
    flagship's size, compiling the templates is a sixth of a build)."""

    def __init__(self, folder: Path = COMPILED_TEMPLATES) -> None:
        super().__init__(str(folder))
        self.folder = folder

    def get_cache_key(self, name: str, filename: str | None = None) -> str:
        """One file per template name, whatever folder it is in (a test's copy of the
        templates replaces the file rather than adding one): the checksum tells them apart."""
        return hashlib.sha1(name.encode("utf-8")).hexdigest()

    def load_bytecode(self, bucket: Bucket) -> None:
        try:
            super().load_bytecode(bucket)
        except Exception:  # noqa: BLE001 - damaged or unreadable: compile it
            bucket.reset()

    def dump_bytecode(self, bucket: Bucket) -> None:
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            super().dump_bytecode(bucket)
        except OSError:  # read-only installation: compile each time
            pass


def make_environment(templates_dir: Path) -> Environment:
    """The Jinja environment for one build."""
    return Environment(
        loader=FileSystemLoader(str(templates_dir)),
        bytecode_cache=CompiledTemplates(),
        autoescape=select_autoescape(["html", "xml"], default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def compile_templates(templates_dir: Path) -> None:
    """Compile every template into the compiled templates' folder (`make` does it once)."""
    env = make_environment(templates_dir)
    for name in env.list_templates(extensions=["html", "xml", "txt"]):
        env.get_template(name)


def load_ui_strings(templates_dir: Path, languages: tuple[str, ...]) -> dict[str, dict]:
    """UI strings per language, from `templates/i18n/LANG.toml`."""
    return {code: tomllib.loads((templates_dir / "i18n" / f"{code}.toml").read_text("utf-8"))
            for code in languages}


def templates_digest(templates_dir: Path) -> str:
    """A digest of every file of the templates folder, names included."""
    digest = hashlib.sha256()
    for path in sorted(templates_dir.rglob("*")):
        if path.is_file():
            digest.update(path.relative_to(templates_dir).as_posix().encode() + b"\0"
                          + path.read_bytes())
    return digest.hexdigest()


def render_navigation(env: Environment, chapters: tuple[Chapter, ...], limit: int, lang: str,
                      here: str, shared: Shared) -> Navigation:
    """A language's list of sections, each rendered once, linked from the page at `here`.

    The links are those of every page beside it (/ja/memo-leak/, /ja/bibliography/…), but
    for the page's link to itself, which is the current item's.
    """
    windowed = len(chapters) > limit
    module = env.get_template("navigation.html").make_module(
        {"href": partial(relative_href, here), "lang": lang, "config": shared.config})
    return Navigation(
        positions={chapter.url: index for index, chapter in enumerate(chapters)},
        items=tuple(str(module.item(chapter, False, windowed)) for chapter in chapters),
        current=tuple(str(module.item(chapter, True, windowed)) for chapter in chapters),
        opening=str(module.opening(windowed)), more=str(module.more()),
        closing=str(module.closing()), windowed=windowed)


def navigation_views(env: Environment, plan: SitePlan, shared: Shared, reuse: Reuse
                     ) -> tuple[dict[str, NavigationView | None], dict[str, tuple | None]]:
    """Each page's navigation (None for pages outside a language), by output path; and what
    it depends on, for the page's key: its language's list of sections, as rendered for the
    page's folder (a digest), and the page's URL, which the view is made from."""
    sections = {chapter.url for chapters in plan.chapters.values() for chapter in chapters}
    places: dict[tuple[str, str], str] = {}  # (language, folder) -> a page there, as seen from it
    for page in plan.pages:
        folder = page.url.rstrip("/").rpartition("/")[0]  # pages beside each other link alike
        if page.lang is not None and (page.lang, folder) not in places:
            places[page.lang, folder] = page.url if page.url not in sections else f"{folder}/_/"

    def render_all(missing: list[tuple[str, str]]) -> list[Navigation]:
        return [render_navigation(env, plan.chapters[lang], plan.navigation_limit, lang,
                                  places[lang, folder], shared) for lang, folder in missing]
    keys = {place: fingerprint("navigation", shared.templates, shared.config.language_codes,
                               plan.chapters[place[0]], plan.navigation_limit, places[place])
            for place in places} if reuse.active else {}
    navigations = reuse.values("navigation", list(places), keys.get, render_all)
    views, depends = {}, {}
    for page in plan.pages:
        place = (page.lang, page.url.rstrip("/").rpartition("/")[0])
        views[page.output_path] = navigations[place].view(page.url) if page.lang else None
        depends[page.output_path] = (keys.get(place), page.url) if page.lang else None
    return views, depends


def bibliography_lists(env: Environment, plan: SitePlan, shared: Shared,
                       reuse: Reuse) -> dict[str, Markup]:
    """The bibliography and print pages' lists of entries with their back-links, by output
    path: rendered again only when an entry or a back-link changed, not with every edit of a
    section (at 2,000 entries they are most of the print page's cost)."""
    pages = {page.output_path: page for page in plan.pages if page.template in LIST_PAGES}

    def key(path: str) -> str:
        page = pages[path]
        return fingerprint("bibliography-lists", shared.templates, shared.config, page.url,
                           page.lang, page.template, page.content.cited, page.content.uncited)

    made = reuse.values("bibliography-lists", list(pages), key,
                        lambda missing: [render_lists(env, pages[path], shared) for path in missing])
    return {path: Markup(html) for path, html in made.items()}


def render_lists(env: Environment, page: Page, shared: Shared) -> str:
    """The lists of entries of the bibliography or the print page `page`."""
    module = env.get_template("bibliography_entries.html").make_module(
        {"ui": shared.ui[page.lang], "lang": page.lang, "config": shared.config,
         "href": page.href})
    return str(module.bibliography_lists(page.content.cited, page.content.uncited,
                                         print_page=page.template == "print.html"))


def render_page(env: Environment, page: Page, shared: Shared, navigation: NavigationView | None,
                lists: Markup | None = None) -> Iterator[str]:
    """One page, as the parts its template writes: the template with the page's content and
    what every page has (and, for the bibliography and the print page, their lists already
    rendered)."""
    context = {field.name: getattr(page.content, field.name) for field in fields(page.content)}
    if lists is not None:
        context["bibliography_html"] = lists
    config = shared.config
    language = page.lang or config.default_language
    context.update(
        url=page.url, lang=page.lang, config=config, all_ui=shared.ui,
        ui=shared.ui.get(page.lang, shared.ui[config.default_language]), base_url=page.base_url,
        href=page.href, absolute=page.absolute, alternates=dict(page.alternates),
        default_url=page.default_url, pdf_url=page.pdf_url, navigation=navigation,
        report_meta=shared.reports[language])
    return env.get_template(page.template).generate(context)


@dataclass(frozen=True)
class Renderer:
    """What rendering a page takes besides the page: the environment, what every page
    sees, each page's navigation and the lists of entries already made."""

    env: Environment
    shared: Shared
    views: dict[str, NavigationView | None]  # by output path
    lists: dict[str, Markup]  # by output path, where they were made ahead (see render_site)

    def render(self, page: Page) -> bytes:
        """One page's bytes."""
        lists = self.lists.get(page.output_path)
        if lists is None and page.template in LIST_PAGES:
            lists = Markup(render_lists(self.env, page, self.shared))
        parts = render_page(self.env, page, self.shared, self.views[page.output_path], lists)
        return b"".join(part.encode("utf-8") for part in parts)  # no str of the whole page


def page_digest(data: bytes) -> str:
    """What the cache keeps of a page: the digest of its bytes."""
    return hashlib.sha256(data).hexdigest()


def page_from(folder: Path | None, path: str, digest: str) -> bytes | object:
    """The page `path` as an earlier build wrote it into `folder`, if it still has `digest`."""
    if folder is None:
        return MISSING
    try:
        data = (folder / path).read_bytes()
    except OSError:
        return MISSING
    return data if page_digest(data) == digest else MISSING


def render_site(plan: SitePlan, templates_dir: Path, reuse: Reuse,
                emit: Callable[[dict[str, bytes]], None], previous: Path | None = None) -> Renderer:
    """Every page's bytes, keyed by its path in the output folder, handed to `emit` a batch
    at a time (`PAGES_PER_BATCH`), so that a large report's pages are never all in memory;
    for a large report, worker processes render them (the print page's making alone would
    add a quarter to this process's memory). What is kept of a page for the next build is
    its digest: a page whose key has not changed is read back from `previous`, the output
    folder, if the file there still has that digest (else it is rendered again). Gives the
    renderer, for serve's pages of single sections (`quick.py`)."""
    config = plan.config
    env = make_environment(templates_dir)
    shared = Shared(config, load_ui_strings(templates_dir, config.language_codes), plan.reports,
                    templates_digest(templates_dir))
    views, view_keys = navigation_views(env, plan, shared, reuse)
    # Kept for the next build when it can reuse them; else made by the worker of their page.
    renderer = Renderer(env, shared, views,
                        bibliography_lists(env, plan, shared, reuse) if reuse.active else {})
    pages = {page.output_path: page for page in plan.pages}
    everywhere = fingerprint(shared) if reuse.active else ""

    def key(path: str) -> str:
        return fingerprint(everywhere, pages[path], view_keys[path])

    def render(path: str) -> bytes:
        return renderer.render(pages[path])

    # the largest first, dealt out one per worker in turn
    paths = sorted(pages, key=lambda path: LARGE_PAGES.get(pages[path].template, 0), reverse=True)
    for first in range(0, len(paths), PAGES_PER_BATCH):
        batch = paths[first:first + PAGES_PER_BATCH]
        emit(reuse.values("pages", batch, key,
                          lambda missing: parallel_map(render, missing, only_collect=True),
                          Kept(page_digest, partial(page_from, previous))))
    return renderer
