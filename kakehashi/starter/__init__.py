"""The `new` command: write a minimal bilingual project that builds and checks clean.

Takes a folder that does not exist yet (or is empty); copies the starter project that
lives beside this module (`site.toml` with every key explained, one section in each
language that shows every citation form, a figure, a table, cross-references, maths and a
callout, a small `references.bib`, and the figure's image in `files/`) into it.
"""

from __future__ import annotations

import sys
from pathlib import Path

from ..diagnostics import display_path

STARTER_DIR = Path(__file__).resolve().parent
STARTER_FILES = ("site.toml", "references.bib", "sections/01-introduction.ja.md",
                 "sections/01-introduction.en.md", "files/utf8-bytes.svg")


def new_project(folder: Path) -> int:
    """Write the starter project into `folder`; return the exit status."""
    shown = display_path(folder)
    if folder.exists() and not folder.is_dir():
        print(f"{shown}: error: this is a file; choose a new folder for the project "
              "[new.not-a-folder]", file=sys.stderr)
        return 1
    if folder.is_dir() and any(folder.iterdir()):
        print(f"{shown}: error: this folder is not empty, and new never writes over files; "
              "choose a new folder [new.not-empty]", file=sys.stderr)
        return 1
    try:
        for name in STARTER_FILES:
            target = folder / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes((STARTER_DIR / name).read_bytes())
    except OSError as exc:
        print(f"{shown}: error: cannot write the project here ({exc.strerror}) [new.unwritable]",
              file=sys.stderr)
        return 1
    print(f"Created a new report in {shown}:")
    for name in STARTER_FILES:
        print(f"  {display_path(folder / name)}")
    print(f"Next: preview it with `python build.py serve --content {shown}` "
          f"(or `make serve CONTENT={shown}`), then edit the files above.")
    return 0
