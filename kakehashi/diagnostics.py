"""Shared by every stage: problems in user input, as data.

A stage never raises on bad input; it records a `Diagnostic` in the `Diagnostics`
collector and recovers. The command decides the exit status at the end.
"""

from __future__ import annotations

import bisect
import functools
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

SEVERITIES = ("error", "warning", "note")
NEWLINE = re.compile("\n")
LINE_INDEXES_KEPT = 64  # texts whose line starts are kept (the files of one build stage)
SILENCE_COMMENT = re.compile(r"kakehashi:\s*silence\s+([a-z0-9][a-z0-9.\-]*(?:[\s,]+[a-z0-9][a-z0-9.\-]*)*)")


@dataclass(frozen=True)
class Diagnostic:
    """One problem, pointing at a place in the user's files."""

    path: str  # file or folder, as shown to the user (relative to the working folder)
    line: int | None  # 1-based; None when the problem is the whole file
    col: int | None  # 1-based, counted in characters (not bytes)
    severity: str  # "error", "warning" or "note"
    message: str  # one sentence: what is wrong and what to do
    code: str  # stable identifier of the kind of problem, e.g. "citation.unknown-key"

    def location(self) -> str:
        """`path:line:col`, leaving out what is unknown."""
        parts = [self.path]
        if self.line is not None:
            parts.append(str(self.line))
            if self.col is not None:
                parts.append(str(self.col))
        return ":".join(parts)

    def format(self) -> str:
        """The single line printed for this problem."""
        return f"{self.location()}: {self.severity}: {self.message} [{self.code}]"

    def as_dict(self) -> dict:
        """A JSON-ready mapping (for `check --format json` and the serve overlay)."""
        return {
            "path": self.path,
            "line": self.line,
            "col": self.col,
            "severity": self.severity,
            "message": self.message,
            "code": self.code,
        }


@dataclass(frozen=True)
class Silence:
    """One rule, written by the author, that keeps a kind of warning quiet."""

    code: str  # the warning's code, e.g. "check.number-parity"
    path: str | None  # the file it applies to (as displayed); None for every file
    lines: tuple[int, ...] | None  # the lines it applies to; None for the whole file
    written_at: tuple[str, int]  # (file, line) of the rule itself, to report an unused one

    def covers(self, item: Diagnostic) -> bool:
        """Whether this rule silences one diagnostic (errors are never silenced)."""
        return (item.severity != "error" and item.code == self.code
                and self.path in (None, item.path)
                and (self.lines is None or item.line in self.lines))


@dataclass
class Diagnostics:
    """Collects diagnostics from every stage, in the order they are found."""

    items: list[Diagnostic] = field(default_factory=list)
    silenced: list[Diagnostic] = field(default_factory=list)  # kept quiet by a `Silence`

    def add(self, path: Path | str, line: int | None, col: int | None, severity: str,
            message: str, code: str) -> None:
        """Record one problem."""
        assert severity in SEVERITIES, severity
        self.items.append(Diagnostic(display_path(path), line, col, severity, message, code))

    def error(self, path: Path | str, line: int | None, col: int | None, message: str,
              code: str) -> None:
        """Record an error: the command will exit 1."""
        self.add(path, line, col, "error", message, code)

    def warning(self, path: Path | str, line: int | None, col: int | None, message: str,
                code: str) -> None:
        """Record a warning: an error only under `--strict`."""
        self.add(path, line, col, "warning", message, code)

    def note(self, path: Path | str, line: int | None, col: int | None, message: str,
             code: str) -> None:
        """Record a note: information that never fails a command."""
        self.add(path, line, col, "note", message, code)

    @property
    def errors(self) -> list[Diagnostic]:
        return [d for d in self.items if d.severity == "error"]

    @property
    def warnings(self) -> list[Diagnostic]:
        return [d for d in self.items if d.severity == "warning"]

    def failed(self, strict: bool = False) -> bool:
        """Whether these diagnostics make the command fail."""
        return bool(self.errors or (strict and self.warnings))

    def silence(self, rules: list[Silence]) -> None:
        """Move every warning and note that a rule covers from `items` to `silenced`."""
        kept = []
        for item in self.items:
            (self.silenced if any(rule.covers(item) for rule in rules) else kept).append(item)
        self.items = kept

    def sorted(self) -> list[Diagnostic]:
        """Unique diagnostics ordered by file, line and column."""
        unique = dict.fromkeys(self.items)
        return sorted(unique, key=lambda d: (d.path, d.line or 0, d.col or 0))


def display_path(path: Path | str) -> str:
    """A path as the user should see it: relative to the working folder when inside it."""
    absolute = Path(os.path.abspath(path))  # not resolve(): a symlink is shown as itself
    try:
        return str(absolute.relative_to(Path(os.path.abspath(Path.cwd()))))
    except ValueError:
        return str(path)


def line_col(text: str, offset: int) -> tuple[int, int]:
    """1-based line and column (in characters) of a character offset in `text`.

    Stages ask for many offsets of one text (every citation of a section), so the line
    starts are found once per text and each question is a binary search, not a count from
    the top (which made a section with 12,000 citations take minutes).
    """
    starts = line_starts(text)
    line = bisect.bisect_right(starts, offset)
    return line, offset - starts[line - 1] + 1


@functools.lru_cache(maxsize=LINE_INDEXES_KEPT)
def line_starts(text: str) -> tuple[int, ...]:
    """The offset at which each line of `text` starts."""
    return (0, *(match.end() for match in NEWLINE.finditer(text)))


def inline_silences(path: Path, text: str) -> list[Silence]:
    """The `kakehashi: silence CODE` comments of one file.

    A comment silences its codes on its own line and on the next line that is not blank
    (the paragraph, entry or key written after it).
    """
    rules = []
    lines = text.split("\n")
    shown = display_path(path)
    for number, line in enumerate(lines, 1):
        for match in SILENCE_COMMENT.finditer(line):
            following = next((n for n in range(number + 1, len(lines) + 1)
                              if lines[n - 1].strip()), number)
            for code in re.split(r"[\s,]+", match[1].strip()):
                rules.append(Silence(code, shown, (number, following), (shown, number)))
    return rules


def configured_silences(rules: tuple[str, ...], content_dir: Path, config_path: Path,
                        config_text: str) -> list[Silence]:
    """The `silence = [...]` rules of site.toml: "CODE", or "FILE:CODE" relative to the content."""
    line = next((n for n, text in enumerate(config_text.split("\n"), 1)
                 if text.lstrip().startswith("silence")), 1)
    written_at = (display_path(config_path), line)
    silences = []
    for rule in rules:
        file, _, code = rule.rpartition(":")
        path = display_path(content_dir / file) if file else None
        silences.append(Silence(code, path, None, written_at))
    return silences
