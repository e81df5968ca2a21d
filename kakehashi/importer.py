"""The `import` command: an exported research report → section files and BibTeX entries.

Takes a report (Markdown or plain text with numbered citation markers and a list of source
URLs), its language and a content folder; gives `sections/NN-slug.LANG.md` files, new
`@online` entries appended to `references.bib`, and a minimal `site.toml` when there is
none. Parsing is `import_markers.py` and BibTeX entries are `import_sources.py`; this
module plans every file, writes only files whose text changes (so a second import changes
nothing) and prints a report.
"""

from __future__ import annotations

import json
import re
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path
from unicodedata import east_asian_width

from .bibliography import load_bibliography
from .config import read_text
from .content import SECTION_NAME
from .diagnostics import Diagnostics, display_path
from .import_markers import (FORM_NAMES, Heading, Marker, SourceItem, code_lines,
                             find_headings, normalise_heading, normalise_url, parse_source_list,
                             scan_markers, site_name, strip_marks)
from .import_sources import (CACHE_NAME, Source, fetch_missing_titles, read_cache, resolve_sources,
                             slug_words, source_identity, unique_key)

FENCE_LINE = re.compile(r"^ {0,3}(```|~~~)", re.MULTILINE)
REF_RUN = re.compile(r"(?:\[\^[^\]\s]+\])+")
DEBRIS_LINE = re.compile(r"^[\s*_\-=~#]*$")
INTRODUCTION = {"ja": "はじめに", "en": "Introduction"}
LONG_LINE = 100_000


@dataclass(frozen=True)
class PlannedFile:
    """A file the import writes, with its complete new text."""

    path: Path  # where it goes
    data: bytes  # its whole content after the import
    kind: str  # "section", "site.toml", "references.bib" or "cache"


@dataclass(frozen=True)
class Part:
    """One section of the report, before it has a file name."""

    title: str  # the heading (front matter `title`)
    slug: str  # from --headings, else from the heading's Latin words ("" for none)
    start: int  # 1-based first body line
    end: int  # 1-based line after the last body line


def import_report(report: Path, lang: str, content_dir: Path, dry_run: bool = False,
                  headings: Path | None = None, force: bool = False,
                  allow_unmapped: bool = False, fetch_titles: bool = False) -> int:
    """Import one report into the content folder; print the report; return the exit status."""
    diag = Diagnostics()
    shown = display_path(report)
    text = read_text(report, diag) if report.is_file() or not report.exists() else None
    if report.is_dir():
        diag.error(report, None, None, "this is a folder; give the exported report file",
                   "import.not-a-file")
    elif text is not None and not text.strip():
        diag.error(report, None, None, "the report is empty; export it again", "import.empty")
    named = read_headings_file(headings, diag) if headings else None
    if diag.errors:
        return finish(diag, [])
    lines = text.split("\n")
    for number, line in enumerate(lines, 1):
        if len(line) > LONG_LINE:
            diag.warning(report, number, 1, f"line {number} is {len(line):,} characters long; an export "
                         "breaks paragraphs into lines, so check this is the report", "import.long-line")
    code = code_lines(lines)
    sources = parse_source_list(lines, code, shown, diag)
    if diag.errors:
        return finish(diag, [])
    known = {item.number for item in sources.items}
    markers = scan_markers(lines, sources.lines | code, known)
    found = find_headings(lines, sources.lines | code, {m.line for m in markers}, named)
    present = {normalise_heading(h.text) for h in found}
    for heading in (named or {}).values():
        if normalise_heading(heading) not in present:
            diag.error(headings, None, None, f'heading "{heading}" is not in the report; copy it '
                       "exactly", "import.heading-not-found")
    bib_path, existing = read_existing(content_dir, diag)
    if diag.errors:
        return finish(diag, [])

    items = list(sources.items) + link_sources(markers, sources.items)
    cache = read_cache(content_dir) if fetch_titles else {}
    fetched = fetch_missing_titles(items, existing, cache, shown, diag) if fetch_titles else {}
    resolved = resolve_sources(items, existing, sources.accessed, {**cache, **fetched})
    keys = {source.number: source.key for source in resolved}
    url_keys = {normalise_url(item.url): keys[item.number] for item in items if item.url}
    files, outcome = plan_sections(lines, found, markers, keys, url_keys, sources.lines, lang,
                                   named, content_dir, shown, allow_unmapped, diag)
    title = next((h.text for h in found if h.level == 1), None) or \
        next((h.text for h in found if h.level == 2), report.stem)
    files += plan_config(content_dir, lang, title, files)
    files += plan_bibliography(bib_path, resolved, shown)
    if fetched:
        data = json.dumps({**cache, **fetched}, ensure_ascii=False, indent=1, sort_keys=True) + "\n"
        files.append(PlannedFile(content_dir / CACHE_NAME, data.encode(), "cache"))
    changed = [f for f in files if not f.path.is_file() or f.path.read_bytes() != f.data]
    in_the_way = [f.path for f in changed if f.kind == "section" and f.path.exists()]
    in_the_way += clashing_files(files, lang, content_dir)
    if in_the_way and not force:
        names = ", ".join(display_path(p) for p in in_the_way)
        diag.error(content_dir / "sections", None, None, f"these section files are in the way: {names}; "
                   "move them, or run again with --force to replace them", "import.in-the-way")
        return finish(diag, [])
    if not dry_run:
        if not write_files(changed, [p for p in in_the_way if p not in {f.path for f in files}], diag):
            return finish(diag, [])
    summary = summarise(shown, lang, content_dir, files, changed, resolved, outcome, dry_run)
    return finish(diag, summary)


