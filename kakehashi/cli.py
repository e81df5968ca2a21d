"""The command line: argparse subcommands, one call each into the package.

Exit status: 0 ok; 1 errors in user input (or warnings under --strict); 2 usage.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from pathlib import Path

from . import __version__
from .diagnostics import Diagnostics

COMMANDS = ("build", "serve", "check", "pdf", "import", "new")
TOP_LEVEL_OPTIONS = ("-h", "--help", "--version")
DESCRIPTION = """\
Kakehashi turns a report written as Markdown sections in Japanese and English, with
citations such as [^key] that resolve against one BibTeX file, into a bilingual static
site with a bibliography page, a print page and PDFs.

Run COMMAND --help for the options of one command. Without a command, Kakehashi builds."""
EXAMPLES = (
    ("new my-report", "start a new bilingual report in my-report/"),
    ("serve --content my-report", "preview it at http://127.0.0.1:8000/ while you write"),
    ("check --content my-report", "list every problem, each with file:line:col"),
    ("--content my-report --out site", "build the site into site/"),
    ("pdf --content my-report", "build, then print LANG/report.pdf"),
    ("import export.md --lang ja --content my-report", "turn a deep-research export into "
     "sections and BibTeX"),
)
EPILOG = """\
Problems are printed one a line as file:line:col: severity: message [code]. The exit status
is 0 when the content is fine, 1 when it has errors (or warnings, with --strict), 2 for a
mistake on the command line. The README explains the content format and every option."""


def examples(prog: str) -> str:
    """The help's examples, aligned for the name the program was called by."""
    lines = ["examples:"]
    for arguments, meaning in EXAMPLES:
        lines += [f"  {prog} {arguments}", f"      {meaning}"]
    return "\n".join(lines) + "\n\n" + EPILOG


def program_name() -> str:
    """How the user called us: `kakehashi` once installed, else `python build.py`."""
    name = Path(sys.argv[0]).name
    return "python build.py" if name.endswith(".py") or not name else name


