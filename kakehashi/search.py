"""Index stage: the search files of each language, made from the rendered sections and sources.

Takes the `Site` (rendered sections, formatted entries) and the `SitePlan` (each language's
sections in reading order); gives the files under `LANG/search/data/` that
`static/search.js` reads on the search page `LANG/search/`:

- `manifest.json`: the number of shards, sections and sources (constant size);
- `tN.json`: shard N of the postings, `{token: [[doc, passage, kind, position…], …]}`, a
  token's shard chosen by `search_tokens.shard_of`, so a query loads only its tokens' shards;
- `sN.json`: section N's title, URL and passages `[[heading id, kind, text], …]`, for
  the snippets of the results shown; `bN.json`: sources in chunks of `SOURCE_CHUNK`.

A document is a section (passage 0 its title, then its headings and blocks: paragraphs,
list items, table rows, footnotes) or a source (its formatted text without the URL). Each
section's passages and postings are reused under a key of its HTML, each language's files
under the keys of all its documents. The files are deterministic: sorted keys, no times.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from html.parser import HTMLParser

from .bibliography import FormattedEntry
from .cache import Reuse, fingerprint
from .markdown_ext import RenderedSection, ref_id
from .pages import Chapter, SitePlan
from .search_tokens import shard_of, tokenize
from .stages import Site
from .workers import parallel_map

TITLE, HEADING, BODY, SOURCE = 0, 1, 2, 3  # passage kinds, in the order results rank them
SOURCE_CHUNK = 32  # sources per snippet file
SHARD_BYTES = 24_000  # about this much of postings per shard file
BLOCKS = {"p", "li", "tr", "dt", "dd", "figcaption", "caption", "pre", "blockquote",
          "h1", "h2", "h3", "h4", "h5", "h6"}
HEADINGS = {"h2", "h3", "h4", "h5", "h6"}
# Not the reader's text: citation marks with their popovers, heading and footnote links.
SKIPPED_CLASSES = {"cite", "anchor", "footnote-backref", "footnote-ref"}
VOID = {"br", "img", "hr", "wbr", "input", "meta", "link", "col", "area", "source"}
URL = re.compile(r"\s*https?://\S+")
SPACES = re.compile(r"\s+")


@dataclass(frozen=True)
class Passage:
    """One searchable block of a document."""

    anchor: str  # id of the heading it is under (or its own id), "" for the top of the page
    kind: int  # TITLE, HEADING, BODY or SOURCE
    text: str  # plain text, as the snippet shows it


@dataclass(frozen=True)
class SearchDoc:
    """A section or a source, ready to be put into a language's index."""

    title: str  # the result's title
    url: str  # its site URL, e.g. "/ja/finances/" or "/ja/bibliography/#ref-key"
    passages: tuple[Passage, ...]
    postings: tuple[tuple[str, tuple[tuple[int, tuple[int, ...]], ...]], ...]
    # token -> (passage, its positions there), tokens sorted


class PassageParser(HTMLParser):
    """Splits a section's HTML into passages: headings and the blocks under them."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.passages: list[Passage] = []
        self.anchor = ""  # the last heading's id
        self.blocks: list[list] = []  # open blocks: [tag, kind, anchor, text parts]
        self.open: list[str] = []  # open elements below the first block (for skipping)
        self.skipping = 0  # depth inside a skipped element, 0 when not skipping

    def handle_starttag(self, tag, attrs):
        if tag in VOID:
            return
        attributes = dict(attrs)
        if self.skipping or SKIPPED_CLASSES & set((attributes.get("class") or "").split()):
            self.skipping += 1
            return
        if tag in BLOCKS:
            if tag in HEADINGS and attributes.get("id"):
                self.anchor = attributes["id"]
            kind = HEADING if tag in HEADINGS else BODY
            anchor = self.blocks[-1][2] if self.blocks else self.anchor  # a block inside another
            if tag == "li" and attributes.get("id", "").startswith("fn:"):
                anchor = attributes["id"]  # a footnote links to itself
            self.blocks.append([tag, kind, anchor, []])

    def handle_endtag(self, tag):
        if tag in VOID:
            return
        if self.skipping:
            self.skipping -= 1
            return
        if tag in BLOCKS and self.blocks and self.blocks[-1][0] == tag:
            _, kind, anchor, parts = self.blocks.pop()
            text = SPACES.sub(" ", "".join(parts)).strip()
            if text:
                self.passages.append(Passage(anchor, kind, text))
        elif tag in {"td", "th"} and self.blocks:
            self.blocks[-1][3].append(" ")  # cells of a row read as words apart

    def handle_data(self, data):
        if not self.skipping and self.blocks:
            self.blocks[-1][3].append(data)


def section_passages(title: str, rendered: RenderedSection) -> tuple[Passage, ...]:
    """A section's title and the passages of its HTML, in reading order."""
    parser = PassageParser()
    parser.feed(rendered.html)
    parser.close()
    return (Passage("", TITLE, title), *parser.passages)