def write_files(changed: list[PlannedFile], replaced: list[Path], diag: Diagnostics) -> bool:
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


def finish(diag: Diagnostics, summary: list[str]) -> int:
    """Print the diagnostics (stderr) and the report (stdout); the exit status."""
    for item in diag.items:
        print(item.format(), file=sys.stderr)
    for line in summary:
        print(line)
    return 1 if diag.errors else 0


def read_headings_file(path: Path, diag: Diagnostics) -> dict[str, str]:
    """`slug<TAB>heading` lines → {slug: heading}; errors for bad lines."""
    text = read_text(path, diag)
    named: dict[str, str] = {}
    for number, line in enumerate((text or "").split("\n"), 1):
        if not line.strip() or line.startswith("#"):
            continue
        slug, tab, heading = line.partition("\t")
        if not tab or not heading.strip():
            diag.error(path, number, 1, "write one 'slug<TAB>heading' a line", "import.headings-file")
        elif not SECTION_NAME.match(f"1-{slug.strip()}.ja.md"):
            diag.error(path, number, 1, f'slug "{slug}" must be lowercase ASCII letters, digits and '
                       "hyphens", "import.headings-file")
        elif slug.strip() in named:
            diag.error(path, number, 1, f'slug "{slug}" is used twice', "import.headings-file")
        else:
            named[slug.strip()] = heading.strip()
    return named


def read_existing(content_dir: Path, diag: Diagnostics) -> tuple[Path, dict[str, str]]:
    """The bibliography path and its entries' normalised URL → key (every key under "#key")."""
    bib_name = "references.bib"
    try:
        config = tomllib.loads((content_dir / "site.toml").read_text("utf-8-sig"))
        bib_name = str(config.get("bibliography_file", bib_name))
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError):
        pass
    path = content_dir / bib_name
    existing: dict[str, str] = {}
    if path.is_file():
        scratch = Diagnostics()
        bibliography = load_bibliography(path, scratch)
        for item in scratch.errors:
            diag.items.append(item)
        if bibliography is not None:
            for key in bibliography.keys:
                existing[f"#{key.lower()}"] = key
                fields = bibliography.data.entries[key].fields
                existing.setdefault(source_identity(fields.get("url"), fields.get("title")), key)
    return path, existing


