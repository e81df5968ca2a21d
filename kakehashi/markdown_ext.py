"""Render stage: Markdown to HTML with Python-Markdown and our citation extension.

`render_markdown` takes a section, the `CitationIndex` and the formatted entries of the
page language; it gives a `RenderedSection`: HTML, the in-page table of contents, and every
citation site (for the bibliography's back-links). The citation inline processor sits at
priority 174, between footnotes (175) and reference links (170), so local footnotes are
taken first and one match takes a whole adjacent group `[^a][^b]`; narrative `@key` and
cross-references `@fig-x` come next (173), so an `@` inside brackets is never read twice.
Citations render in the configured style: numeric `[1–3]`, `[see 5, p. 3]`, `Becker [5]`;
author-date `(Becker 1984, 12)`, `Becker (1984)`, 「（Becker 1984, p. 12）」. Maths, figures,
table captions, callouts and file addresses are `markup.py`'s processors, registered here.
"""

from __future__ import annotations

import html
import xml.etree.ElementTree as etree
from dataclasses import dataclass
from urllib.parse import quote

import markdown
from markdown.extensions import Extension
from markdown.extensions.toc import slugify_unicode
from markdown.inlinepatterns import InlineProcessor
from markdown.treeprocessors import Treeprocessor
from markdown.util import AtomicString

from .bibliography import FormattedEntry
from .cache import digested
from .citations import (GROUP, NARRATIVE, REF, CitationIndex, CiteItem, compress, is_crossref,
                        narrative_item, parse_reference)
from .content import Section
from .crossrefs import LabelIndex
from .inlines import needed_patterns, use_patterns
from .locators import format_locator, split_locator
from .markup import (CalloutProcessor, FigureProcessor, FileAddressTreeprocessor,
                     MathInlineProcessor, TableCaptionSplitter, TableCaptionTreeprocessor)
from .parallel import ParallelBlock, parallel_blocks

HEADINGS = {"h1", "h2", "h3", "h4", "h5", "h6"}
PERMALINK_TITLE = {"ja": "この見出しへのリンク", "en": "Link to this heading"}
BACKLINK_TITLE = {"ja": "本文の%d番目の参照箇所に戻る", "en": "Back to reference %d in the text"}
# A local footnote's mark says "note", so that it never reads like a citation's "[1]".
FOOTNOTE_MARK = {"ja": "注{}", "en": "note\u00a0{}"}
PARENTHESES = {"ja": ("（", "）"), "en": ("(", ")")}
NARRATIVE_OPEN = {"ja": "（", "en": "\u00a0("}  # Becker (1984) / Becker（1984）
PASSAGE = {"ja": "該当箇所：{}", "en": "Passage: {}"}  # the locator, in the popover
XREF_TEXT = {
    "ja": {"fig": "図{number}", "tbl": "表{number}", "sec": "{number}節「{title}」"},
    "en": {"fig": "Figure\u00a0{number}", "tbl": "Table\u00a0{number}",
           "sec": "Section\u00a0{number}, “{title}”"},
}


@dataclass(frozen=True)
class CitationSite:
    """One place that cites a source: the group's anchor on a section page."""

    key: str  # the cited key
    slug: str  # the citing section
    anchor: str  # id of the citation group on that page, e.g. "cite-3"
    paragraph: int  # 1-based number of the block (paragraph, list, table…) in the section


@dataclass(frozen=True)
class TocItem:
    """A heading of a section, for the in-page table of contents."""

    level: int  # 2 or 3
    anchor: str  # the heading's id
    title: str  # the heading's plain text


@digested
@dataclass(frozen=True)
class RenderedSection:
    """A section rendered to HTML in one language."""

    section: Section  # the source file
    html: str  # the body HTML
    toc: tuple[TocItem, ...]  # its headings
    sites: tuple[CitationSite, ...]  # its citations, in reading order
    # The body for the print page: ids prefixed, links into that page. UTF-8, as the print
    # page alone reads it (a third smaller than a str of Japanese, for 1,000 sections).
    print_html: bytes = b""
    blocks: tuple[ParallelBlock, ...] = ()  # its top-level blocks for the side-by-side page


