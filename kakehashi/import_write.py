"""Plan and write stages of `import`: the parsed export as the files of a content folder.

Takes the parsed `Export` (its lines, reports, markers and headings) and each report's
label → key map; gives a `Plan`: every section file's text (markers converted, a plain
export's lines as paragraphs and its code fenced), `site.toml`, the new `references.bib`
entries (an empty file when the report has no source list) and, when some lines of the
report are neither section text nor a source, `import-leftovers.LANG.txt` naming them.
`write_plan` writes only the files whose bytes change, so a second import changes nothing.
"""

from __future__ import annotations

import json
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from .content import SECTION_NAME
from .diagnostics import Diagnostics, display_path
from .import_entries import Source, unique_key
from .import_headings import normalise_heading, section_slug, strip_marks
from .import_markers import Marker, is_listed
from .import_summary import report_unmapped
from .import_text import normalise_url

if TYPE_CHECKING:
    from .importer import Export

FENCE_LINE = re.compile(r"^ {0,3}(```|~~~)", re.MULTILINE)
REF_RUN = re.compile(r"(?:\[\^[^\]\s]+\])+")
DEBRIS_LINE = re.compile(r"^[\s*_\-=~#]*$")
TAG_START = re.compile(r"<(?=[A-Za-z/!?])")
LIST_ITEM = re.compile(r"^\s*(?:[-*+•・]|\d+[.)])\s")
BROKEN_SENTENCE = re.compile(r"^[^#|`].{39,}[A-Za-z,]$")  # a long line of prose cut before its end
SMALL_WORD_END = re.compile(r"\b(?:the|a|an|of|to|and|or|for|with|in|on|at|by|from|as)$")
INTRODUCTION = {"ja": "はじめに", "en": "Introduction"}
LEFTOVERS = "import-leftovers.{lang}.txt"


@dataclass(frozen=True)
class PlannedFile:
    """A file the import writes, with its complete new text."""

    path: Path  # where it goes
    data: bytes  # its whole content after the import
    kind: str  # "section", "site.toml", "references.bib", "leftovers" or "cache"


@dataclass(frozen=True)
class Part:
    """One section of the report, before it has a file name."""

    title: str  # the heading (front matter `title`)
    slug: str  # from --headings, else from the heading's words ("" for none)
    start: int  # 1-based first body line
    end: int  # 1-based line after the last body line


@dataclass(frozen=True)
class Plan:
    """Everything the import would write, and what became of each marker and line."""

    files: tuple[PlannedFile, ...]  # sections first, then site.toml, references.bib, leftovers
    converted: tuple[Marker, ...]  # markers that became [^key] references
    unmapped: tuple[Marker, ...]  # markers left as written (each has a diagnostic)
    debris: tuple[Marker, ...]  # export bookkeeping removed ([cite_start])
    leftovers: tuple[tuple[int, str], ...]  # (line, why) of the lines kept in the leftovers file
    placed: frozenset[int]  # 1-based lines of the report that are in a section file


def plan_import(export: Export, keys: tuple[dict[str, str], ...], url_keys: dict[str, str],
                sources: list[Source], lang: str, content_dir: Path, bib_path: Path,
                named: dict[str, str] | None, allow_unmapped: bool, diag: Diagnostics) -> Plan:
    """Every file of the import and the fate of every marker."""
    parts = split_parts(export, named, lang)
    paths = name_sections(parts, lang, content_dir, diag)
    by_line: dict[int, list[Marker]] = {}
    for marker in export.markers:
        by_line.setdefault(marker.line, []).append(marker)
    outcome: dict[str, list[Marker]] = {"converted": [], "unmapped": [], "debris": []}
    files, placed = [], set()
    for part, path in zip(parts, paths):
        body = render_part(export, part, by_line, keys, url_keys, outcome, display_path(path),
                           allow_unmapped, placed, diag)
        text = f"---\ntitle: {json.dumps(part.title, ensure_ascii=False)}\n---\n\n{body}\n"
        files.append(PlannedFile(path, text.encode(), "section"))
    title = next((h.text for h in export.headings if h.level == 1), None) or \
        next((h.text for h in export.headings if h.level == 2), Path(export.shown).stem)
    files += plan_config(content_dir, lang, title, files)
    files += plan_bibliography(bib_path, sources, export)
    leftovers = find_leftovers(export)
    files += plan_leftovers(content_dir, lang, export, leftovers)
    ordered = {kind: sorted(found, key=lambda m: (m.line, m.start)) for kind, found in outcome.items()}
    placed |= {h.line for h in export.headings if h.level == 2}
    return Plan(tuple(files), tuple(ordered["converted"]), tuple(ordered["unmapped"]),
                tuple(ordered["debris"]), leftovers, frozenset(placed))


