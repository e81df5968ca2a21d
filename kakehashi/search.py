"""Index stage: the search files of each language, made from the rendered sections and sources.

Takes the `Site` (rendered sections, formatted entries) and the `SitePlan` (each language's
sections in reading order); gives the files under `LANG/search/data/` that
`static/search.js` reads on the search page `LANG/search/`:

- `manifest.json`: the number of shards, sections and sources, and the keys split into
  ranges (`{key: {"file": N, "starts": [first token of each range], "all": N}}`);
- `tN.json`: shard N of the postings, `{token: "doc:position,position;doc:position"}`, a
  token's shard chosen by `search_tokens.shard_of`, so a query loads only its tokens' shards
  (strings rather than lists of numbers: a third of the time to write, and smaller);
- `rN.json`: the ranges of a key too large for a shard, and its summary (`"all"`: the key's
  tokens merged, for a lone character or two letters being typed); no file is over
  `SHARD_LIMIT`, a token that would be keeps its best documents (`capped`);
- `sN.json`: section N's title, URL and passages `[[heading id, kind, text, start], …]`,
  for the snippets of the results shown; `bN.json`: sources in chunks of `SOURCE_CHUNK`.

A position says where in its document a token is and in which layer: body text (0),
headings (1) or the title (2), `position = layer << LAYER_BITS | place`; passages of one
layer follow each other with a gap, so a phrase never runs from one into the next. So one
list per token and document is enough to rank a title or heading match above the text's,
and the reader's browser finds the passage of a match from the passages' `start`.

A document is a section (passage 0 its title, then its headings and blocks: paragraphs,
list items, table rows, footnotes) or a source (its formatted text without the URL). Each
section's passages and postings are reused under a key of its HTML, each language's files
under the keys of all its documents. The files are deterministic: sorted keys, no times.
"""

from __future__ import annotations

import contextlib
import gc
import html
import json
import math
import re
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass

from .bibliography import FormattedEntry
from .cache import Reuse, fingerprint
from .markdown_ext import RenderedSection, ref_id
from .pages import Chapter, SitePlan
from .search_tokens import scan, shard_key, shard_of
from .stages import Site
from .workers import Started, parallel_map, parallel_start

TITLE, HEADING, BODY, SOURCE = 0, 1, 2, 3  # passage kinds
LAYERS = {TITLE: 2, HEADING: 1, BODY: 0, SOURCE: 0}  # a title match ranks above a heading's…
LAYER_BITS = 20  # positions of one layer of a document: fewer than 2**20
SOURCE_CHUNK = 32  # sources per snippet file
SHARD_BYTES = 24_000  # about this much of postings per shard file, on average
SHARD_LIMIT = 32_000  # at most this much per file: larger keys are split into ranges
POSTING_LIMIT = SHARD_LIMIT - 1_000  # a token keeps its best documents that fit in this
HTML_PER_ITEM = 10_000  # characters of HTML as much work as one item of `parallel_map`
BLOCKS = {"p", "li", "tr", "dt", "dd", "figcaption", "caption", "pre", "blockquote",
          "h1", "h2", "h3", "h4", "h5", "h6"}
HEADINGS = {"h2", "h3", "h4", "h5", "h6"}
# Not the reader's text: citation marks with their popovers, heading and footnote links.
SKIPPED_CLASSES = {"cite", "anchor", "footnote-backref", "footnote-ref"}
VOID = {"br", "img", "hr", "wbr", "input", "meta", "link", "col", "area", "source"}
TAG = re.compile(r"<(/?)([a-zA-Z][a-zA-Z0-9]*)((?:[^>\"']|\"[^\"]*\"|'[^']*')*)>|([^<]+)")
CLASS = re.compile(r'\sclass="([^"]*)"')
ID = re.compile(r'\sid="([^"]*)"')
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
    starts: tuple[int, ...]  # each passage's first position (its layer's bits included)
    # Each token with its positions in the document, a line each: b"token\t3,17,1048576\n".
    # One string, not a dict of two per token: a language's 1,000 sections have 800,000.
    postings: bytes
    size: int  # how many tokens the passages have (for the number of shards)