class CitationInlineProcessor(InlineProcessor):
    """Turns an adjacent group of citation references into one citation: `[1–3]`, `(Becker 1984)`."""

    def __init__(self, md, extension: CitationExtension, pattern: str = GROUP.pattern):
        super().__init__(pattern, md)
        self.extension = extension

    def handleMatch(self, m, data):
        items: list[CiteItem] = []
        for ref in REF.finditer(m[0]):
            items += parse_reference(ref[0]) or []
        if len(items) == 1 and is_crossref(items[0].label):
            return self.extension.crossref(items[0], m[0]), m.start(0), m.end(0)
        return self.extension.citation(items, m[0]), m.start(0), m.end(0)


class NarrativeInlineProcessor(CitationInlineProcessor):
    """A narrative `@key` (`Becker [5]`, `Becker (1984)`) or a cross-reference `@fig-x`."""

    def __init__(self, md, extension: CitationExtension):
        super().__init__(md, extension, NARRATIVE.pattern)

    def handleMatch(self, m, data):
        item, end = narrative_item(m)
        written = data[m.start(0):end]
        if is_crossref(item.label):
            return self.extension.crossref(item, written), m.start(0), end
        return self.extension.citation([item], written), m.start(0), end


def add_text(parent: etree.Element, last: etree.Element | None, text: str) -> None:
    """Append text after the last child written (or into the parent before any child)."""
    if last is None:
        parent.text = (parent.text or "") + text
    else:
        last.tail = (last.tail or "") + text


class CitationSiteTreeprocessor(Treeprocessor):
    """Records, for each citation group, the block (paragraph, list item…) it sits in."""

    def __init__(self, md, extension: CitationExtension):
        super().__init__(md)
        self.extension = extension

    def run(self, root):
        state = self.extension
        self.renumber(root)
        wrap_tables(root)
        paragraph = 0
        for block in root:
            if block.tag in HEADINGS:
                continue
            for part in (list(block) if block.tag in {"ul", "ol"} else [block]):
                paragraph += 1  # each list item counts as a paragraph of its own
                for cite in part.iter():
                    anchor = cite.get("id", "") if is_citation(cite) else ""
                    for key in state.group_keys.get(anchor, ()):
                        state.sites.append(CitationSite(key, state.slug, anchor, paragraph))

    def renumber(self, root) -> None:
        """Give citation groups ids in reading order (inline processing is not in order)."""
        state = self.extension
        keys = {}
        groups = [element for element in root.iter() if is_citation(element)]
        for number, sup in enumerate(groups, start=1):
            old, new = sup.get("id"), f"cite-{number}"
            keys[new] = state.group_keys.get(old, [])
            sup.set("id", new)
            for element in sup.iter():
                for attribute in ("id", "aria-describedby"):
                    if element.get(attribute) == f"{old}-pop":
                        element.set(attribute, f"{new}-pop")
        state.group_keys = keys


class KeepTreeprocessor(Treeprocessor):
    """Keeps the document's finished tree (it runs last), for `print_version`."""

    def __init__(self, md, extension: CitationExtension):
        super().__init__(md)
        self.extension = extension

    def run(self, root):
        self.extension.tree = root


def is_citation(element: etree.Element) -> bool:
    """Whether an element is a rendered citation group (`class="cite …"`)."""
    return "cite" in (element.get("class") or "").split()


def wrap_tables(root: etree.Element) -> None:
    """Put each table in a scrolling `div.table-wrap`, so the table keeps its table role."""
    for index, block in enumerate(list(root)):
        if block.tag == "table":
            wrapper = etree.Element("div", {"class": "table-wrap"})
            wrapper.tail, block.tail = block.tail, None
            wrapper.append(block)
            root.remove(block)
            root.insert(index, wrapper)


