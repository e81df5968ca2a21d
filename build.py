#!/usr/bin/env python3
"""Kakehashi's command line: build, serve, check, pdf, import and new. Run with --help."""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path

VENV_PYTHON = Path(__file__).resolve().parent / ".venv" / "bin" / "python"
REQUIRED = ("jinja2", "markdown", "pybtex", "yaml", "livereload", "latex2mathml")  # import names


def main() -> int:
    """Run Kakehashi; outside the project's environment, re-run inside it when it exists."""
    missing = next((name for name in REQUIRED if importlib.util.find_spec(name) is None), None)
    if missing:
        if VENV_PYTHON.is_file() and Path(sys.prefix).resolve() != VENV_PYTHON.parent.parent.resolve():
            os.execv(VENV_PYTHON, [str(VENV_PYTHON), *sys.argv])
        print(f"build.py: the Python package {missing!r} is not installed; run `make install` "
              "once (it creates .venv with everything Kakehashi needs), or "
              "`pip install -r requirements.txt`", file=sys.stderr)
        return 1
    from kakehashi.cli import main as run
    return run()


if __name__ == "__main__":
    sys.exit(main())
