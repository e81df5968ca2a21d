"""The command line: argparse subcommands, one call each into the package.

Exit status: 0 ok; 1 errors in user input (or warnings under --strict); 2 usage.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from .diagnostics import Diagnostics
from .site import BuildOptions, build

COMMANDS = ("build", "serve", "check", "pdf", "import")


def parse_arguments(argv: list[str]) -> argparse.Namespace:
    """Parse the command line; `build` is the default command."""
    if not argv or argv[0] not in COMMANDS + ("-h", "--help"):
        argv = ["build", *argv]
    parser = argparse.ArgumentParser(prog="build.py", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)

    def command(name: str, text: str) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=text, description=text)
        sub.add_argument("--content", type=Path, default=Path("content"),
                         help="content folder (default: content)")
        return sub

    def site_options(sub: argparse.ArgumentParser) -> None:
        sub.add_argument("--out", type=Path, default=Path("_site"), help="output folder (default: _site)")
        sub.add_argument("--base-url", help="absolute URL the site is published at (overrides site.toml)")
        sub.add_argument("--strict", action="store_true", help="treat warnings as errors")
        sub.add_argument("--drafts", action="store_true", help="include sections marked draft: true")

    site_options(command("build", "build the site into the output folder"))
    serve = command("serve", "build, serve with live reload and rebuild on every change")
    site_options(serve)
    serve.add_argument("--host", default="127.0.0.1", help="address to bind (default: 127.0.0.1)")
    serve.add_argument("--port", type=int, default=8000, help="port (default: 8000)")
    check = command("check", "check the content without writing anything")
    check.add_argument("--strict", action="store_true", help="treat warnings as errors")
    check.add_argument("--drafts", action="store_true", help="include sections marked draft: true")
    check.add_argument("--format", choices=("text", "json"), default="text", help="output format")
    pdf = command("pdf", "print each language's print page to PDF with headless Chromium")
    site_options(pdf)
    importer = command("import", "turn a numbered-reference report into sections and BibTeX")
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
    return parser.parse_args(argv)


def print_diagnostics(diag: Diagnostics) -> None:
    """Every diagnostic, one line each, on standard error."""
    for item in diag.sorted():
        print(item.format(), file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    """Run one command; return its exit status."""
    args = parse_arguments(sys.argv[1:] if argv is None else argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
    if args.command == "check":
        from .check import check
        return check(args.content, strict=args.strict, drafts=args.drafts, output=args.format)
    if args.command == "import":
        from .importer import import_report
        return import_report(args.report, args.lang, args.content, dry_run=args.dry_run,
                             headings=args.headings, force=args.force,
                             allow_unmapped=args.allow_unmapped, fetch_titles=args.fetch_titles)
    options = BuildOptions(content_dir=args.content, out_dir=args.out, base_url=args.base_url,
                           strict=args.strict, drafts=args.drafts)
    if args.command == "serve":
        from .serve import serve
        return serve(options, host=args.host, port=args.port)
    if args.command == "pdf":
        from .pdf import print_pdfs
        return print_pdfs(options)
    result = build(options)
    print_diagnostics(result.diagnostics)
    return 1 if result.diagnostics.failed(options.strict) else 0