def split_parts(export: Export, named: dict[str, str] | None, lang: str) -> list[Part]:
    """The introduction (text before the first section heading) and one part per section."""
    slugs = {normalise_heading(text): slug for slug, text in (named or {}).items()}
    tops = [h for h in export.headings if h.level == 2]
    title_line = next((h.line for h in export.headings if h.level == 1), 0)
    first = tops[0].line if tops else len(export.lines) + 1
    parts = []
    if any(export.lines[n - 1].strip() and not DEBRIS_LINE.match(export.lines[n - 1])
           for n in range(1, first) if n != title_line and n not in export.skip):
        parts.append(Part(INTRODUCTION[lang], "introduction", 1, first))
    for index, heading in enumerate(tops):
        end = tops[index + 1].line if index + 1 < len(tops) else len(export.lines) + 1
        slug = slugs.get(normalise_heading(heading.text)) or section_slug(heading.text)
        parts.append(Part(heading.text, slug, heading.line + 1, end))
    return parts


def name_sections(parts: list[Part], lang: str, content_dir: Path, diag: Diagnostics) -> list[Path]:
    """A file for every part: paired by order with another language's files when there are any."""
    folder = content_dir / "sections"
    files = [(int(m["number"]), p.name.split(".")[0], m["lang"]) for p in sorted(folder.glob("*.md"))
             if (m := SECTION_NAME.match(p.name))] if folder.is_dir() else []
    others = list(dict.fromkeys(stem for _, stem, code in sorted(files) if code != lang))
    intro = bool(parts) and parts[0].slug == "introduction"
    start = 0 if intro and not others else 1
    width = max(2, len(str(len(parts) + start)))
    used = {stem.split("-", 1)[1] for stem in others}
    if others and len(others) != len(parts):
        diag.warning(folder, None, None, f"the report has {len(parts)} sections and sections/ has "
                     f"{len(others)} in another language; they are paired by order, so check the "
                     "pairs", "import.count-mismatch")
    paired = others[1:] if others and others[0].endswith("-introduction") and not intro else others
    lead = [f"{0:0{width}d}-introduction"] if others and intro and not others[0].endswith(
        "-introduction") and all(n for n, _, _ in files) else []
    stems = lead + paired[:len(parts) - len(lead)]
    number = max((n for n, _, _ in files), default=-1) + 1 if others else start
    for index, part in enumerate(parts[len(stems):], len(stems)):
        slug = part.slug or f"section-{index + start:0{width}d}"
        slug = unique_key(slug, {f"#{s}" for s in used})
        used.add(slug)
        stems.append(f"{number:0{width}d}-{slug}")
        number += 1
    return [folder / f"{stem}.{lang}.md" for stem in stems]


def render_part(export: Export, part: Part, by_line: dict[int, list[Marker]],
                keys: tuple[dict[str, str], ...], url_keys: dict[str, str],
                outcome: dict[str, list[Marker]], where: str, allow_unmapped: bool, placed: set[int],
                diag: Diagnostics) -> str:
    """One section's Markdown: markers converted, headings marked, plain text made Markdown."""
    levels = {h.line: h.level for h in export.headings}
    fences = {first: (label, last, language) for label, first, last, language in export.layout.unfenced}
    plain = not export.layout.markdown
    out: list[str] = []
    for number in range(part.start, part.end):
        if number in export.skip and number not in levels or levels.get(number) in (1, 2):
            continue
        line = export.lines[number - 1]
        if line.strip():
            placed.add(number)
        if plain and number in export.layout.code:
            out += fence_lines(export.lines, number, fences)
            continue
        line = convert_line(export, number, line, by_line.get(number, []), keys, url_keys, outcome,
                            where, allow_unmapped, diag)
        if levels.get(number, 0) >= 3:
            line = "#" * min(levels[number] - 1, 6) + " " + strip_marks(line)
        if REF_RUN.fullmatch(line.strip()) and (previous := last_text(out)) is not None:
            out[previous] += line.strip()  # a marker on a line of its own ends the paragraph above
            del out[previous + 1:]
            continue
        out.append(line)
    while out and DEBRIS_LINE.match(out[-1]):
        out.pop()
    for number in sorted((n for n in placed if part.start <= n < part.end), reverse=True):
        if not DEBRIS_LINE.match(export.lines[number - 1]):
            break
        placed.discard(number)  # a separator (`**`, `---`) that ended the part is dropped
    out = single_blank_lines(separate_paragraphs(out) if plain else out)
    return REF_RUN.sub(lambda m: "".join(dict.fromkeys(re.findall(r"\[\^[^\]]+\]", m[0]))),
                       "\n".join(out).strip("\n"))


def last_text(out: list[str]) -> int | None:
    """The index of the last non-blank line that a marker may join, if any."""
    previous = next((i for i in range(len(out) - 1, -1, -1) if out[i].strip()), None)
    if previous is None or out[previous].lstrip().startswith(("#", "```", "~~~", "|")):
        return None
    return previous


