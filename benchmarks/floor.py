#!/usr/bin/env python3
"""The floor: the bare job of a Kakehashi build, done with the same libraries in one process.

Reads a Kakehashi content folder (sections/*.md, references.bib): parses the .bib once
with pybtex and formats every entry once with its `unsrt` style; for every section of both
languages, splits the front matter, converts the Markdown with one reused
`markdown.Markdown`, turns each `[^key]` into a numbered link, appends that page's reference
list, renders a small Jinja template and writes the file; then one index page a language.
No navigation, bibliography page, cross-references, cache or checks: a lower bound that the
benchmark divides Kakehashi's times by.

    python benchmarks/floor.py CONTENT_DIR OUT_DIR
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import jinja2
import markdown
import pybtex.database
from pybtex.backends.html import Backend
from pybtex.style.formatting.unsrt import Style

PAGE = jinja2.Template("""<!doctype html>
<html lang="{{ lang }}"><head><meta charset="utf-8"><title>{{ title }}</title></head>
<body>
<h1>{{ title }}</h1>
{{ body }}
<section class="references"><ol>
{%- for key, html in refs %}
<li id="ref-{{ key }}">{{ html }}</li>
{%- endfor %}
</ol></section>
</body></html>
""")
INDEX = jinja2.Template("""<!doctype html>
<html lang="{{ lang }}"><head><meta charset="utf-8"><title>{{ lang }}</title></head>
<body><ul>{% for slug, title in pages %}<li><a href="{{ slug }}.html">{{ title }}</a></li>{% endfor %}</ul>
</body></html>
""")
CITATION = re.compile(r"\[\^([^\]\s]+)\]")
NAME = re.compile(r"^\d+-(?P<slug>.+)\.(?P<lang>[a-z]{2})\.md$")


def main(content: Path, out: Path) -> None:
    """Build the floor's site of `content` into `out`."""
    bibliography = pybtex.database.parse_file(str(content / "references.bib"))
    backend = Backend()
    formatted = {entry.key: entry.text.render(backend)
                 for entry in Style().format_entries(bibliography.entries.values())}
    converter = markdown.Markdown(output_format="html")
    index: dict[str, list[tuple[str, str]]] = {}
    for path in sorted((content / "sections").glob("*.md")):
        match = NAME.match(path.name)
        _, front, body = path.read_text("utf-8").split("---\n", 2)
        title = front.split("title:", 1)[1].strip().strip('"')
        numbers: dict[str, int] = {}

        def cite(found: re.Match) -> str:
            number = numbers.setdefault(found[1], len(numbers) + 1)
            return f'<sup><a href="#ref-{found[1]}">[{number}]</a></sup>'

        html = CITATION.sub(cite, converter.reset().convert(body))
        page = out / match["lang"] / f"{match['slug']}.html"
        page.parent.mkdir(parents=True, exist_ok=True)
        page.write_text(PAGE.render(lang=match["lang"], title=title, body=html,
                                    refs=[(key, formatted[key]) for key in numbers]), "utf-8")
        index.setdefault(match["lang"], []).append((match["slug"], title))
    for lang, pages in index.items():
        (out / lang / "index.html").write_text(INDEX.render(lang=lang, pages=pages), "utf-8")


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    main(Path(sys.argv[1]), Path(sys.argv[2]))
