"""The `check` command: every lint of the content, without writing anything.

Takes the content folder; builds the whole site in memory (so every build diagnostic is
found) and adds the lints a build does not need: translation drift between the languages
of a section, broken internal links and fragments, and titles still to be confirmed.
"""

from __future__ import annotations

import json
import posixpath
import sys
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

from .diagnostics import Diagnostics
from .site import BuildOptions, Site, build, plan_site, render_site

SKIPPED_SCHEMES = ("http:", "https:", "mailto:", "tel:", "data:")


class LinkCollector(HTMLParser):
    """Collects ids and local hrefs of one HTML page."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.ids: set[str] = set()
        self.hrefs: list[str] = []

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if attributes.get("id"):
            self.ids.add(attributes["id"])
        if tag in {"a", "link"} and attributes.get("href") and attributes.get("rel") != "canonical" \
                and attributes.get("rel") != "alternate":
            self.hrefs.append(attributes["href"])


def check(content_dir: Path, strict: bool = False, drafts: bool = False,
          output: str = "text") -> int:
    """Run every lint; print diagnostics as text or JSON; return the exit status."""
    options = BuildOptions(content_dir=content_dir, out_dir=Path("_site"), strict=False,
                           drafts=drafts)
    result = build(options, write=False)
    diag = result.diagnostics
    if result.site is not None and not diag.errors:
        check_drift(result.site, diag)
        check_links(result.site, options, diag)
        list_unconfirmed_titles(result.site, diag)
    items = diag.sorted()
    if output == "json":
        json.dump([item.as_dict() for item in items], sys.stdout, ensure_ascii=False, indent=2)
        print()
    else:
        for item in items:
            print(item.format(), file=sys.stderr)
        counts = f"{len(diag.errors)} error(s), {len(diag.warnings)} warning(s)"
        print(f"check: {counts}", file=sys.stderr)
    return 1 if diag.failed(strict) else 0


def check_drift(site: Site, diag: Diagnostics) -> None:
    """Warn when the languages of a section cite different sources."""
    codes = site.config.language_codes
    for slug in site.report.slugs:
        cited = {code: {cite.key for cite in site.rendered[slug, code].sites}
                 for code in codes if (slug, code) in site.rendered}
        for code, keys in cited.items():
            for other, other_keys in cited.items():
                if other <= code:
                    continue
                for key in sorted(keys ^ other_keys):
                    has, lacks = (code, other) if key in keys else (other, code)
                    section = site.report.section(slug, lacks)
                    diag.warning(section.path, 1, 1, f'translation drift: the {has} file cites '
                                 f'"{key}" but this {lacks} file does not', "check.drift")


def check_links(site: Site, options: BuildOptions, diag: Diagnostics) -> None:
    """Every internal link and fragment of the rendered site must resolve."""
    pages = plan_site(site, options)
    files = render_site(pages, options)
    parsed: dict[str, LinkCollector] = {}
    for path, data in files.items():
        if path.endswith(".html"):
            collector = LinkCollector()
            collector.feed(data.decode("utf-8"))
            parsed[path] = collector
    base_path = urlsplit(site.config.base_url).path or "/"
    sources = {f"{language}/{slug}/index.html": site.report.section(slug, language)
               for slug, language in site.rendered}
    for path, collector in sorted(parsed.items()):
        for href in collector.hrefs:
            if href.startswith(SKIPPED_SCHEMES) or href.startswith("//"):
                continue
            problem = resolve_link(path, href, files, parsed, base_path)
            if problem:
                section = sources.get(path)
                where = section.path if section else site.config.content_dir
                line = next((n for n, text in enumerate(section.text.split("\n"), 1)
                             if href in text), None) if section else None
                diag.error(where, line, None, f"broken link {href} on /{path}: {problem}",
                           "check.broken-link")


def resolve_link(page: str, href: str, files: dict, parsed: dict, base_path: str) -> str | None:
    """Why a link from a page does not resolve, or None when it does."""
    split = urlsplit(href)
    target = page
    if split.path.startswith("/"):
        if not split.path.startswith(base_path):
            return f"it leaves the site's base path {base_path}"
        page, split = "index.html", split._replace(path=split.path[len(base_path):] or "./")
    if split.path:
        joined = posixpath.normpath(posixpath.join(posixpath.dirname(page), unquote(split.path)))
        target = joined + "/index.html" if href.split("#")[0].endswith("/") or \
            joined + "/index.html" in files else joined
        if target not in files:
            return "no such page"
    if split.fragment and target in parsed and unquote(split.fragment) not in parsed[target].ids:
        return f'no element with id "{unquote(split.fragment)}"'
    return None


def list_unconfirmed_titles(site: Site, diag: Diagnostics) -> None:
    """Note each entry whose title is marked `verify = {title}`."""
    bibliography = site.bibliography
    for key in bibliography.keys:
        if "title" in bibliography.data.entries[key].fields.get("verify", "").lower():
            diag.note(bibliography.path, bibliography.lines[key], None,
                      f'entry "{key}": title still needs confirming (verify = {{title}})',
                      "check.unconfirmed-title")