def fence_lines(lines: tuple[str, ...], number: int,
                fences: dict[int, tuple[int, int, str]]) -> list[str]:
    """A plain export's code line as Markdown: unfenced code gets the fences it lost."""
    line = lines[number - 1]
    for first, (label, last, language) in fences.items():
        if number == label:
            return [] if language else [line.strip()]  # a label naming no language stays text
        if label and label < number < first:
            return []  # the blank lines between a label and its code
        if first <= number <= last:
            opening = [f"```{language}"] if number == first else []
            return opening + [line] + (["```"] if number == last else [])
    return [line]  # a blank line under a label, or code the export fenced itself


def convert_line(export: Export, number: int, line: str, markers: list[Marker],
                 keys: tuple[dict[str, str], ...], url_keys: dict[str, str],
                 outcome: dict[str, list[Marker]], where: str, allow_unmapped: bool,
                 diag: Diagnostics) -> str:
    """A body line with its markers converted (or left, each with a diagnostic)."""
    plain = not export.layout.markdown
    document = keys[export.document(number)]
    pieces, cursor = [], 0
    for marker in markers:
        replacement = convert_marker(marker, document, url_keys)
        if replacement is None:
            outcome["unmapped"].append(marker)
            report_unmapped(marker, line, document, bool(document), where, export.shown,
                            allow_unmapped, diag)
            if marker.form in ("footnote", "footnote_turn"):  # as written, [^4] would not build
                pieces += [escape_plain(line[cursor:marker.start], plain, not pieces), "\\"]
                cursor = marker.start
            continue
        outcome["debris" if marker.form == "debris" else "converted"].append(marker)
        keep = marker.start
        while replacement.startswith("[^") and keep > cursor and line[keep - 1] in " \u3000":
            keep -= 1  # "growth [1]." → "growth[^key]."
        pieces += [escape_plain(line[cursor:keep], plain, not pieces), replacement]
        cursor = marker.end
    text = "".join(pieces) + escape_plain(line[cursor:], plain, not pieces)
    return text.lstrip() if plain else text


def escape_plain(text: str, plain: bool, first: bool) -> str:
    """Plain text that Markdown would read as markup: `<meta>` as text, a leading `#` escaped."""
    if not plain:
        return text
    text = TAG_START.sub("&lt;", text)
    return re.sub(r"^(\s*)#", r"\1\\#", text) if first else text


def separate_paragraphs(out: list[str]) -> list[str]:
    """A plain export's lines as Markdown paragraphs: a blank line between two lines of text."""
    result: list[str] = []
    fenced = False
    for line in out:
        previous = result[-1] if result else ""
        if not fenced and BROKEN_SENTENCE.search(previous) and not LIST_ITEM.match(line) and (
                re.match(r"[a-z0-9]", line) or SMALL_WORD_END.search(previous) and line[:1].isalpha()):
            result[-1] = f"{previous} {line}"  # `…plan provides` / `500 requests a day`: one sentence
            continue
        if not fenced and line.strip() and previous.strip() and \
                not (LIST_ITEM.match(line) and LIST_ITEM.match(previous)):
            result.append("")
        result.append(line)
        if line.startswith("```"):
            fenced = not fenced
    return result


def single_blank_lines(out: list[str]) -> list[str]:
    """At most one blank line between blocks; code keeps its own blank lines."""
    result: list[str] = []
    fenced = False
    for line in out:
        if line.strip() or fenced or (result and result[-1].strip()):
            result.append(line)
        if FENCE_LINE.match(line):
            fenced = not fenced
    return result


def convert_marker(marker: Marker, keys: dict[str, str], url_keys: dict[str, str]) -> str | None:
    """The `[^key]` references a marker becomes, or None when it cannot be mapped with certainty."""
    if marker.form == "debris":
        return ""
    if marker.form == "named":
        found = [url_keys.get(normalise_url(url)) for _, url in marker.links]
        return "".join(f"[^{key}]" for key in dict.fromkeys(found)) if all(found) else None
    if marker.form == "broken" or is_listed(marker) or marker.readings or not marker.labels \
            or not all(label in keys for label in marker.labels):
        return None
    refs = "".join(f"[^{key}]" for key in dict.fromkeys(keys[label] for label in marker.labels))
    return marker.text + refs


def clashing_files(files: tuple[PlannedFile, ...] | list[PlannedFile], lang: str,
                   content_dir: Path) -> list[Path]:
    """Existing section files of this language that share a number with a planned one."""
    planned = {int(SECTION_NAME.match(f.path.name)["number"]): f.path for f in files if f.kind == "section"}
    folder = content_dir / "sections"
    if not folder.is_dir():
        return []
    return [path for path in sorted(folder.glob(f"*.{lang}.md")) if (m := SECTION_NAME.match(path.name))
            and planned.get(int(m["number"]), path) != path]