def section_passages(title: str, rendered: RenderedSection) -> tuple[Passage, ...]:
    """A section's title and the passages of its HTML: headings and the blocks under them.

    The HTML is our own Markdown's, so one pass over its tags does (html.parser took a third
    of the index's time); citation marks with their popovers, heading and footnote links are
    left out, as they are not the reader's text.
    """
    passages = [Passage("", TITLE, title)]
    anchor = ""  # the last heading's id
    blocks: list[list] = []  # open blocks: [tag, kind, anchor, text parts]
    skipping, depth = "", 0  # the skipped element's tag, and how deep inside it we are
    for closing, tag, attributes, text in TAG.findall(rendered.html):
        if text:
            if blocks and not skipping:
                blocks[-1][3].append(html.unescape(text) if "&" in text else text)
        elif skipping:
            if tag == skipping:
                depth += -1 if closing else 1
                skipping = skipping if depth else ""
        elif closing:
            if blocks and blocks[-1][0] == tag:
                _, kind, own, parts = blocks.pop()
                joined = SPACES.sub(" ", "".join(parts)).strip()
                if joined:
                    passages.append(Passage(own, kind, joined))
            elif tag in {"td", "th"} and blocks:
                blocks[-1][3].append(" ")  # cells of a row read as words apart
        elif tag not in VOID:
            found = CLASS.search(attributes)
            if found and SKIPPED_CLASSES & set(found[1].split()):
                skipping, depth = tag, 1
            elif tag in BLOCKS:
                own = ID.search(attributes)
                if tag in HEADINGS and own:
                    anchor = html.unescape(own[1])
                inside = blocks[-1][2] if blocks else anchor  # a block inside another
                if tag == "li" and own and own[1].startswith("fn:"):
                    inside = own[1]  # a footnote links to itself
                blocks.append([tag, HEADING if tag in HEADINGS else BODY,
                               anchor if tag in HEADINGS else inside, []])
    return tuple(passages)


def source_passages(entry: FormattedEntry) -> tuple[Passage, ...]:
    """A source's formatted text (title, authors, site, dates), without its URL."""
    return (Passage(ref_id(entry.key), SOURCE, URL.sub("", entry.text).strip()),)


def make_doc(title: str, url: str, passages: tuple[Passage, ...],
             stems: dict[str, str] | None = None) -> SearchDoc:
    """A document with the positions of its tokens (`stems`: see `search_tokens.scan`)."""
    stems = {} if stems is None else stems
    postings: defaultdict[str, list[str]] = defaultdict(list)
    starts = []
    following = [0, 0, 0]  # each layer's next free place
    size = 0
    for passage in passages:
        layer = LAYERS[passage.kind]
        start = (layer << LAYER_BITS) + following[layer]
        starts.append(start)
        texts, positions, _ = scan(passage.text, stems, start)
        for token, position in zip(texts, map(str, positions)):  # the index's hottest loop
            postings[token].append(position)
        if texts:
            size += len(texts)
            following[layer] = max(positions[-2:]) + 2 - (layer << LAYER_BITS)  # a gap after it
    lines = "".join(f"{token}\t{','.join(places)}\n" for token, places in postings.items())
    return SearchDoc(title, url, passages, tuple(starts), lines.encode(), size)


@dataclass
class PendingIndex:
    """The search files being made by workers (see `start_search`)."""

    codes: list[str]  # every language
    found: dict[str, dict[str, bytes]]  # language -> its files, reused or made
    missing: list[str]  # the languages being made
    keys: dict[str, str]  # language -> its key, for the next build ({}: nothing is reused)
    started: Started
    reuse: Reuse

    def finish(self, emit: Callable[[dict[str, bytes]], None]) -> None:
        """Hand every language's files to `emit`, once made (keyed by output path)."""
        for code, files in zip(self.missing, self.started.results()):
            if self.keys:
                self.reuse.keep("search", code, self.keys[code], files)
            self.found[code] = files
        for code in self.codes:
            emit(self.found[code])

    def stop(self) -> None:
        """End the workers: the build failed before it needed the index."""
        self.started.stop()


