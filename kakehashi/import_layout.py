"""Parse stage of `import`, first step: what each line of an exported report is.

Takes the report's lines; gives a frozen `Layout`: whether the export is Markdown or plain
text, which lines are code (fenced, indented, or the unfenced blocks a plain-text export
leaves under a "Python" label), which are tables, which are the exporter's own chrome (a
logo image, a ⁂ divider, a hidden list of sources), and each line with code, maths and
comments blanked out, so that no later stage reads a marker or a heading inside them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .scanner import FENCED_CODE, HTML_BLOCK, mask_indented_code

ATX_HEADING = re.compile(r"^ {0,3}(#{1,6})[ \t]+(.+?)(?:[ \t]+#+)?[ \t]*$")
FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
CODE_SPAN = re.compile(r"``[^\n]+?``|`[^`\n]+`")
HTML_COMMENT = re.compile(r"<!--.*?-->", re.DOTALL)
MATHS = re.compile(  # $$…$$, \[…\] (not the escaped marker \[1\]), \(…\), and $…$ by pandoc's rule
    r"(?<!\\)\$\$.+?(?<!\\)\$\$|\\\[(?!\s*[\d,\s–-]*\\\]).+?\\\]|\\\(.+?\\\)|"
    r"(?<![\\$])\$(?=[^\s$])[^$\n]+?(?<=[^\s\\])\$(?![\d$])", re.DOTALL)
CHROME = re.compile(  # what exporters add around the report, never its text
    r"^\s*(?:<img\b[^>]*(?:logo|pplx|perplexity)[^>]*>|<div\b[^>]*>\s*⁂\s*</div>|⁂|"
    r'<span\s+style="display:\s*none;?">.*</span>)\s*$', re.IGNORECASE)
PIPE_ROW = re.compile(r"^\s*\|.*\|\s*$")
LANGUAGES = {name.casefold(): name for name in (
    "Python TypeScript JavaScript JSON Bash Shell Sh Zsh SQL YAML TOML HTML CSS SCSS XML Go Rust "
    "Java Kotlin Swift C C++ C# Ruby PHP R Scala Dart Lua Perl PowerShell Dockerfile Makefile "
    "Markdown Mermaid GraphQL JSX TSX Plaintext Text INI Diff Vue Svelte Haskell Elixir").split()}
CODE_LABELS = {"code snippet", "コード スニペット", "コードスニペット", "代码段", "代码片段"}
CODE_LINE = re.compile(
    r"^\s*(?:(?:import|from|def|class|return|const|let|var|function|async|await|export|package|"
    r"public|private|protected|static|fn|use|impl|struct|enum|interface|type|module|require|using|"
    r"namespace|try|catch|finally|except|raise|throw|elif|else|if|for|while|switch|case|print|echo|"
    r"SELECT|INSERT|UPDATE|DELETE|CREATE|ALTER|DROP|graph|flowchart|sequenceDiagram|pip|npm|npx|"
    r"git|docker|curl|sudo|cd|apt|brew)\b(?![ \t]*[:：])|#include|#!|//|/\*|\*/|\*\s*@|"
    r"[{}\[\]()]+[;,]?\s*$|</?[a-zA-Z][\w-]*(?:\s[^>]*)?/?>\s*$|\$ |@\w+|\"[^\"]+\"\s*:|"
    r"[\w.\[\]'\"]+\s*(?:=|\+=|-=|:=|=>|->)\s*\S)")
ENDS_LIKE_CODE = re.compile(r"(?:[{};(\[,]|=>|\)\s*:)\s*$")
WIDE = re.compile(r"[\u1100-\u115f\u2e80-\ua4cf\uac00-\ud7a3\uf900-\ufaff\ufe30-\ufe4f\uff00-\uff60"
                  r"\uffe0-\uffe6]")
SHORT_LINE = 60  # display columns: longer lines are paragraphs
STRONG_HEADING = re.compile(
    r"^\s*(?:第\s*[0-9０-９一二三四五六七八九十百]+\s*[章部編節]|(?:Part|Chapter|Section|Appendix)\s+(?:\d+|[IVX]{1,5})\b|"
    r"\d{1,2}(?:\.\d{1,2}){0,3}\.?\s|[IVX]{1,5}\.\s|(?:緒論|序論|序章|はじめに|結論|結語|おわりに|まとめ|総括|"
    r"要旨|概要|付録|Introduction|Conclusions?|Summary|Executive Summary|Abstract|Appendix|"
    r"エグゼクティブサマリー)(?:\s*[:：].*)?\s*$)")


@dataclass(frozen=True)
class Layout:
    """What each line of the export is."""

    markdown: bool  # a Markdown export (it has `#` headings or fences); else plain text
    masked: tuple[str, ...]  # every line with code, maths and comments as spaces (same length)
    code: frozenset[int]  # 1-based lines of code blocks, fences and language labels included
    unfenced: tuple[tuple[int, int, int, str], ...]  # (label line or 0, first line, last line,
    #                                                 language) of code left without fences
    tables: frozenset[int]  # lines that are table rows or (plain text) one table cell each
    chrome: frozenset[int]  # the exporter's additions: logo, ⁂ divider, hidden source list

    def prose(self, number: int) -> bool:
        """Whether a 1-based line is text a reader reads (not code, chrome or empty)."""
        return number not in self.code and number not in self.chrome and \
            bool(self.masked[number - 1].strip())


def display_width(text: str) -> int:
    """Columns a text takes: two for each wide (CJK) character."""
    return len(text) + len(WIDE.findall(text))


def is_markdown(lines: list[str]) -> bool:
    """Whether the export is Markdown: it has `#` headings or fenced code."""
    return any(ATX_HEADING.match(line) or FENCE.match(line) for line in lines)


def read_layout(lines: list[str]) -> Layout:
    """Classify every line of the export."""
    markdown = is_markdown(lines)
    text = "\n".join(lines)
    if markdown:  # what Python-Markdown reads as code or raw HTML (link addresses are kept)
        masked = mask_indented_code(FENCED_CODE.sub(blank, text))
        masked = CODE_SPAN.sub(blank, HTML_BLOCK.sub(blank, HTML_COMMENT.sub(blank, masked)))
    else:
        masked = HTML_COMMENT.sub(blank, CODE_SPAN.sub(blank, text))
    masked = MATHS.sub(blank, masked)
    masked_lines = masked.split("\n")
    fenced = fenced_lines(lines)
    chrome = frozenset(n for n, line in enumerate(lines, 1) if n not in fenced and CHROME.match(line))
    code = fenced | {n for n, (line, seen) in enumerate(zip(lines, masked_lines), 1)
                     if markdown and line.strip() and not seen.strip() and n not in chrome}
    unfenced = () if markdown else find_unfenced_code(lines, code)
    for label, first, last, _ in unfenced:
        code.update(range(label or first, last + 1))
    for number in code:
        masked_lines[number - 1] = " " * len(lines[number - 1])
    tables = find_tables(lines, frozenset(code), markdown)
    return Layout(markdown, tuple(masked_lines), frozenset(code), unfenced, tables, chrome)


def blank(match: re.Match) -> str:
    """The matched text as spaces, keeping its line breaks."""
    return re.sub(r"[^\n]", " ", match[0])


def fenced_lines(lines: list[str]) -> set[int]:
    """1-based numbers of the lines inside fenced code blocks (fences included)."""
    inside, fence, found = False, "", set()
    for number, line in enumerate(lines, 1):
        match = FENCE.match(line)
        if inside:
            found.add(number)
            if match and match[1][0] == fence[0] and len(match[1]) >= len(fence):
                inside = False
        elif match:
            inside, fence = True, match[1]
            found.add(number)
    return found


def code_like(line: str) -> bool:
    """Whether a line reads as program text rather than prose."""
    return bool(CODE_LINE.match(line) or ENDS_LIKE_CODE.search(line)) and not line.rstrip().endswith("。")


def find_unfenced_code(lines: list[str], fenced: set[int]) -> tuple[tuple[int, int, int, str], ...]:
    """Code a plain-text export kept without fences: under a language label, or three code lines."""
    blocks, number = [], 1
    while number <= len(lines):
        label = lines[number - 1].strip()
        known = label.casefold() in LANGUAGES or label.casefold() in CODE_LABELS
        start = number + 1 if known else number
        while known and start <= len(lines) and not lines[start - 1].strip():
            start += 1
        if number in fenced or start > len(lines) or not code_like(lines[start - 1]) or (
                not known and not all(n <= len(lines) and CODE_LINE.match(lines[n - 1])
                                      for n in range(start, start + 3))):
            number += 1
            continue
        end = start
        while end < len(lines) and end + 1 not in fenced and (
                not lines[end].strip() or code_like(lines[end]) or lines[end][:1] in " \t}])"):
            end += 1
        while not lines[end - 1].strip():
            end -= 1
        blocks.append((number if known else 0, start, end,
                       LANGUAGES.get(label.casefold(), "").lower() if known else ""))
        number = end + 1
    return tuple(blocks)


def is_short(line: str) -> bool:
    """A line short enough to be a heading or a table cell, with no sentence end."""
    text = line.strip()
    return bool(text) and display_width(text) <= SHORT_LINE and not text.endswith(tuple("。．.!?！？;；"))


def find_tables(lines: list[str], code: frozenset[int], markdown: bool) -> frozenset[int]:
    """Table rows (pipes, tabs) and, in plain text, blocks of one cell a line."""
    found = {n for n, line in enumerate(lines, 1) if n not in code and (
        PIPE_ROW.match(line) or (not markdown and "\t" in line.strip(" ")))}
    if markdown:
        return frozenset(found)
    number = 1
    while number <= len(lines):
        run = number
        while run <= len(lines) and run not in code and is_short(lines[run - 1]) \
                and not STRONG_HEADING.match(lines[run - 1]):
            run += 1
        if run - number >= 3:  # a header row of three short cells: a table, to its blank line
            end = run
            while end <= len(lines) and lines[end - 1].strip() and end not in code \
                    and not STRONG_HEADING.match(lines[end - 1]):
                end += 1
            found.update(range(number, end))
            number = end
        number = max(run, number + 1)
    return frozenset(found)