def plan_config(content_dir: Path, lang: str, title: str, files: list[PlannedFile]) -> list[PlannedFile]:
    """A minimal site.toml when there is none; the language's table when site.toml lacks it."""
    path = content_dir / "site.toml"
    intro = files[0].data.decode().split("---\n", 2)[2] if files else ""
    paragraphs = [p for p in intro.split("\n\n")
                  if p.strip() and not p.lstrip().startswith(("#", "<", "```", "|"))]
    paragraph = re.sub(r"\[\^[^\]]+\]", "", paragraphs[0] if paragraphs else "")
    sentence = re.match(r"(.{1,200}?(?:。|\.\s|$))", paragraph.strip().replace("\n", " "))
    description = sentence[1].strip() if sentence else ""
    table = (f"\n[languages.{lang}]\ntitle = {json.dumps(title, ensure_ascii=False)}\n"
             f"description = {json.dumps(description, ensure_ascii=False)}\n")
    if not path.exists():
        text = (f"# Written by `python build.py import`; every key is explained in the README "
                f'("Configuration").\ndefault_language = "{lang}"\nbase_url = "/"\n'
                'bibliography_file = "references.bib"\ncitation_numbering = "bibliography"\n'
                'bibliography = "all"\nallow_missing_translations = true\n' + table)
        return [PlannedFile(path, text.encode(), "site.toml")]
    try:
        data = path.read_bytes()
        declared = tomllib.loads(data.decode("utf-8-sig")).get("languages", {})
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return []
    if isinstance(declared, dict) and lang not in declared:
        return [PlannedFile(path, data + (b"" if data.endswith(b"\n") else b"\n") + table.encode(),
                            "site.toml")]
    return []


def plan_bibliography(path: Path, sources: list[Source], export: Export) -> list[PlannedFile]:
    """references.bib with the new entries appended (its text kept byte for byte), or empty."""
    entries = [source.entry for source in sources if source.entry]
    name = Path(export.shown).name
    headings = [heading for document in export.documents for heading in document.sources.headings]
    named = f" ({', '.join(json.dumps(h, ensure_ascii=False) for h in dict.fromkeys(headings))})" \
        if headings else ""
    if not entries:
        if path.exists() or any(document.sources.items for document in export.documents):
            return []
        header = f"% {name} has no source list, so `python build.py import` found no sources: add " \
                 "an entry for each source, then cite it as [^key].\n"
        return [PlannedFile(path, header.encode(), "references.bib")]
    new = "\n".join(entries).encode()
    if path.is_file():
        old = path.read_bytes()
        gap = b"" if not old.strip() else b"\n" if old.endswith(b"\n") else b"\n\n"
        note = f"% Added by `python build.py import` from {name}{named}.\n\n".encode()
        return [PlannedFile(path, old + gap + note + new, "references.bib")]
    header = f"% Sources of {name}{named}, written by `python build.py import` in the list's order.\n\n"
    return [PlannedFile(path, header.encode() + new, "references.bib")]


def find_leftovers(export: Export) -> tuple[tuple[int, str], ...]:
    """(line, why) of every line that is neither section text nor a source."""
    found = {n: "the exporter's own addition" for n in export.layout.chrome}
    for document in export.documents:
        found |= {n: "a line of the source list that names no source" for n in document.sources.notes}
    return tuple(sorted(found.items()))


def plan_leftovers(content_dir: Path, lang: str, export: Export,
                   leftovers: tuple[tuple[int, str], ...]) -> list[PlannedFile]:
    """import-leftovers.LANG.txt: each leftover line after its place in the report."""
    if not leftovers:
        return []
    name = Path(export.shown).name
    lines = [f"# Lines of {name} that `python build.py import` put neither in a section nor in the",
             "# bibliography. Each follows its line number in the report and why it was left; copy",
             "# what you need into a section, then delete this file.", ""]
    lines += [f"{name}:{number}: ({why}) {export.lines[number - 1]}" for number, why in leftovers]
    return [PlannedFile(content_dir / LEFTOVERS.format(lang=lang), ("\n".join(lines) + "\n").encode(),
                        "leftovers")]


def write_plan(changed: list[PlannedFile], replaced: list[Path], diag: Diagnostics) -> bool:
    """Write every changed file and remove the section files --force replaces; False on failure."""
    try:
        for path in replaced:
            path.unlink()
        for planned in changed:
            planned.path.parent.mkdir(parents=True, exist_ok=True)
            planned.path.write_bytes(planned.data)
    except OSError as exc:
        diag.error(exc.filename or ".", None, None, f"cannot write here: {exc.strerror}",
                   "import.unwritable")
        return False
    return True
