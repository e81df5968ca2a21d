"""Serve's edited section first (`quick.py`): the page written ahead of the rebuild is the
page the rebuild writes, byte for byte, and an edit that reaches other pages writes none."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from conftest import ROOT, tree_bytes
from kakehashi.quick import write_edited_pages
from kakehashi.site import BuildCache, BuildOptions, build


@pytest.fixture
def served(tmp_path):
    """The flagship built as serve builds it: (content, out, the build's memory)."""
    content = tmp_path / "content"
    shutil.copytree(ROOT / "content", content)
    out, cache = tmp_path / "out", BuildCache()
    assert not build(BuildOptions(content, out), cache=cache).diagnostics.failed()
    return content, out, cache


def rewrite(path: Path, change) -> None:
    path.write_text(change(path.read_text("utf-8")), "utf-8")


def longest_line(text: str) -> str:
    """The section's longest line of prose (not a footnote, heading, list item or table)."""
    lines = [line for line in text.splitlines() if line and not line.startswith(("[^", "#", "|",
                                                                                 "-", ">", "!"))]
    return max(lines, key=len)


# Sections with figures, tables and cross-references (gemini-3, anthropic) and without.
@pytest.mark.parametrize("name", ["02-gemini-3.ja.md", "02-gemini-3.en.md", "06-anthropic.ja.md",
                                  "06-anthropic.en.md", "09-ai-bubble.ja.md", "10-conclusion.en.md"])
def test_the_page_written_ahead_is_the_rebuilds(served, name):
    content, out, cache = served
    path = content / "sections" / name
    line = longest_line(path.read_text("utf-8"))
    added = "（追記）" if name.endswith(".ja.md") else " (added)"
    rewrite(path, lambda text: text.replace(line, line[:12] + added + line[12:], 1))
    urls = write_edited_pages(cache.last, {str(path)}, out.resolve())
    slug, code = re.match(r"\d+-(.+)\.(\w+)\.md$", name).groups()
    assert urls == [f"/{code}/{slug}/"]
    ahead = (out / code / slug / "index.html").read_bytes()
    assert added.encode() in ahead
    assert not build(BuildOptions(content, out), cache=cache).diagnostics.failed()
    assert (out / code / slug / "index.html").read_bytes() == ahead


def test_two_sections_saved_together_are_both_written(served):
    content, out, cache = served
    paths = [content / "sections/03-finances.ja.md", content / "sections/03-finances.en.md"]
    for path in paths:
        line = longest_line(path.read_text("utf-8"))
        rewrite(path, lambda text, line=line: text.replace(line, line + " ", 1))
    assert sorted(write_edited_pages(cache.last, set(map(str, paths)), out.resolve())) == [
        "/en/finances/", "/ja/finances/"]


@pytest.mark.parametrize("how", ["another file", "a new section", "a deleted section",
                                 "a new summary", "an unknown figure"])
def test_an_edit_beyond_the_section_text_writes_nothing_ahead(served, how):
    content, out, cache = served
    sections = content / "sections"
    section = sections / "04-shallotpeat.en.md"
    changed = {str(section)}
    if how == "another file":
        rewrite(content / "site.toml", lambda text: text + "\n")
        changed.add(str(content / "site.toml"))
    elif how == "a new section":
        shutil.copy(section, sections / "11-extra.en.md")
        changed = {str(sections / "11-extra.en.md")}
    elif how == "a deleted section":
        section.unlink()
    elif how == "a new summary":
        rewrite(section, lambda text: re.sub(r'(?m)^summary: "', 'summary: "New. ', text, count=1))
    else:
        rewrite(section, lambda text: text + "\nAs @fig-nowhere shows.\n")
    before = tree_bytes(out)
    assert write_edited_pages(cache.last, changed, out.resolve()) == []
    assert tree_bytes(out) == before


def test_after_a_failed_build_nothing_is_written_ahead(served):
    """The last good build may no longer be what the other files say: the rebuild decides."""
    content, out, cache = served
    path = content / "sections/05-scaling-limits.en.md"
    good = path.read_text("utf-8")
    path.write_text(good + "\nSee [^no-such-key].\n", "utf-8")
    assert build(BuildOptions(content, out), cache=cache).diagnostics.failed()
    assert cache.last is None
    path.write_text(good.replace("the", "the the", 1), "utf-8")
    assert build(BuildOptions(content, out), cache=cache).diagnostics.failed() is False
    assert cache.last is not None
