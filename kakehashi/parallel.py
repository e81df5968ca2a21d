"""Render stage, side-by-side view: a section's finished HTML cut into its top-level blocks.

`parallel_blocks` takes the tree Python-Markdown just finished for one section (before the
print version relabels it) and gives one `ParallelBlock` per top-level element: heading,
paragraph, list, table, figure, quote, code, callout, and the local footnotes last. Each
carries its HTML for `/LANG/parallel/SLUG/`, where both languages share one page: every id
(and every `#fragment` and `aria-describedby` naming one) is prefixed with the block's
language, and every relative link is rewritten from the section page's depth to the
parallel page's, so the same HTML works on the parallel page of every language. Each also
carries what survives translation, for `align.py`: its kind, the keys it cites, the
figures it mentions (as `parity.py` reads them), its Latin names, its labels and its length.
"""

from __future__ import annotations

import copy
import posixpath
import re
import xml.etree.ElementTree as etree
from dataclasses import dataclass

from .parity import mentioned_values

HEADINGS = {"h1", "h2", "h3", "h4", "h5", "h6"}
UP_TO_ROOT = "../../../"  # from /LANG/parallel/SLUG/ to the site's root
STASH = re.compile("\x02wzxhzdk:\\d+\x03")  # Python-Markdown's placeholders for raw HTML
LATIN = re.compile(r"[A-Za-z][A-Za-z0-9]*(?:[-.'’][A-Za-z0-9]+)*")
NAME_LETTER = re.compile(r"[A-Z0-9]")  # after a word's first letter, the mark of a name
WIDE = re.compile(r"[\u3000-\u30ff\u3400-\u9fff\uf900-\ufaff\uff00-\uffef]")
# Characters of English (spaces left out) per Japanese character for the same sense: the
# median of the flagship report's 70 paired paragraphs is 1.99 (total 2.0; range 1.5–2.6).
WIDE_WEIGHT = 2.0
NOT_TEXT = {"cite", "cite-pop", "anchor", "footnote-ref", "footnote-backref"}  # marks, not prose
LABELLED = ("fig-", "tbl-", "sec-")  # ids that are labels, shared by the two languages
ABSOLUTE = re.compile(r"^(?:[a-zA-Z][a-zA-Z0-9+.-]*:|/)")  # another site, or the site's root
KINDS = {"p": "p", "ul": "list", "ol": "list", "blockquote": "quote", "pre": "code",
         "figure": "figure", "table": "table", "hr": "rule", "math": "math", "dl": "list"}


@dataclass(frozen=True)
class ParallelBlock:
    """One top-level block of a section, as the side-by-side page shows and aligns it."""

    html: bytes  # UTF-8; ids prefixed with the language, links relative to /LANG/parallel/SLUG/
    kind: str  # "h2"…"h6", "p", "list", "table", "figure", "quote", "code", "callout", "notes"…
    # Sets, kept as sorted tuples: the cache's fingerprints cannot pickle frozensets.
    keys: tuple[str, ...]  # the BibTeX keys it cites
    values: tuple  # the figures it mentions, normalised (1,150億ドル = $115 billion)
    names: tuple[str, ...]  # Latin words that stay as written in a translation, lowercased
    labels: tuple[str, ...]  # figure, table and heading labels it defines or refers to
    length: float  # its text's length, Japanese and Chinese characters weighted WIDE_WEIGHT


def parallel_blocks(md, root: etree.Element | None, group_keys: dict[str, list[str]],
                    language: str, slug: str) -> tuple[ParallelBlock, ...]:
    """Each top-level block of the finished tree `root`, for the side-by-side page.

    `md` is the Markdown converter that made the tree (its serializer and postprocessors
    turn each block into HTML); `group_keys` gives the keys of each citation group's id.
    """
    if root is None:
        return ()
    root = copy.deepcopy(root)  # the print version relabels the same tree afterwards
    blocks = []
    for element in root:
        keys = {key for cite in element.iter() for key in group_keys.get(cite.get("id") or "", ())}
        labels = {label for child in element.iter() if (label := child_label(child))}
        text = STASH.sub(" ", " ".join(prose_text(element)))
        relabel(element, language, slug)
        blocks.append(ParallelBlock(
            serialize(md, element), block_kind(element), tuple(sorted(keys)),
            tuple(sorted(mentioned_values(text, language), key=repr)),
            tuple(sorted(latin_names(text, language))), tuple(sorted(labels)),
            weighted_length(text)))
    return tuple(blocks)