def link_sources(markers: list[Marker], items: tuple[SourceItem, ...]) -> list[SourceItem]:
    """Sources named only by an inline link: `([site](url))`, or `[n](url)` with n not listed."""
    numbers = {item.number for item in items}
    by_url = {normalise_url(item.url): item.number for item in items if item.url}
    added: list[SourceItem] = []
    next_number = max(numbers, default=0) + 1
    for marker in markers:
        for text, url in marker.links:
            listed = marker.form != "named" and marker.numbers and marker.numbers[0] in numbers
            if listed or normalise_url(url) in by_url:
                continue
            number = marker.numbers[0] if marker.form != "named" and marker.numbers else next_number
            words = text.strip("[]").split()
            title = text if marker.form == "named" and len(words) > 5 else None
            site = site_name(text) if marker.form == "named" else None
            added.append(SourceItem(number, url, title, site, None, marker.line, marker.col))
            numbers.add(number)
            by_url[normalise_url(url)] = number
            next_number = max(numbers) + 1
    return added


def split_parts(lines: list[str], found: tuple[Heading, ...], named: dict[str, str] | None,
                skip: frozenset[int], lang: str) -> list[Part]:
    """The introduction (text before the first section heading) and one part per section."""
    slugs = {normalise_heading(text): slug for slug, text in (named or {}).items()}
    tops = [h for h in found if h.level == 2]
    title_line = next((h.line for h in found if h.level == 1), 0)
    first = tops[0].line if tops else len(lines) + 1
    parts = []
    if any(lines[n - 1].strip() for n in range(1, first) if n != title_line and n not in skip):
        parts.append(Part(INTRODUCTION[lang], "introduction", 1, first))
    for index, heading in enumerate(tops):
        end = tops[index + 1].line if index + 1 < len(tops) else len(lines) + 1
        slug = slugs.get(normalise_heading(heading.text)) or "-".join(slug_words(heading.text)[:4])
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


def plan_sections(lines: list[str], found: tuple[Heading, ...], markers: list[Marker],
                  keys: dict[int, str], url_keys: dict[str, str], skip: frozenset[int], lang: str,
                  named: dict[str, str] | None, content_dir: Path, shown: str, allow_unmapped: bool,
                  diag: Diagnostics) -> tuple[list[PlannedFile], dict[str, list[Marker]]]:
    """Every section file's text, and the markers by outcome ("converted", "unmapped", …)."""
    parts = split_parts(lines, found, named, skip, lang)
    paths = name_sections(parts, lang, content_dir, diag)
    by_line: dict[int, list[Marker]] = {}
    for marker in markers:
        by_line.setdefault(marker.line, []).append(marker)
    levels = {h.line: h.level for h in found}
    outcome: dict[str, list[Marker]] = {"converted": [], "unmapped": [], "debris": []}
    files = []
    for part, path in zip(parts, paths):
        out: list[str] = []
        where = display_path(path)
        for number in range(part.start, part.end):
            if number in skip and number not in levels or levels.get(number) in (1, 2):
                continue
            line, pieces, cursor = lines[number - 1], [], 0
            for marker in by_line.get(number, []):
                replacement = convert_marker(marker, keys, url_keys)
                if replacement is None:
                    outcome["unmapped"].append(marker)
                    report_unmapped(marker, line, keys, where, shown, allow_unmapped, diag)
                    continue
                outcome["debris" if marker.form == "debris" else "converted"].append(marker)
                keep = marker.start
                while replacement.startswith("[^") and keep > cursor and line[keep - 1] == " ":
                    keep -= 1  # "growth [1]." → "growth[^key]."
                pieces += [line[cursor:keep], replacement]
                cursor = marker.end
            line = "".join(pieces) + line[cursor:]
            if levels.get(number, 0) >= 3:
                line = "#" * min(levels[number] - 1, 6) + " " + strip_marks(line)
            if REF_RUN.fullmatch(line.strip()) and out and (previous := next(
                    (i for i in range(len(out) - 1, -1, -1) if out[i].strip()), None)) is not None \
                    and not out[previous].lstrip().startswith(("#", "```", "~~~", "|")):
                out[previous] += line.strip()
                del out[previous + 1:]
                continue
            out.append(line)
        while out and DEBRIS_LINE.match(out[-1]):
            out.pop()
        body = REF_RUN.sub(lambda m: "".join(dict.fromkeys(re.findall(r"\[\^[^\]]+\]", m[0]))),
                           "\n".join(out).strip("\n"))
        if not FENCE_LINE.search(body):
            body = re.sub(r"\n{3,}", "\n\n", body)
        text = f"---\ntitle: {json.dumps(part.title, ensure_ascii=False)}\n---\n\n{body}\n"
        files.append(PlannedFile(path, text.encode(), "section"))
    for kind in outcome:
        outcome[kind].sort(key=lambda m: (m.line, m.start))
    return files, outcome


