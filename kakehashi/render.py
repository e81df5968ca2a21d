"""Render stage: the Jinja2 environment and page rendering.

Takes a `Page` (template name and context) and gives its HTML. Jinja runs with autoescape
and `StrictUndefined`, so a missing value in a template is an error, never empty text.
UI strings per language live in `templates/i18n/LANG.toml`.
"""

from __future__ import annotations

import posixpath
import tomllib
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape


def make_environment(templates_dir: Path) -> Environment:
    """The Jinja environment for one build."""
    env = Environment(
        loader=FileSystemLoader(str(templates_dir)),
        autoescape=select_autoescape(["html", "xml"], default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    return env


def load_ui_strings(templates_dir: Path, languages: tuple[str, ...]) -> dict[str, dict]:
    """UI strings per language, from `templates/i18n/LANG.toml`."""
    return {code: tomllib.loads((templates_dir / "i18n" / f"{code}.toml").read_text("utf-8"))
            for code in languages}


def relative_href(from_url: str, to_url: str) -> str:
    """A link from one site URL to another that works under any sub-path."""
    target, _, fragment = to_url.partition("#")
    if not target:
        return f"#{fragment}"
    base = from_url if from_url.endswith("/") else posixpath.dirname(from_url) + "/"
    href = posixpath.relpath(target, base)
    if target.endswith("/") and not href.endswith("/"):
        href += "/"
    if href == "./" and fragment:
        href = ""
    return href + (f"#{fragment}" if fragment else "")


def render_page(env: Environment, template: str, context: dict) -> str:
    """Render one page's template with its context."""
    return env.get_template(template).render(**context)
