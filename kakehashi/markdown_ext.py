"""Render stage: Markdown to HTML with Python-Markdown and our citation extension.

`render_markdown` takes a section, the `CitationIndex` and the formatted entries of the
page language; it gives a `RenderedSection`: HTML, the in-page table of contents, and every
citation site (for the bibliography's back-links). The citation inline processor sits at
priority 174, between footnotes (175) and reference links (170), so local footnotes are
taken first and one match takes a whole adjacent group `[^a][^b]`.
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

from .bibliography import FormattedEntry
from .citations import GROUP, REF, CitationIndex, compress, ref_labels
from .content import Section

HEADINGS = {"h1", "h2", "h3", "h4", "h5", "h6"}
PERMALINK_TITLE = {"ja": "この見出しへのリンク", "en": "Link to this heading"}
BACKLINK_TITLE = {"ja": "本文の%d番目の参照箇所に戻る", "en": "Back to reference %d in the text"}
# A local footnote's mark says "note", so that it never reads like a citation's "[1]".
FOOTNOTE_MARK = {"ja": "注{}", "en": "note\u00a0{}"}


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


@dataclass(frozen=True)
class RenderedSection:
    """A section rendered to HTML in one language."""

    section: Section  # the source file
    html: str  # the body HTML
    toc: tuple[TocItem, ...]  # its headings
    sites: tuple[CitationSite, ...]  # its citations, in reading order


class CitationInlineProcessor(InlineProcessor):
    """Turns an adjacent group of citation references into one superscript `[1–3]`."""

    def __init__(self, md, extension: CitationExtension):
        super().__init__(GROUP.pattern, md)
        self.extension = extension

    def handleMatch(self, m, data):
        state = self.extension
        keys = []
        for ref in REF.finditer(m[0]):
            labels = ref_labels(ref[0]) or []
            keys += [key for label in labels if (key := state.index.key(label))]
        keys = list(dict.fromkeys(keys))
        if not keys:  # unresolved; the build already reported it
            span = etree.Element("span", {"class": "cite-error"})
            span.text = m[0]
            return span, m.start(0), m.end(0)
        return self.build_group(keys), m.start(0), m.end(0)

    def build_group(self, keys: list[str]) -> etree.Element:
        """`<sup class="cite">[<a>1</a>–<a>3</a>]<span class="cite-pop">…</span></sup>`."""
        state = self.extension
        state.groups += 1
        anchor = f"cite-{state.groups}"
        state.group_keys[anchor] = keys
        by_number = {state.index.numbers[key]: key for key in keys if key in state.index.numbers}
        sup = etree.Element("sup", {"class": "cite", "id": anchor})
        sup.text = "["
        last = sup
        for i, (first, final) in enumerate(compress(list(by_number))):
            if i:
                last.tail = (last.tail or "") + ", "
            last = self.link(sup, by_number[first], first, anchor)
            if final > first:
                last.tail = "–" if final > first + 1 else ", "
                last = self.link(sup, by_number[final], final, anchor)
        last.tail = (last.tail or "") + "]"
        pop = etree.SubElement(sup, "span", {"class": "cite-pop", "role": "tooltip",
                                             "id": f"{anchor}-pop"})
        bibliography = self.extension.bibliography_href
        items = "".join(f'<span class="cite-pop-item"><a href="{bibliography}#{ref_id(key)}">'
                        f"[{n}]</a> {self.entry_html(state.entries[key])}</span>"
                        for n, key in sorted(by_number.items()))
        pop.text = self.md.htmlStash.store(items)
        return sup

    def entry_html(self, entry: FormattedEntry) -> str:
        """A formatted entry for the popover, marked with its language where it differs."""
        if entry.language == self.extension.language:
            return entry.html_plain
        return f'<span lang="{entry.language}">{entry.html_plain}</span>'

    def link(self, parent: etree.Element, key: str, number: int, anchor: str) -> etree.Element:
        """One number linking to its bibliography entry."""
        href = f"{self.extension.bibliography_href}#{ref_id(key)}"
        element = etree.SubElement(parent, "a", {"href": href, "aria-describedby": f"{anchor}-pop"})
        element.text = str(number)
        return element


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
                for sup in part.iter("sup"):
                    anchor = sup.get("id", "")
                    for key in state.group_keys.get(anchor, ()):
                        state.sites.append(CitationSite(key, state.slug, anchor, paragraph))

    def renumber(self, root) -> None:
        """Give citation groups ids in reading order (inline processing is not in order)."""
        state = self.extension
        keys = {}
        groups = [sup for sup in root.iter("sup") if sup.get("class") == "cite"]
        for number, sup in enumerate(groups, start=1):
            old, new = sup.get("id"), f"cite-{number}"
            keys[new] = state.group_keys.get(old, [])
            sup.set("id", new)
            for element in sup.iter():
                for attribute in ("id", "aria-describedby"):
                    if element.get(attribute) == f"{old}-pop":
                        element.set(attribute, f"{new}-pop")
        state.group_keys = keys


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

    def __init__(self, index: CitationIndex, bibliography_href: str, language: str):
        super().__init__()
        self.index = index
        self.bibliography_href = bibliography_href
        self.language = language  # the page's; entries in another language are marked so
        self.entries: dict[str, FormattedEntry] = {}
        self.slug = ""
        self.reset()

    def extendMarkdown(self, md):
        md.registerExtension(self)
        md.inlinePatterns.register(CitationInlineProcessor(md, self), "citation", 174)
        md.treeprocessors.register(CitationSiteTreeprocessor(md, self), "citation-sites", 4)

    def prepare(self, slug: str, entries: dict[str, FormattedEntry]) -> None:
        """Set the section and the page language's formatted entries for the next document."""
        self.slug = slug
        self.entries = entries

    def reset(self) -> None:
        self.groups = 0
        self.group_keys: dict[str, list[str]] = {}
        self.sites: list[CitationSite] = []


def ref_id(key: str) -> str:
    """The fragment of a key's bibliography entry (keys may hold non-ASCII and `:`)."""
    return "ref-" + quote(key, safe=":-._~")


def make_markdown(index: CitationIndex, language: str) -> tuple[markdown.Markdown, CitationExtension]:
    """One Markdown converter for a page language, reused for every section."""
    citations = CitationExtension(index, bibliography_href="../bibliography/", language=language)
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
                    entries: dict[str, FormattedEntry]) -> RenderedSection:
    """Render one section's Markdown, collecting its headings and citation sites."""
    md, citations = converter
    md.reset()
    citations.prepare(section.slug, entries)
    body = md.convert(section.body)
    return RenderedSection(section, body, tuple(flatten_toc(md.toc_tokens)), tuple(citations.sites))


def flatten_toc(tokens: list[dict]) -> list[TocItem]:
    """The toc extension's nested headings (levels 2–3) as a flat list, in reading order."""
    items = []
    for token in tokens:
        items.append(TocItem(token["level"], token["id"], html.unescape(token["name"])))
        items += flatten_toc(token["children"])
    return items
