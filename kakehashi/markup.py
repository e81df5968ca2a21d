"""Render stage (and its checks): maths, figures, table captions, callouts and file addresses.

The Python-Markdown processors here are registered by `markdown_ext.CitationExtension`:
`$…$` and `$$…$$` become MathML at build time (latex2mathml; no script is needed to read
it, and it prints); a paragraph that is only `![Caption](../files/x.png){#fig-x}` becomes a
numbered `<figure>`; a `: Caption {#tbl-x}` line after a table becomes its numbered
`<caption>`; `::: {.callout-note}` … `:::` becomes a callout with its label in the page's
language; addresses of the content's files are rewritten for the page.
`scan_maths` and `scan_callouts` read the raw text through the shared scanner and report,
at `file:line:col`, LaTeX that cannot be converted and callouts that are not understood.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as etree

from markdown.blockprocessors import BlockProcessor
from markdown.inlinepatterns import InlineProcessor
from markdown.treeprocessors import Treeprocessor
from markdown.util import AtomicString

from .assets import FILES_DIR, content_path
from .content import Section
from .crossrefs import ATTRIBUTE, FIGURE as FIGURE_BLOCK, LABEL_ID, TABLE_CAPTION, plain_title
from .diagnostics import Diagnostics, line_col
from .scanner import MATH, scan_source

UNKNOWN_COMMAND = re.compile(r">(\\[A-Za-z]+)<")  # latex2mathml keeps commands it does not know
FENCE_OPEN = re.compile(r"^(?P<colons>:{3,})[ \t]*(?:\{(?P<attrs>[^{}\n]*)\}|(?P<bare>[^\s{}]+))[ \t]*$")
FENCE_CLOSE = re.compile(r"^:{3,}[ \t]*$")
FENCE_LINE = re.compile(r"^:{3,}", re.MULTILINE)
CALLOUT_CLASS = re.compile(r"(?:^|\s)\.?callout-(?P<kind>[a-z]+)(?=\s|$)")
CALLOUT_KINDS = ("note", "warning", "tip")
CALLOUT_LABELS = {
    "ja": {"note": "注記", "warning": "警告", "tip": "ヒント"},
    "en": {"note": "Note", "warning": "Warning", "tip": "Tip"},
}
CAPTION_LABELS = {"ja": {"fig": "図{}", "tbl": "表{}"}, "en": {"fig": "Figure\u00a0{}", "tbl": "Table\u00a0{}"}}
CAPTION_SEPARATOR = {"ja": "：", "en": ": "}
MATH_PROBLEMS = {  # latex2mathml's exceptions, said for an author
    "MissingSuperScriptOrSubscriptError": "a ^ or _ has nothing to raise or lower",
    "MissingEndError": "an environment is opened with \\begin but never closed with \\end",
    "DenominatorNotFoundError": "a \\frac has no denominator",
    "NumeratorNotFoundError": "a \\frac has no numerator",
    "DoubleSubscriptsError": "two subscripts in a row; group them with { }",
    "DoubleSuperscriptsError": "two superscripts in a row; group them with { }",
    "InvalidAlignmentError": "an alignment (&) is not allowed here",
    "InvalidStyleForGenfracError": "\\genfrac takes a style from 0 to 3",
    "InvalidWidthError": "a width is not a length LaTeX knows",
    "ExtraLeftOrMissingRightError": "a \\left has no matching \\right",
    "MissingLeftError": "a \\right has no matching \\left",
    "NoAvailableTokensError": "a command is missing its argument",
    "LimitsMustFollowMathOperatorError": "\\limits follows only an operator",
}


class MathError(ValueError):
    """LaTeX that latex2mathml cannot turn into MathML; the message says why."""


def latex_to_mathml(latex: str, display: bool) -> str:
    """A formula as a `<math>` element; MathError for what cannot be converted faithfully."""
    depth = 0
    for char in re.sub(r"\\.", "", latex):
        depth += {"{": 1, "}": -1}.get(char, 0)
        if depth < 0:
            raise MathError("a } closes nothing")
    if depth:
        raise MathError("a { is never closed")
    import latex2mathml.converter  # noqa: PLC0415 - loaded by the reports that have maths
    try:
        mathml = latex2mathml.converter.convert(latex.strip(), display="block" if display else "inline")
    except Exception as exc:  # the library raises many kinds; each becomes one message
        name = type(exc).__name__
        raise MathError(MATH_PROBLEMS.get(name, f"latex2mathml cannot read it ({name})")) from None
    unknown = UNKNOWN_COMMAND.search(mathml)
    if unknown:
        raise MathError(f"{unknown[1]} is not a command latex2mathml knows")
    return mathml


def scan_maths(section: Section, diag: Diagnostics) -> int:
    """Convert every formula of a section once, reporting each that fails at its `$`."""
    source = scan_source(section.body)
    offset = len(section.text) - len(section.body)
    for at, latex, display in source.maths:
        try:
            latex_to_mathml(latex, display)
        except MathError as problem:
            written = ("$$" if display else "$") + " ".join(latex.split())[:40]
            diag.error(section.path, *line_col(section.text, offset + at), f"cannot convert the "
                       f"formula {written}…: {problem} (write \\$ for a dollar sign)", "math.latex")
    return len(source.maths)


def scan_callouts(section: Section, diag: Diagnostics) -> None:
    """Report `:::` fences that are not a callout the renderer knows, or are left open."""
    masked = scan_source(section.body).masked
    offset = len(section.text) - len(section.body)
    open_at: int | None = None
    for fence in FENCE_LINE.finditer(masked):
        line = masked[fence.start():masked.find("\n", fence.start()) % (len(masked) + 1)]
        where = line_col(section.text, offset + fence.start())
        if FENCE_CLOSE.match(line):
            if open_at is None:
                diag.error(section.path, *where, "this ::: closes no callout; remove it",
                           "callout.unopened")
            open_at = None
            continue
        opening = FENCE_OPEN.match(line)
        kind = callout_kind(opening)
        if open_at is not None:
            diag.error(section.path, *where, "callouts cannot be nested; close the one above "
                       "with ::: first", "callout.nested")
            continue
        if kind not in CALLOUT_KINDS:
            written = " ".join(line.split())[:50]
            diag.error(section.path, *where, f'"{written}" is not a callout Kakehashi knows; '
                       "write ::: {.callout-note}, {.callout-warning} or {.callout-tip}",
                       "callout.unknown")
        open_at = fence.start()  # an unknown one too, so that its closing ::: is not reported
    if open_at is not None:
        diag.error(section.path, *line_col(section.text, offset + open_at), "this callout is "
                   "never closed; end it with a line :::", "callout.unclosed")


def callout_kind(opening: re.Match | None) -> str | None:
    """"note", "warning", "tip" (or another word) of a `::: {.callout-note}` line, else None."""
    if opening is None:
        return None
    found = CALLOUT_CLASS.search(opening["attrs"] or opening["bare"] or "")
    return found["kind"] if found else None


class MathInlineProcessor(InlineProcessor):
    """`$…$` and `$$…$$` as MathML (the scanner's pattern, so both see the same formulas)."""

    def __init__(self, md):
        super().__init__(MATH.pattern, md)

    def handleMatch(self, m, data):
        display = m["display"] is not None
        latex = m["display"] if display else m["inline"]
        try:
            mathml = latex_to_mathml(latex, display)
        except MathError:  # the build already reported it
            span = etree.Element("span", {"class": "math-error"})
            span.text = AtomicString(m[0])
            return span, m.start(0), m.end(0)
        return self.md.htmlStash.store(mathml), m.start(0), m.end(0)


class FigureProcessor(BlockProcessor):
    """A paragraph that is only `![Caption](path){#fig-x}`: a numbered `<figure>`."""

    def __init__(self, parser, extension):
        super().__init__(parser)
        self.extension = extension

    def test(self, parent, block):
        match = FIGURE_BLOCK.match(block)
        label = LABEL_ID.search(match["attrs"]) if match else None
        return bool(label and label["label"].startswith("fig-"))

    def run(self, parent, blocks):
        match = FIGURE_BLOCK.match(blocks.pop(0))
        label = LABEL_ID.search(match["attrs"])["label"]
        attributes = {a["name"]: a["quoted"] if a["quoted"] is not None else a["bare"]
                      for a in ATTRIBUTE.finditer(match["attrs"])}
        language = self.extension.language
        figure = etree.SubElement(parent, "figure", {"class": "figure", "id": label})
        image = {"src": match["src"], "alt": attributes.get("fig-alt") or plain_title(match["caption"])}
        if match["title"]:
            image["title"] = match["title"]
        etree.SubElement(figure, "img", image)
        caption = etree.SubElement(figure, "figcaption")
        target = self.extension.labels.target(language, label) if self.extension.labels else None
        number = etree.SubElement(caption, "span", {"class": "caption-number"})
        number.text = AtomicString(CAPTION_LABELS[language]["fig"].format(target.number if target else "?"))
        number.tail = CAPTION_SEPARATOR[language] + match["caption"] if match["caption"] else None


class TableCaptionSplitter(BlockProcessor):
    """A table with its `: Caption` line and no blank line between: two blocks, as if there were."""

    def test(self, parent, block):
        lines = block.split("\n")
        return len(lines) >= 3 and "|" in lines[0] and "-" in lines[1] and \
            bool(TABLE_CAPTION.match(lines[-1])) and lines[-1].startswith(":")

    def run(self, parent, blocks):
        lines = blocks.pop(0).split("\n")
        blocks.insert(0, lines[-1])
        blocks.insert(0, "\n".join(lines[:-1]))
        return False  # nothing consumed yet: the table processor takes the first block


class TableCaptionTreeprocessor(Treeprocessor):
    """The `: Caption {#tbl-x}` paragraph after a table becomes its numbered `<caption>`."""

    def __init__(self, md, extension):
        super().__init__(md)
        self.extension = extension

    def run(self, root):
        for parent in [root, *root.iter("div")]:
            children = list(parent)
            for table, paragraph in zip(children, children[1:]):
                if table.tag != "table" or paragraph.tag != "p" or len(paragraph) or \
                        not (paragraph.text or "").startswith(":"):
                    continue
                match = TABLE_CAPTION.match(paragraph.text.strip())
                if match is None:
                    continue
                self.attach(table, match)
                parent.remove(paragraph)

    def attach(self, table: etree.Element, match: re.Match) -> None:
        """Put the caption first in the table, numbered when it has a tbl- label."""
        language = self.extension.language
        caption = etree.Element("caption")
        table.insert(0, caption)
        label = LABEL_ID.search(match["attrs"] or "")
        if label is None or not label["label"].startswith("tbl-"):
            caption.text = match["caption"]
            return
        table.set("id", label["label"])
        target = self.extension.labels.target(language, label["label"]) if self.extension.labels else None
        number = etree.SubElement(caption, "span", {"class": "caption-number"})
        number.text = AtomicString(CAPTION_LABELS[language]["tbl"].format(target.number if target else "?"))
        number.tail = CAPTION_SEPARATOR[language] + match["caption"] if match["caption"] else None


class CalloutProcessor(BlockProcessor):
    """`::: {.callout-note}` … `:::`: a callout with its label in the page's language."""

    def __init__(self, parser, extension):
        super().__init__(parser)
        self.extension = extension

    def test(self, parent, block):
        return callout_kind(FENCE_OPEN.match(block.split("\n", 1)[0])) in CALLOUT_KINDS

    def run(self, parent, blocks):
        first = blocks.pop(0)
        header, _, rest = first.partition("\n")
        opening = FENCE_OPEN.match(header)
        kind = callout_kind(opening)
        inner: list[str] = []
        current = rest
        while True:
            lines = current.split("\n")
            close = next((i for i, line in enumerate(lines) if FENCE_CLOSE.match(line)), None)
            if close is not None:
                inner.append("\n".join(lines[:close]))
                after = "\n".join(lines[close + 1:])
                if after.strip():
                    blocks.insert(0, after)
                break
            inner.append(current)
            if not blocks:
                break  # never closed: the build reported it
            current = blocks.pop(0)
        title = next((a["quoted"] or a["bare"] for a in ATTRIBUTE.finditer(opening["attrs"] or "")
                      if a["name"] == "title"), None)
        box = etree.SubElement(parent, "div", {"class": f"callout callout-{kind}", "role": "note"})
        heading = etree.SubElement(box, "p", {"class": "callout-title"})
        label = CALLOUT_LABELS[self.extension.language][kind]
        if title:
            strong = etree.SubElement(heading, "span", {"class": "callout-label"})
            strong.text = AtomicString(label)
            strong.tail = CAPTION_SEPARATOR[self.extension.language] + title
        else:
            heading.text = AtomicString(label)
        self.parser.parseChunk(box, "\n\n".join(part for part in inner if part.strip()))


class FileAddressTreeprocessor(Treeprocessor):
    """Addresses of the content's files, written relative to the section file, made relative
    to the page (`../files/x.png` in `sections/` is `../../files/x.png` from `/ja/slug/`)."""

    def run(self, root):
        for element in root.iter():
            attribute = {"img": "src", "a": "href"}.get(element.tag)
            address = element.get(attribute) if attribute else None
            path = content_path(address) if address else None
            if path and path.startswith(FILES_DIR + "/"):
                fragment = address[len(address.split("#", 1)[0]):]
                element.set(attribute, "../../" + path + fragment)


def scan_markup(sections, diag: Diagnostics) -> None:
    """Check every section's maths and callouts (each build: rendering is cached, this is not)."""
    for section in sections:
        scan_maths(section, diag)
        scan_callouts(section, diag)