class CitationExtension(Extension):
    """Owns the per-document state; `prepare` before converting, `reset` clears."""

    def __init__(self, index: CitationIndex, bibliography_href: str, language: str,
                 labels: LabelIndex | None = None, style: str = "numeric"):
        super().__init__()
        self.index = index
        self.bibliography_href = bibliography_href
        self.language = language  # the page's; entries in another language are marked so
        self.labels = labels  # figures, tables and headings, for cross-references
        self.style = style  # "numeric" or "author-date"
        self.entries: dict[str, FormattedEntry] = {}
        self.written = ""  # the entries' names and years, which citations put into the text
        self.slug = ""
        self.reset()

    def extendMarkdown(self, md):
        self.md = md
        md.registerExtension(self)
        md.ESCAPED_CHARS = [*md.ESCAPED_CHARS, "$", "@"]  # \$ is a dollar sign, \@ an at sign
        md.inlinePatterns.register(MathInlineProcessor(md), "math", 185)
        md.inlinePatterns.register(CitationInlineProcessor(md, self), "citation", 174)
        md.inlinePatterns.register(NarrativeInlineProcessor(md, self), "narrative", 173)
        md.parser.blockprocessors.register(CalloutProcessor(md.parser, self), "callout", 105)
        md.parser.blockprocessors.register(FigureProcessor(md.parser, self), "figure", 95)
        md.parser.blockprocessors.register(TableCaptionSplitter(md.parser), "table-caption", 76)
        md.treeprocessors.register(TableCaptionTreeprocessor(md, self), "table-captions", 25)
        md.treeprocessors.register(CitationSiteTreeprocessor(md, self), "citation-sites", 4)
        md.treeprocessors.register(FileAddressTreeprocessor(md), "file-addresses", 3)
        md.treeprocessors.register(KeepTreeprocessor(md, self), "keep-tree", -100)

    def prepare(self, slug: str, entries: dict[str, FormattedEntry]) -> None:
        """Set the section and the page language's formatted entries for the next document."""
        self.slug = slug
        if entries is not self.entries:  # what citations write besides the section's own text
            self.written = "\0".join(f"{entry.names}\0{entry.year}" for entry in entries.values())
        self.entries = entries

    def reset(self) -> None:
        self.tree = None  # the last document's finished tree, for its print version
        self.groups = 0
        self.group_keys: dict[str, list[str]] = {}
        self.sites: list[CitationSite] = []

    def citation(self, items: list[CiteItem], written: str) -> etree.Element:
        """One citation group in the configured style; the written text if nothing resolves."""
        resolved = [(key, item) for item in items
                    if (key := self.index.key(item.label)) and key in self.entries]
        if not resolved:  # unresolved; the build already reported it
            span = etree.Element("span", {"class": "cite-error"})
            span.text = AtomicString(written)
            return span
        self.groups += 1
        anchor = f"cite-{self.groups}"
        keys = list(dict.fromkeys(key for key, _ in resolved))
        self.group_keys[anchor] = keys
        narrative = resolved[0][1].narrative
        if self.style == "author-date":
            element = self.author_date(resolved, anchor, narrative)
        elif narrative:
            element = self.numeric_narrative(resolved[0], anchor)
        elif any(item.prefix or item.locator for _, item in resolved):
            element = self.numeric_detailed(resolved, anchor)
        else:
            element = self.numeric_compressed(keys, anchor)
        self.popover(element, resolved, anchor)
        return element

    def numeric_compressed(self, keys: list[str], anchor: str) -> etree.Element:
        """`<sup class="cite">[<a>1</a>–<a>3</a>]…</sup>`: numbers sorted and compressed."""
        by_number = {self.index.numbers[key]: key for key in keys if key in self.index.numbers}
        sup = etree.Element("sup", {"class": "cite", "id": anchor})
        sup.text = "["
        last = sup
        for i, (first, final) in enumerate(compress(list(by_number))):
            if i:
                last.tail = (last.tail or "") + ", "
            last = self.link(sup, by_number[first], str(first), anchor)
            if final > first:
                last.tail = "–" if final > first + 1 else ", "
                last = self.link(sup, by_number[final], str(final), anchor)
        last.tail = (last.tail or "") + "]"
        return sup

    def numeric_detailed(self, resolved: list[tuple[str, CiteItem]], anchor: str) -> etree.Element:
        """`[see 5, p. 3; also 7]`: in the order written, with prefixes and locators."""
        sup = etree.Element("sup", {"class": "cite", "id": anchor})
        sup.text = "["
        last = None
        for position, (key, item) in enumerate(resolved):
            add_text(sup, last, ("; " if position else "") + (f"{item.prefix} " if item.prefix else ""))
            last = self.link(sup, key, str(self.index.numbers[key]), anchor)
            add_text(sup, last, self.extras(key, item))
        add_text(sup, last, "]")
        return sup

    def numeric_narrative(self, resolved: tuple[str, CiteItem], anchor: str) -> etree.Element:
        """`Becker [5]`, `Becker [5, p. 12]`: the name, then the number on the line."""
        key, item = resolved
        span = etree.Element("span", {"class": "cite cite-narrative", "id": anchor})
        span.text = f"{self.entries[key].names}\u00a0["
        last = self.link(span, key, str(self.index.numbers[key]), anchor)
        add_text(span, last, self.extras(key, item) + "]")
        return span

    def author_date(self, resolved: list[tuple[str, CiteItem]], anchor: str,
                    narrative: bool) -> etree.Element:
        """`(see Becker 1984, 12; Smith 2020)`; narrative `Becker (1984, 12)`; `[-@key]` `(1984)`."""
        opening, closing = PARENTHESES[self.language]
        classes = "cite cite-author-date" + (" cite-narrative" if narrative else "")
        span = etree.Element("span", {"class": classes, "id": anchor})
        if narrative:
            key, item = resolved[0]
            entry = self.entries[key]
            span.text = entry.names + NARRATIVE_OPEN[self.language]
            last = self.link(span, key, entry.year, anchor)
            add_text(span, last, self.extras(key, item) + closing)
            return span
        span.text = opening
        last = None
        for position, (key, item) in enumerate(resolved):
            add_text(span, last, ("; " if position else "") + (f"{item.prefix} " if item.prefix else ""))
            entry = self.entries[key]
            text = entry.year if item.suppress_author else f"{entry.names} {entry.year}"
            last = self.link(span, key, text, anchor)
            add_text(span, last, self.extras(key, item))
        add_text(span, last, closing)
        return span

    def extras(self, key: str, item: CiteItem) -> str:
        """`, p. 12, emphasis added`: the locator in the page's language, then any suffix."""
        locator, suffix = split_locator(item.locator) if item.locator else (None, "")
        parts = [format_locator(locator, self.language, self.entries[key].language, self.style)
                 if locator else "", suffix]
        return "".join(f", {part}" for part in parts if part)

    def popover(self, element: etree.Element, resolved: list[tuple[str, CiteItem]],
                anchor: str) -> None:
        """The formatted references of a citation, each with the passage cited, as a tooltip."""
        pop = etree.SubElement(element, "span", {"class": "cite-pop", "role": "tooltip",
                                                 "id": f"{anchor}-pop"})
        passages: dict[str, list[str]] = {}
        for key, item in resolved:
            locator, _ = split_locator(item.locator) if item.locator else (None, "")
            passages.setdefault(key, [])
            if locator:
                passages[key].append(format_locator(locator, self.language,
                                                    self.entries[key].language, self.style))
        keys = list(passages)
        if self.style != "author-date" and not any(item.prefix or item.locator for _, item in resolved):
            keys.sort(key=lambda key: self.index.numbers[key])
        for key in keys:
            entry = self.entries[key]
            label = f"{entry.names} {entry.year}" if self.style == "author-date" else f"[{entry.number}]"
            passage = "".join(f'<span class="cite-pop-passage">{html.escape(PASSAGE[self.language].format(text))}'
                              "</span>" for text in dict.fromkeys(passages[key]))
            item = etree.SubElement(pop, "span", {"class": "cite-pop-item"})
            link = etree.SubElement(item, "a", {"href": f"{self.bibliography_href}#{ref_id(key)}"})
            link.text = self.md.htmlStash.store(html.escape(label))  # the link in the tree, for print
            link.tail = " " + self.md.htmlStash.store(self.entry_html(entry) + passage)

    def entry_html(self, entry: FormattedEntry) -> str:
        """A formatted entry for the popover, marked with its language where it differs."""
        if entry.language == self.language:
            return entry.html_plain
        return f'<span lang="{entry.language}">{entry.html_plain}</span>'

    def link(self, parent: etree.Element, key: str, text: str, anchor: str) -> etree.Element:
        """One number (or name and year) linking to its bibliography entry."""
        href = f"{self.bibliography_href}#{ref_id(key)}"
        element = etree.SubElement(parent, "a", {"href": href, "aria-describedby": f"{anchor}-pop"})
        element.text = AtomicString(text)
        return element

    def crossref(self, item: CiteItem, written: str) -> etree.Element:
        """`@fig-x` as a link reading 図1 / Figure 1 (`[-@fig-x]`: 1); a heading as 3.2節「…」."""
        target = self.labels.target(self.language, item.label) if self.labels else None
        if target is None:  # unknown; the build already reported it
            span = etree.Element("span", {"class": "xref-error"})
            span.text = AtomicString(written)
            return span
        href = f"#{target.label}" if target.slug == self.slug else f"../{target.slug}/#{target.label}"
        link = etree.Element("a", {"class": "xref", "href": href})
        text = target.number if item.suppress_author else \
            XREF_TEXT[self.language][target.kind].format(number=target.number, title=target.title)
        link.text = AtomicString(text)
        return link