def source_passages(entry: FormattedEntry) -> tuple[Passage, ...]:
    """A source's formatted text (title, authors, site, dates), without its URL."""
    return (Passage(ref_id(entry.key), SOURCE, URL.sub("", entry.text).strip()),)


def make_doc(title: str, url: str, passages: tuple[Passage, ...]) -> SearchDoc:
    """A document with the postings of its passages."""
    postings: dict[str, dict[int, list[int]]] = {}
    for number, passage in enumerate(passages):
        for token in tokenize(passage.text):
            postings.setdefault(token.text, {}).setdefault(number, []).append(token.position)
    return SearchDoc(title, url, passages, tuple(
        (token, tuple((number, tuple(positions)) for number, positions in places.items()))
        for token, places in sorted(postings.items())))


def index_search(site: Site, plan: SitePlan, reuse: Reuse) -> dict[str, bytes]:
    """Every language's search files, keyed by their path in the output folder."""
    files: dict[str, bytes] = {}
    for code in plan.config.language_codes:
        chapters = [chapter for chapter in plan.chapters[code] if chapter.translated]
        sections = section_docs(chapters, site.rendered, code, reuse)
        sources = [make_doc(f"[{entry.number}] {entry.names}",
                            f"/{code}/bibliography/#{ref_id(entry.key)}", source_passages(entry))
                   for entry in sorted(site.entries[code].values(), key=lambda e: e.number)]
        key = fingerprint("search", [fingerprint(doc) for doc in sections], sources)
        files |= reuse.values("search", [code], lambda _: key,
                              lambda missing: [write_index(code, sections, sources)])[code]
    return files


def section_docs(chapters: list[Chapter], rendered: dict[tuple[str, str], RenderedSection],
                 code: str, reuse: Reuse) -> list[SearchDoc]:
    """The language's sections as documents, each made again only when its page changed."""
    by_slug = {chapter.slug: chapter for chapter in chapters}

    def key(slug: str) -> str:
        chapter = by_slug[slug]
        return fingerprint("search-doc", chapter.title, chapter.url, rendered[slug, code].html)

    def make(slug: str) -> SearchDoc:
        chapter = by_slug[slug]
        return make_doc(chapter.title, chapter.url,
                        section_passages(chapter.title, rendered[slug, code]))

    docs = reuse.values("search-docs", list(by_slug), key,
                        lambda missing: parallel_map(make, missing))
    return [docs[slug] for slug in by_slug]


def write_index(code: str, sections: list[SearchDoc], sources: list[SearchDoc]) -> dict[str, bytes]:
    """One language's files: the manifest, the shards of postings, the passages' texts."""
    folder = f"{code}/search/data/"
    entries: dict[str, list[list[int]]] = {}
    for number, doc in enumerate([*sections, *sources]):
        for token, places in doc.postings:
            entries.setdefault(token, []).extend(
                [number, passage, doc.passages[passage].kind, *positions]
                for passage, positions in places)
    size = sum(len(token) + 8 + sum(4 + 4 * len(entry) for entry in lists)
               for token, lists in entries.items())  # about the bytes of the JSON
    shards = max(1, math.ceil(size / SHARD_BYTES))
    tables: list[dict[str, list]] = [{} for _ in range(shards)]
    for token in sorted(entries):
        tables[shard_of(token, shards)][token] = entries[token]
    files = {f"{folder}manifest.json": dump({"version": 1, "shards": shards,
                                              "sections": len(sections), "sources": len(sources),
                                              "sourceChunk": SOURCE_CHUNK})}
    files |= {f"{folder}t{number}.json": dump(table) for number, table in enumerate(tables)}
    files |= {f"{folder}s{number}.json": dump(doc_record(doc)) for number, doc in enumerate(sections)}
    for first in range(0, len(sources), SOURCE_CHUNK):
        files[f"{folder}b{first // SOURCE_CHUNK}.json"] = dump(
            [doc_record(doc) for doc in sources[first:first + SOURCE_CHUNK]])
    return files


def doc_record(doc: SearchDoc) -> dict:
    """What a result shows of a document: title, URL and the passages' ids and texts."""
    return {"title": doc.title, "url": doc.url,
            "passages": [[passage.anchor, passage.kind, passage.text]
                                                  for passage in doc.passages]}


def dump(value: object) -> bytes:
    """Compact, deterministic JSON, non-ASCII kept as UTF-8 (smaller for Japanese)."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode()
