"""Report stage of `import`: what the command tells the user.

Takes the parsed export, the plan and the sources; gives one diagnostic for each marker
left as written (why, its candidate readings with their keys, the text around it, the
file it is in) and the summary the command prints: the reports found, the files written,
the sources and the titles still to confirm, the markers by form, and where every line of
the report went (a section, the bibliography, site.toml or the leftovers file).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING
from unicodedata import east_asian_width

from .diagnostics import Diagnostics, display_path
from .import_entries import Source
from .import_markers import FORM_NAMES, Marker, is_listed

if TYPE_CHECKING:
    from .import_write import Plan, PlannedFile
    from .importer import Export

VERIFY_REASONS = (("url", "title", "derived from the URL"), ("truncated", "title", "cut short in the list"),
                  ("note", "source", "kept whole in note (no URL, or not read whole)"))


def by_number(label: str) -> tuple:
    """A sort key that puts "2" before "10" and numbered labels before others."""
    return (not label.isdigit(), int(label) if label.isdigit() else 0, label)


def explain(marker: Marker, written: str, keys: dict[str, str], has_list: bool) -> tuple[str, str, str]:
    """(why a marker is left, its diagnostic code, its line in the summary's tally)."""
    readings = [r for r in marker.readings if all(label in keys for label in r)]
    if marker.form == "broken":
        return f'"{written}" is an unfinished or malformed marker (unbalanced brackets?)', \
            "import.malformed-marker", "malformed"
    if marker.form == "bare" and readings:
        shown = " or as ".join(", ".join(f"{n} [^{keys[n]}]" for n in r) for r in readings[:4])
        return f'"{written}": these bare digits stand {marker.why}, so they may be a citation; ' \
               f"they can be read as {shown}", "import.uncertain-marker", "uncertain bare digits"
    if readings and (len(readings) > 1 or marker.form == "circled"):
        shown = [", ".join(f"{n} [^{keys[n]}]" if len(readings) <= 3 else n for n in r)
                 for r in readings[:4]]
        more = f" (or {len(readings) - 4} other ways to split the digits)" if len(readings) > 4 else ""
        kind = "a circled number is not a certain marker; as written it" if marker.form == "circled" \
            else "this run of superscript digits"
        return f'"{written}": {kind} can be read as {" or as ".join(shown)}{more}', \
            "import.ambiguous-marker", f"ambiguous {FORM_NAMES[marker.form]}"
    if is_listed(marker) and marker.form != "circled":
        return f'"{written}" names a source by the exporter\'s own numbering, not by a number of ' \
               "the source list", "import.missing-source", f"{FORM_NAMES[marker.form]} (no list number)"
    labels = sorted({label for r in marker.readings or (marker.labels,) for label in r} - set(keys),
                    key=by_number)
    where = "which the source list does not have" if has_list else "but the report has no source list"
    return f'"{written}" cites {", ".join(labels) or "a linked source"}, {where}', \
        "import.missing-source", "citing a missing source"


def report_unmapped(marker: Marker, line: str, keys: dict[str, str], has_list: bool, where: str,
                    shown: str, allow_unmapped: bool, diag: Diagnostics) -> None:
    """One diagnostic for a marker left as written: why, its readings, the text around it."""
    written = line[marker.start:marker.end]
    around = f"«{'…' if marker.start > 20 else ''}{line[max(0, marker.start - 20):marker.end + 20]}" \
             f"{'…' if marker.end + 20 < len(line) else ''}»"
    why, code, _ = explain(marker, written, keys, has_list)
    advice = "replace it with the [^key] you mean"
    advice = f"if it is a citation, {advice}" if code == "import.uncertain-marker" else advice
    if marker.form in ("footnote", "footnote_turn"):
        where = f"{where} with its bracket escaped (\\{written}, so that the site builds)"
    diag.add(shown, marker.line, marker.col, "warning" if allow_unmapped else "error",
             f"{why}; left as written in {where}: {advice} {around}", code)


def summarise(export: Export, plan: Plan, sources: list[Source], keys: tuple[dict[str, str], ...],
              lang: str, content_dir: Path, changed: list[PlannedFile], dry_run: bool) -> list[str]:
    """The import's report: reports, files, sources, markers by form, and where the lines went."""
    sections = [f for f in plan.files if f.kind == "section"]
    lines = [f"Imported {export.shown} ({lang}) into {display_path(content_dir)}"
             + (" (dry run)" if dry_run else "")]
    if len(export.documents) > 1:
        parts = ", ".join(f"lines {d.start}–{d.end - 1} ({plural(len(d.sources.items), 'source')})"
                          for d in export.documents)
        lines.append(f"  reports: {len(export.documents)} in one file (a source list numbered from 1 "
                     f"again); each is read with its own list: {parts}")
    lines.append(f"  files: {'would write' if dry_run else 'wrote'} {len(changed)}, "
                 f"{len(plan.files) - len(changed)} unchanged")
    lines += [f"    {display_path(f.path)}" for f in changed]
    lines.append(f"  sections: {len(sections)}")
    lines.append(f"  sources: {describe_sources(sources)}")
    lines += describe_markers(export, plan, keys)
    cited = {key for f in sections for key in re.findall(r"\[\^([^\]\s]+)\]", f.data.decode())}
    never = sorted({s.label for s in sources if s.key not in cited}, key=by_number)
    lines.append(f"  sources never cited: {len(never)}" + (f" ({compact(never)})" if never else ""))
    missing = sorted({label for m in plan.unmapped if m.form == "bare" or not is_listed(m)
                      and m.form != "broken" for r in m.readings or (m.labels,) for label in r
                      if label not in keys[export.document(m.line)] and label.isdigit()}, key=by_number)
    lines.append(f"  numbers cited but missing from the list: {compact(missing) if missing else 'none'}")
    lines.append(f"  lines of the report: {where_lines(export, plan)}")
    return lines


def describe_sources(sources: list[Source]) -> str:
    """How many sources, how many are new, and how many titles still need confirming."""
    if not sources:
        return "none; the report has no source list, so references.bib has no entries for it"
    new = [s for s in sources if s.entry]
    again = sum(1 for s in sources if not s.entry and s.key in {n.key for n in new})
    to_confirm = [f"{plural(sum(s.verify == reason for s in new), what)} {how}"
                  for reason, what, how in VERIFY_REASONS
                  if reason == "url" or any(s.verify == reason for s in new)]
    return (f"{len(sources)} ({plural(len(new), 'new entry', 'new entries')} in the bibliography, "
            f"{len(sources) - len(new) - again} already there"
            + (f", {again} listed again by another report or link" if again else "")
            + f"; {', '.join(to_confirm)}, marked verify = {{title}})")


def describe_markers(export: Export, plan: Plan, keys: tuple[dict[str, str], ...]) -> list[str]:
    """The markers converted and left as written, each tallied by form."""
    converted, unmapped = plan.converted, plan.unmapped
    groups = sum(1 for i, m in enumerate(converted) if not i or m.line != converted[i - 1].line
                 or m.start - converted[i - 1].end > 1)
    lines = [f"  markers converted: {len(converted)} in {plural(groups, 'group')}"]
    lines += tally(FORM_NAMES[m.form] for m in converted)
    if not converted and not unmapped and any(d.sources.items for d in export.documents):
        lines.append("    none found, although the report lists sources: see the warning above")
    if plan.debris:
        lines.append(f"  export debris removed: {len(plan.debris)} [cite_start]")
    lines.append(f"  markers left as written: {len(unmapped)}" + (
        ", listed above with line:col; replace each with the [^key] you mean" if unmapped else ""))
    document = [keys[export.document(m.line)] for m in unmapped]
    lines += tally(explain(m, export.lines[m.line - 1][m.start:m.end], found, bool(found))[2]
                   for m, found in zip(unmapped, document))
    return lines


def where_lines(export: Export, plan: Plan) -> str:
    """Where the report's non-blank lines went, counted."""
    leftovers = {n for n, _ in plan.leftovers}
    listed = {n for d in export.documents for n in d.sources.lines
              if export.lines[n - 1].strip()} - leftovers
    title = {h.line for h in export.headings if h.level == 1}
    text = {n for n in range(1, len(export.lines) + 1) if export.lines[n - 1].strip()}
    dropped = sorted({export.lines[n - 1].strip() for n in text - plan.placed - listed - leftovers - title})
    parts = [f"{len(plan.placed)} in section files"]
    parts += [f"{len(listed)} in references.bib"] if listed else []
    parts += [f"{len(title)} (the title) in site.toml"] if title else []
    leftover_file = next((f for f in plan.files if f.kind == "leftovers"), None)
    parts += [f"{len(leftovers)} in {display_path(leftover_file.path)}"] if leftover_file else []
    count = len(text - plan.placed - listed - leftovers - title)
    parts += [f"{plural(count, 'separator line')} ({', '.join(dropped)}) dropped"] if count else []
    return ", ".join(parts)


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


def compact(labels: list[str]) -> str:
    """["1", "2", "3", "5"] as "1–3, 5"; labels that are no numbers are listed as they are."""
    runs: list[list[int]] = []
    for n in sorted(int(label) for label in labels if label.isdigit()):
        if runs and n == runs[-1][1] + 1:
            runs[-1][1] = n
        else:
            runs.append([n, n])
    shown = [str(a) if a == b else f"{a}–{b}" for a, b in runs]
    return ", ".join(shown + [label for label in labels if not label.isdigit()])
