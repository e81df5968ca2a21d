"""A `check` lint: citation markers that an import left as written, still in a section.

Takes the site `check` built; gives a warning at `file:line:col` for every marker of a form
the importer knows (each row of `import_markers.FORMS` that `check` reports: `[3]`, `¹²`,
`④`, `【2†source】`, `[cite: 1]`, bare digits at a sentence's end…) that is still in a
section's prose, so an author can tell when every one of them has been resolved. Code,
maths, raw HTML and comments are never read, as the import never reads them; nor are the
author's own footnotes (`[^note]: …`), where "source [11]" may name a bibliography number.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from .diagnostics import Diagnostics, line_col
from .import_layout import MATHS, blank
from .import_markers import BY_NAME, FORM_NAMES, Context, scan_line
from .scanner import scan_source

if TYPE_CHECKING:
    from .site import Site

LINT_CONTEXT = {"known": frozenset(), "top": 0, "bare": False, "table": False, "lint": True}
DEFINITION = re.compile(r"^ {0,3}\[\^[^\]\n]+\]:")


def list_leftover_markers(site: Site, diag: Diagnostics) -> None:
    """Warn for each citation marker of an import that no one has replaced with a [^key] yet."""
    for section in site.report.sections:
        masked = MATHS.sub(blank, scan_source(section.body).citation_text())
        offset, start = len(section.text) - len(section.body), 0
        for number, line in enumerate(without_footnotes(section.body.split("\n"), masked.split("\n"))):
            for marker in scan_line(line, number, Context(line, **LINT_CONTEXT)):
                form = BY_NAME["cite_start" if marker.form == "debris" else marker.form]
                if marker.form == "broken" or not form.lint:
                    continue
                written = section.body[start + marker.start:start + marker.end]
                row, col = line_col(section.text, offset + start + marker.start)
                diag.warning(section.path, row, col, f'citation marker "{written}" '
                             f"({FORM_NAMES[form.name]}) is still as the import left it; replace it "
                             "with the [^key] of its source", "check.leftover-marker")
            start += len(line) + 1


def without_footnotes(lines: list[str], masked: list[str]) -> list[str]:
    """The masked lines with every footnote definition (and its indented lines) blanked."""
    inside = False
    for index, line in enumerate(lines):
        continued = not line.strip() or line.startswith(("    ", "\t"))
        inside = bool(DEFINITION.match(line)) or inside and continued
        if inside:
            masked[index] = " " * len(masked[index])
    return masked