def start_search(site: Site, plan: SitePlan, reuse: Reuse) -> PendingIndex:
    """Start making every language's search files (`PendingIndex.finish` hands them on).

    The languages are indexed side by side for a large report, each by a process of its
    own that sends back only its files (sending the documents back cost more than it saved),
    so that the index's many small objects are never in the memory of the build's process,
    and that process renders the pages meanwhile.
    """
    codes = list(plan.config.language_codes)
    chapters = {code: [chapter for chapter in plan.chapters[code] if chapter.translated]
                for code in codes}
    entries = {code: sorted(site.entries[code].values(), key=lambda entry: entry.number)
               for code in codes}

    def key(code: str) -> str:
        pages = [(chapter.title, chapter.url, site.rendered[chapter.slug, code].html)
                 for chapter in chapters[code]]
        return fingerprint("search", pages, entries[code])

    def index(code: str, sections: list[SearchDoc] | None = None) -> dict[str, bytes]:
        with collector_paused():
            if sections is None:
                sections = section_docs(chapters[code], site.rendered, code, reuse)
            stems: dict[str, str] = {}
            sources = [make_doc(f"[{entry.number}] {entry.names}",
                                f"/{code}/bibliography/#{ref_id(entry.key)}",
                                source_passages(entry), stems) for entry in entries[code]]
            return write_index(code, sections, sources)

    found, missing, keys = reuse.lookup("search", codes, key)
    # What can be reused is made here, where the next build finds it; else each language's
    # process makes its own documents.
    docs = {code: section_docs(chapters[code], site.rendered, code, reuse)
            for code in missing} if reuse.active else {}
    size = sum(len(site.rendered[chapter.slug, code].html) for code in missing
               for chapter in chapters[code])
    started = parallel_start(lambda code: index(code, docs.get(code)), missing,
                             cost=size // HTML_PER_ITEM, only_collect=True)
    return PendingIndex(codes, found, missing, keys, started, reuse)


@contextlib.contextmanager
def collector_paused():
    """No cyclic garbage collection while the index is made.

    It makes millions of small lists, none of them in a cycle; each collection would walk
    them all again (at 1,000 sections, 4.4 s of 5.4 s went to it in one step).
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def section_docs(chapters: list[Chapter], rendered: dict[tuple[str, str], RenderedSection],
                 code: str, reuse: Reuse) -> list[SearchDoc]:
    """The language's sections as documents, each made again only when its page changed."""
    by_slug = {chapter.slug: chapter for chapter in chapters}
    stems: dict[str, str] = {}

    def key(slug: str) -> str:
        chapter = by_slug[slug]
        return fingerprint("search-doc", chapter.title, chapter.url, rendered[slug, code].html)

    def make(slug: str) -> SearchDoc:
        chapter = by_slug[slug]
        return make_doc(chapter.title, chapter.url,
                        section_passages(chapter.title, rendered[slug, code]), stems)

    docs = reuse.values("search-docs", list(by_slug), key,
                        lambda missing: parallel_map(make, missing))
    return [docs[slug] for slug in by_slug]


def write_index(code: str, sections: list[SearchDoc], sources: list[SearchDoc]) -> dict[str, bytes]:
    """One language's files: the manifest, the shards of postings, the passages' texts."""
    folder = f"{code}/search/data/"
    full = gather_postings([*sections, *sources])
    # positions ascending: the passages' order; a very common token keeps its best documents
    joined = {token: capped(places, len(sections)) for token, places in full.items()}
    keys = {token: shard_key(token) for token in joined}  # once per token, hashed once per key
    shards, split = plan_shards(joined, keys)
    numbers = {key: shard_of(key, shards) for key in set(keys.values())}  # a key is its own key
    tables: list[list[str]] = [[] for _ in range(shards)]
    for token in sorted(joined):
        key = keys[token]
        if key not in split:
            tables[numbers[key]].append(entry(token, joined[token]))
    files = {f"{folder}t{number}.json": table_bytes(table) for number, table in enumerate(tables)}
    ranges: dict[str, dict] = {}
    for key, tokens in sorted(split.items()):  # tokens in the order JavaScript compares strings
        tokens.sort(key=utf16)
        first, starts, table, size = len(files) - shards, [tokens[0]], [], 2  # "{}"
        for token in tokens:
            line = entry(token, joined[token])
            if table and size + len(line.encode()) + 1 > SHARD_LIMIT:
                files[f"{folder}r{first + len(starts) - 1}.json"] = table_bytes(table)
                starts.append(token)
                table, size = [], 2
            table.append(line)
            size += len(line.encode()) + 1
        files[f"{folder}r{first + len(starts) - 1}.json"] = table_bytes(table)
        summary = len(files) - shards
        files[f"{folder}r{summary}.json"] = table_bytes(
            [entry(key, capped(merged([full[token] for token in tokens]), len(sections)))])
        ranges[key] = {"file": first, "starts": starts, "all": summary}
    files[f"{folder}manifest.json"] = dump({"version": 2, "shards": shards, "split": ranges,
                                            "sections": len(sections), "sources": len(sources),
                                            "sourceChunk": SOURCE_CHUNK})
    files |= {f"{folder}s{number}.json": dump(doc_record(doc)) for number, doc in enumerate(sections)}
    for first in range(0, len(sources), SOURCE_CHUNK):
        files[f"{folder}b{first // SOURCE_CHUNK}.json"] = dump(
            [doc_record(doc) for doc in sources[first:first + SOURCE_CHUNK]])
    return files


def gather_postings(docs: list[SearchDoc]) -> dict[str, str]:
    """Each token's "doc:positions" in every document that has it, documents in order,
    joined by ";".

    Gathered as bytes, one growing buffer per token (digits and separators only): a string
    per token and document would be most of the index's memory while it is made.
    """
    buffers: defaultdict[bytes, bytearray] = defaultdict(bytearray)
    for number, doc in enumerate(docs):
        prefix = b";%d:" % number
        for line in doc.postings.splitlines():
            token, _, places = line.partition(b"\t")
            buffer = buffers[token]
            buffer += prefix
            buffer += places
    return {token.decode(): buffer[1:].decode() for token, buffer in buffers.items()}


def plan_shards(joined: dict[str, str], keys: dict[str, str]) -> tuple[int, dict[str, list[str]]]:
    """The number of hashed shards, and the keys split off into ranges of their own.

    A key (a character, two letters) whose tokens would make its shard larger than
    `SHARD_LIMIT` gets files of its own, each a range of its tokens in sorted order, so
    no file grows with the report: the largest keys go first, until every shard fits.
    """
    sizes: defaultdict[str, int] = defaultdict(int)
    tokens: defaultdict[str, list[str]] = defaultdict(list)
    for token, places in joined.items():
        key = keys[token]
        sizes[key] += len(token.encode()) + len(places) + 6  # "token":"places",
        tokens[key].append(token)
    shards = max(1, math.ceil(sum(sizes.values()) / SHARD_BYTES))
    loads: list[list[str]] = [[] for _ in range(shards)]
    for key in sizes:
        loads[shard_of(key, shards)].append(key)
    split: dict[str, list[str]] = {}
    for keys in loads:
        keys.sort(key=lambda key: (-sizes[key], key))
        total = sum(sizes[key] for key in keys)
        while total > SHARD_LIMIT:
            key = keys.pop(0)
            split[key] = tokens[key]
            total -= sizes[key]
    return shards, split


def capped(value: str, sections: int) -> str:
    """A token's "doc:positions" joined, or only its best documents' when they would not fit
    in `POSTING_LIMIT`: those with a match in a higher layer, sections first, most matches."""
    if len(value) <= POSTING_LIMIT:
        return value

    def rank(item: str) -> tuple:
        doc, positions = item.split(":")
        numbers = positions.split(",")
        return (-(max(map(int, numbers)) >> LAYER_BITS), int(doc) >= sections, -len(numbers),
                int(doc))

    kept, size = [], 0
    for item in sorted(value.split(";"), key=rank):
        if size + len(item) + 1 > POSTING_LIMIT:
            break
        kept.append(item)
        size += len(item) + 1
    return ";".join(sorted(kept, key=lambda item: int(item.split(":")[0])))


def merged(values: list[str]) -> str:
    """Several tokens' "doc:positions" as one token's: each document's positions together
    (unsorted: the reader's browser puts them in a set)."""
    by_doc: defaultdict[str, list[str]] = defaultdict(list)
    for value in values:
        for item in value.split(";"):
            doc, positions = item.split(":")
            by_doc[doc].append(positions)
    return ";".join(f"{doc}:{','.join(by_doc[doc])}" for doc in sorted(by_doc, key=int))


def entry(token: str, places: str) -> str:
    """One token's line of a shard: its JSON member (tokens are letters, never quotes)."""
    return f'"{token}":"{places}"'


def table_bytes(lines: list[str]) -> bytes:
    """A shard's JSON object from its members, already in sorted order."""
    return ("{" + ",".join(lines) + "}").encode()


def utf16(token: str) -> bytes:
    """The order in which JavaScript compares strings (UTF-16 code units)."""
    return token.encode("utf-16-be")


def doc_record(doc: SearchDoc) -> dict:
    """What a result shows of a document: title, URL and the passages' ids, kinds and texts."""
    return {"title": doc.title, "url": doc.url,
            "passages": [[passage.anchor, passage.kind, passage.text, start]
                         for passage, start in zip(doc.passages, doc.starts)]}


def dump(value: object) -> bytes:
    """Compact, deterministic JSON, non-ASCII kept as UTF-8 (smaller for Japanese)."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode()