def convert_marker(marker: Marker, keys: dict[int, str], url_keys: dict[str, str]) -> str | None:
    """The `[^key]` references a marker becomes, or None when it cannot be mapped with certainty."""
    if marker.form == "debris":
        return ""
    if marker.form == "named":
        found = [url_keys.get(normalise_url(url)) for _, url in marker.links]
        return "".join(f"[^{key}]" for key in dict.fromkeys(found)) if all(found) else None
    if marker.form == "broken" or marker.readings or not all(n in keys for n in marker.numbers):
        return None
    refs = "".join(f"[^{key}]" for key in dict.fromkeys(keys[n] for n in marker.numbers))
    return marker.text + refs


def report_unmapped(marker: Marker, line: str, keys: dict[int, str], where: str, shown: str,
                    allow_unmapped: bool, diag: Diagnostics) -> None:
    """One diagnostic for a marker left as written: why, its readings, the text around it."""
    written = line[marker.start:marker.end]
    around = f"«{'…' if marker.start > 20 else ''}{line[max(0, marker.start - 20):marker.end + 20]}" \
             f"{'…' if marker.end + 20 < len(line) else ''}»"
    readings = [r for r in marker.readings if all(n in keys for n in r)]
    if marker.form == "broken":
        why, code = f'"{written}" is an unfinished or malformed marker (unbalanced brackets?)', \
            "import.malformed-marker"
    elif readings and (len(readings) > 1 or marker.form == "circled"):
        shown_readings = [", ".join(f"{n} [^{keys[n]}]" if len(readings) <= 3 else str(n) for n in r)
                          for r in readings[:4]]
        more = f" (or {len(readings) - 4} other ways to split the digits)" if len(readings) > 4 else ""
        kind = "a circled number is not a certain marker; as written it" if marker.form == "circled" \
            else "this run of superscript digits"
        why, code = f'"{written}": {kind} can be read as {" or as ".join(shown_readings)}{more}', \
            "import.ambiguous-marker"
    else:
        numbers = sorted({n for r in marker.readings or (marker.numbers,) for n in r} - set(keys))
        what = ", ".join(map(str, numbers)) or "a linked source"
        why, code = f'"{written}" cites {what}, which the source list does not have', \
            "import.missing-source"
    message = f"{why}; left as written in {where}: replace it with the [^key] " \
              f"you mean {around}"
    severity = "warning" if allow_unmapped else "error"
    diag.add(shown, marker.line, marker.col, severity, message, code)


def clashing_files(files: list[PlannedFile], lang: str, content_dir: Path) -> list[Path]:
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
    paragraph = re.sub(r"\[\^[^\]]+\]", "", next((p for p in intro.split("\n\n")
                                                if p.strip() and not p.startswith("#")), ""))
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