def ref_id(key: str) -> str:
    """The fragment of a key's bibliography entry (keys may hold non-ASCII and `:`)."""
    return "ref-" + quote(key, safe=":-._~")


def make_markdown(index: CitationIndex, language: str, labels: LabelIndex | None = None,
                  style: str = "numeric") -> tuple[markdown.Markdown, CitationExtension]:
    """One Markdown converter for a page language, reused for every section."""
    citations = CitationExtension(index, bibliography_href="../bibliography/", language=language,
                                  labels=labels, style=style)
    md = markdown.Markdown(
        extensions=["footnotes", "tables", "toc", "attr_list", "fenced_code", "sane_lists",
                    citations],
        extension_configs={
            "toc": {"slugify": slugify_unicode, "permalink": "#", "permalink_class": "anchor",
                    "permalink_title": PERMALINK_TITLE[language], "toc_depth": "2-3"},
            "footnotes": {"BACKLINK_TITLE": BACKLINK_TITLE[language],
                          "SUPERSCRIPT_TEXT": FOOTNOTE_MARK[language]},
        },
        output_format="html",
    )
    return md, citations


def render_markdown(section: Section, converter: tuple[markdown.Markdown, CitationExtension],
                    entries: dict[str, FormattedEntry], print_ids: bool = False,
                    parallel: bool = False) -> RenderedSection:
    """Render one section's Markdown, collecting its headings and citation sites.

    With `print_ids`, also its version for the print page, its ids prefixed with the slug;
    with `parallel`, its blocks for the side-by-side page (`parallel.py`).
    """
    md, citations = converter
    md.reset()
    citations.prepare(section.slug, entries)
    use_patterns(md, needed_patterns(md, (section.body, citations.written)))
    body = md.convert(section.body)
    blocks = parallel_blocks(md, citations.tree, citations.group_keys, section.language,
                             section.slug) if parallel else ()
    printed = print_version(md, citations, section.slug) if print_ids else b""
    return RenderedSection(section, body, tuple(flatten_toc(md.toc_tokens)), tuple(citations.sites),
                           printed, blocks)