def child_label(element: etree.Element) -> str:
    """The label an element defines (`id="fig-x"`) or a cross-reference names, or ""."""
    identifier = element.get("id") or ""
    if identifier.startswith(LABELLED):
        return identifier
    if "xref" in (element.get("class") or "").split():
        return element.get("href", "").rpartition("#")[2]
    return ""


def block_kind(element: etree.Element) -> str:
    """What a top-level element is, in the words the aligner compares."""
    classes = (element.get("class") or "").split()
    if element.tag in HEADINGS:
        return element.tag
    if "footnote" in classes:
        return "notes"
    if "table-wrap" in classes:
        return "table"
    if "callout" in classes:
        return "callout"
    if element.tag == "p" and len(element) == 0 and STASH.fullmatch((element.text or "").strip()):
        return "html"  # raw HTML or a displayed formula, kept by Markdown in its stash
    return KINDS.get(element.tag, "other")


def prose_text(element: etree.Element):
    """The element's text, without citation marks, their popovers and heading anchors."""
    if NOT_TEXT & set((element.get("class") or "").split()):
        return
    if element.text:
        yield element.text
    for child in element:
        yield from prose_text(child)
        if child.tail:
            yield child.tail


def latin_names(text: str, language: str) -> set[str]:
    """Words a translation keeps as written: in Japanese every Latin word, else proper names.

    In English text a name is a word with a capital or a digit after its first letter
    (OpenAI, GPT-5, TPU) or a capitalised word that does not start a sentence.
    """
    names = set()
    for match in LATIN.finditer(text):
        word = match[0]
        if language in ("ja", "zh", "ko") or NAME_LETTER.search(word, 1):
            names.add(word.lower())
        elif word[0].isupper() and len(word) > 2 and not sentence_start(text, match.start()):
            names.add(word.lower())
    return names


def sentence_start(text: str, offset: int) -> bool:
    """Whether a word at `offset` opens a sentence (and so is capitalised anyway)."""
    before = text[:offset].rstrip(" \t\n\"'“‘(")
    return not before or before[-1] in ".!?:;"


def weighted_length(text: str) -> float:
    """The length of a text in Latin-character equivalents."""
    compact = "".join(text.split())
    wide = len(WIDE.findall(compact))
    return (len(compact) - wide) + wide * WIDE_WEIGHT


def relabel(element: etree.Element, language: str, slug: str) -> None:
    """Prefix ids with the language; make links relative to /LANG/parallel/SLUG/, and say
    which language a page they lead to is in (the block is shown on every language's page)."""
    section_url = f"/{language}/{slug}/"
    for child in element.iter():
        for name in ("id", "aria-describedby"):
            if child.get(name):
                child.set(name, f"{language}-{child.get(name)}")
        for name in ("href", "src"):
            address = child.get(name)
            if address is None or ABSOLUTE.match(address):
                continue  # the same from any page
            if address.startswith("#"):
                child.set(name, f"#{language}-{address[1:]}")
            elif name == "href" and "xref" in (child.get("class") or "").split():
                other, _, label = address.partition("#")  # ../other-slug/#label
                child.set(name, f"{other}#{language}-{label}")  # that section side by side
            else:
                path, hash_, fragment = address.partition("#")
                target = posixpath.normpath(posixpath.join(section_url, path))
                if path.endswith("/") and not target.endswith("/"):
                    target += "/"
                child.set(name, UP_TO_ROOT + target.lstrip("/") + hash_ + fragment)
                if name == "href" and target.startswith(f"/{language}/"):
                    child.set("hreflang", language)  # on the other language's page, it says so


def serialize(md, element: etree.Element) -> bytes:
    """One element as Markdown writes a document: serialized, then its postprocessors (in
    UTF-8: the side-by-side page alone reads it, and a str of Japanese is half as large again)."""
    output = md.serializer(element)
    for processor in md.postprocessors:
        output = processor.run(output)
    return output.strip().encode()