def plan_bibliography(path: Path, sources: list[Source], report_name: str) -> list[PlannedFile]:
    """references.bib with the new entries appended; its existing text kept byte for byte."""
    entries = [source.entry for source in sources if source.entry]
    if not entries:
        return []
    new = "\n".join(entries).encode()
    if path.is_file():
        old = path.read_bytes()
        gap = b"" if not old.strip() else b"\n" if old.endswith(b"\n") else b"\n\n"
        return [PlannedFile(path, old + gap + new, "references.bib")]
    header = f"% Sources of {Path(report_name).name}, written by `python build.py import` in the " \
             "list's order.\n\n"
    return [PlannedFile(path, header.encode() + new, "references.bib")]


def summarise(shown: str, lang: str, content_dir: Path, files: list[PlannedFile],
              changed: list[PlannedFile], sources: list[Source], outcome: dict[str, list[Marker]],
              dry_run: bool) -> list[str]:
    """The import's report: files, sources, markers by form, and what is left to decide."""
    converted, unmapped = outcome["converted"], outcome["unmapped"]
    sections = [f for f in files if f.kind == "section"]
    cited = {key for f in sections for key in re.findall(r"\[\^([^\]\s]+)\]", f.data.decode())}
    never = [s.number for s in sources if s.key not in cited]
    new = [s for s in sources if s.entry]
    groups = sum(1 for i, m in enumerate(converted) if not i or m.line != converted[i - 1].line
                 or m.start - converted[i - 1].end > 1)
    verb = "would write" if dry_run else "wrote"
    lines = [f"Imported {shown} ({lang}) into {display_path(content_dir)}{' (dry run)' if dry_run else ''}",
             f"  files: {verb} {len(changed)}, {len(files) - len(changed)} unchanged"]
    lines += [f"    {display_path(f.path)}" for f in changed]
    lines.append(f"  sections: {len(sections)}")
    lines.append(f"  sources: {len(sources)} ({plural(len(new), 'new entry', 'new entries')} in the "
                 f"bibliography, {len(sources) - len(new)} already there; "
                 f"{plural(sum(s.verify for s in new), 'title')} derived from the URL, "
                 "marked verify = {title})")
    lines.append(f"  markers converted: {len(converted)} in {plural(groups, 'group')}")
    lines += tally(FORM_NAMES[m.form] for m in converted)
    if outcome["debris"]:
        lines.append(f"  export debris removed: {len(outcome['debris'])} [cite_start]")
    lines.append(f"  markers left as written: {len(unmapped)}" + (
        ", listed above with line:col; replace each with the [^key] you mean" if unmapped else ""))
    lines += tally("malformed" if m.form == "broken" else f"ambiguous {FORM_NAMES[m.form]}"
                   if m.readings and m.form in ("superscript", "circled") else "citing a missing source"
                   for m in unmapped)
    missing = sorted({n for m in unmapped if m.form != "broken" for r in m.readings or (m.numbers,)
                      for n in r} - {s.number for s in sources})
    lines.append(f"  sources never cited: {len(never)}" + (f" ({compact(never)})" if never else ""))
    lines.append(f"  numbers cited but missing from the list: {compact(missing) if missing else 'none'}")
    return lines


def plural(number: int, one: str, many: str = "") -> str:
    """ "1 group", "2 groups"."""
    return f"{number} {one if number == 1 else many or one + 's'}"


def tally(names) -> list[str]:
    """Indented `name  count` lines, the most frequent first."""
    counts: dict[str, int] = {}
    for name in names:
        counts[name] = counts.get(name, 0) + 1
    ordered = sorted(counts.items(), key=lambda item: -item[1])
    wide = lambda name: sum(east_asian_width(c) in "WF" for c in name)  # noqa: E731
    return [f"    {name:<{30 - wide(name)}}{number:>5}" for name, number in ordered]


def compact(numbers: list[int]) -> str:
    """[1, 2, 3, 5] as "1–3, 5"."""
    runs: list[list[int]] = []
    for n in sorted(numbers):
        if runs and n == runs[-1][1] + 1:
            runs[-1][1] = n
        else:
            runs.append([n, n])
    return ", ".join(str(a) if a == b else f"{a}–{b}" for a, b in runs)
