"""Shared by the render stage: the inline patterns a document can need, and only those.

Python-Markdown tries every inline pattern on every piece of text of a document, whether
or not the text holds the character the pattern starts with; at a report's size that is
most of the cost of rendering. Each pattern below cannot match without one of its
triggers, so a document (with whatever the citation extension writes into it, such as the
sources' names) that holds none of them is rendered without that pattern, and its HTML is
the same. A pattern not listed here (another extension's) is always kept.
"""

from __future__ import annotations

from collections.abc import Iterable

import markdown

TRIGGERS = {  # pattern name (Python-Markdown's and ours) -> what it cannot match without
    "backtick": ("`",),
    "math": ("$",),
    "escape": ("\\",),
    "footnote": ("[",),
    "citation": ("[",),
    "narrative": ("@",),
    "reference": ("[",),
    "link": ("[",),
    "short_reference": ("[",),
    "image_link": ("![",),
    "image_reference": ("![",),
    "short_image_ref": ("![",),
    "autolink": ("<",),
    "automail": ("<",),
    "html": ("<",),
    "entity": ("&",),
    "linebreak": ("  \n",),
    "em_strong": ("*", "_"),
    "em_strong2": ("_",),
    "not_strong": ("*", "_"),
    "strong_em": ("*",),
    "strong": ("*",),
    "emphasis": ("*",),
    "emphasis2": ("_",),
}


def needed_patterns(md: markdown.Markdown, texts: Iterable[str]) -> list:
    """The converter's inline patterns in priority order, without those `texts` cannot need."""
    text = "\0".join(texts)
    registry = md.inlinePatterns
    registry._sort()  # noqa: SLF001 - the registry's names in priority order have no public view
    return [registry[item.name] for item in registry._priority  # noqa: SLF001
            if item.name not in TRIGGERS or any(t in text for t in TRIGGERS[item.name])]


def use_patterns(md: markdown.Markdown, patterns: list) -> None:
    """Have the next conversion try these inline patterns (a plain list: also faster to index)."""
    md.treeprocessors["inline"].inlinePatterns = patterns