def print_version(md: markdown.Markdown, citations: CitationExtension, prefix: str) -> bytes:
    """The document just converted, again, for the one-page print version of the report.

    Every id (and every `#fragment` and `aria-describedby` naming one) gets `prefix`, so all
    sections can stand on one page; links to the bibliography and cross-references to other
    sections lead to their copies on that page. Serialized the way `Markdown.convert` ends.
    """
    root = citations.tree
    if root is None:  # an empty document
        return b""
    bibliography = citations.bibliography_href + "#"
    for element in root.iter():
        for name in ("id", "aria-describedby"):
            if element.get(name):
                element.set(name, f"{prefix}-{element.get(name)}")
        href = element.get("href", "")
        if element.get("class") == "xref" and href.startswith("../") and "/#" in href:
            other, _, label = href[3:].partition("/#")  # another section's figure or heading
            element.set("href", f"#{other}-{label}")
            continue
        if href.startswith(bibliography):
            href = href[len(bibliography) - 1:]
        if href.startswith("#"):
            element.set("href", href if href.startswith("#ref-") else f"#{prefix}-{href[1:]}")
    output = md.serializer(root)
    start, end = output.find(f"<{md.doc_tag}>"), output.rfind(f"</{md.doc_tag}>")
    output = output[start + len(md.doc_tag) + 2:end].strip() if start >= 0 and end >= 0 else ""
    for processor in md.postprocessors:
        output = processor.run(output)
    return output.strip().encode()


def flatten_toc(tokens: list[dict]) -> list[TocItem]:
    """The toc extension's nested headings (levels 2–3) as a flat list, in reading order."""
    items = []
    for token in tokens:
        items.append(TocItem(token["level"], token["id"], html.unescape(token["name"])))
        items += flatten_toc(token["children"])
    return items