def parse_arguments(argv: list[str]) -> argparse.Namespace:
    """Parse the command line; `build` is the default command."""
    if not argv or argv[0] not in COMMANDS + TOP_LEVEL_OPTIONS:
        argv = ["build", *argv]
    prog = program_name()
    parser = argparse.ArgumentParser(prog=prog, description=DESCRIPTION,
                                     epilog=examples(prog),
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"kakehashi {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name: str, text: str, content: bool = True) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=text, description=text[0].upper() + text[1:] + ".")
        if content:
            sub.add_argument("--content", type=Path, default=Path("content"), metavar="DIR",
                             help="the content folder: site.toml, references.bib and sections/ "
                                  "(default: content)")
        return sub

    def site_options(sub: argparse.ArgumentParser) -> None:
        sub.add_argument("--out", type=Path, default=Path("_site"), metavar="DIR",
                         help="output folder (default: _site); only a folder Kakehashi made "
                              "is ever replaced")
        sub.add_argument("--base-url", metavar="URL",
                         help="the absolute URL the site is published at (overrides site.toml)")
        sub.add_argument("--strict", action="store_true", help="treat warnings as errors")
        sub.add_argument("--drafts", action="store_true", help="include sections marked draft: true")

    build = command("build", "build the site into the output folder")
    site_options(build)
    build.add_argument("--no-cache", action="store_true",
                       help="build everything again, without reading or writing the cache "
                            "folder (.kakehashi-cache/ beside the output folder)")
    serve = command("serve", "build, serve with live reload and rebuild on every change")
    site_options(serve)
    serve.add_argument("--host", default="127.0.0.1", help="address to bind (default: 127.0.0.1)")
    serve.add_argument("--port", type=int, default=8000, help="port (default: 8000)")
    check = command("check", "list every problem in the content, without writing anything")
    check.add_argument("--strict", action="store_true", help="treat warnings as errors")
    check.add_argument("--drafts", action="store_true", help="include sections marked draft: true")
    check.add_argument("--format", choices=("text", "json"), default="text",
                       help="text (one line a problem, default) or json")
    pdf = command("pdf", "build, then print each language's print page to LANG/report.pdf "
                  "with headless Chromium")
    site_options(pdf)
    pdf.add_argument("--timeout", type=float, default=180, metavar="SECONDS",
                     help="how long Chromium may take for one PDF (default: 180)")
    importer = command("import", "turn an exported report with numbered citations into "
                       "sections and BibTeX entries")
    importer.add_argument("report", type=Path, help="the exported report (Markdown or text)")
    importer.add_argument("--lang", required=True, choices=("ja", "en"), help="its language")
    importer.add_argument("--dry-run", action="store_true", help="report what would change; write nothing")
    importer.add_argument("--headings", type=Path, metavar="FILE",
                          help="section headings and their slugs, one 'slug<TAB>heading' a line")
    importer.add_argument("--force", action="store_true", help="replace section files that are in the way")
    importer.add_argument("--allow-unmapped", action="store_true",
                          help="exit 0 even when some markers could not be mapped (they are still listed)")
    importer.add_argument("--fetch-titles", action="store_true",
                          help="fetch the page title of sources the list gives none for (network)")
    new = command("new", "write a new bilingual project that builds and checks clean",
                  content=False)
    new.add_argument("folder", type=Path, metavar="DIR", help="the folder to create (must be "
                     "new or empty)")
    return parser.parse_args(argv)


def print_diagnostics(diag: Diagnostics) -> None:
    """Every diagnostic, one line each, on standard error."""
    for item in diag.sorted():
        print(item.format(), file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    """Run one command; return its exit status. An unforeseen failure is one line, not a traceback."""
    args = parse_arguments(sys.argv[1:] if argv is None else argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
    try:
        return run_command(args)
    except KeyboardInterrupt:
        print("Stopped.", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `… | head` closed the pipe: the reader has what it wanted
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no second error at exit
        return 0
    except ModuleNotFoundError as exc:
        print(f"kakehashi: the Python package {exc.name!r} is not installed; reinstall "
              "Kakehashi (pip install .) or run `make install` in its folder", file=sys.stderr)
        return 1
    except Exception as exc:  # the last boundary: every known problem is a Diagnostic before this
        if os.environ.get("KAKEHASHI_DEBUG"):
            raise
        message = (f"internal error ({type(exc).__name__}: {exc}); this is a bug in Kakehashi, "
                   "not in your content: please report it with the command you ran "
                   "(KAKEHASHI_DEBUG=1 shows the traceback)")
        if getattr(args, "format", "text") == "json":
            print(json.dumps([{"path": "", "line": None, "col": None, "severity": "error",
                               "message": message, "code": "internal"}]))
        else:
            print(f"kakehashi: {message}", file=sys.stderr)
        return 1


def run_command(args: argparse.Namespace) -> int:
    """Dispatch one parsed command line."""
    if args.command == "new":
        from .starter import new_project
        return new_project(args.folder)
    if args.command == "check":
        from .check import check
        return check(args.content, strict=args.strict, drafts=args.drafts, output=args.format)
    if args.command == "import":
        from .importer import import_report
        return import_report(args.report, args.lang, args.content, dry_run=args.dry_run,
                             headings=args.headings, force=args.force,
                             allow_unmapped=args.allow_unmapped, fetch_titles=args.fetch_titles)
    from .site import BuildOptions, build
    options = BuildOptions(content_dir=args.content, out_dir=args.out, base_url=args.base_url,
                           strict=args.strict, drafts=args.drafts,
                           cache=args.command == "build" and not args.no_cache)
    if args.command == "serve":
        from .serve import serve
        return serve(options, host=args.host, port=args.port)
    if args.command == "pdf":
        from .pdf import print_pdfs
        return print_pdfs(options, timeout=args.timeout)
    result = build(options)
    print_diagnostics(result.diagnostics)
    return 1 if result.diagnostics.failed(options.strict) else 0
