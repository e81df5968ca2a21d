"""Load stage: read `content/sections/*.md` into a `Report`.

Takes the content folder and the `SiteConfig`; gives a frozen `Report` whose sections are
paired across languages by `NN-slug`. Front matter is YAML, loaded safely.
"""

from __future__ import annotations

import copy
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import yaml

from .cache import digested
from .config import SiteConfig, read_text
from .diagnostics import Diagnostics, display_path, line_col
from .scanner import find_pathological, scan_source

SECTION_NAME = re.compile(r"^(?P<number>\d+)-(?P<slug>[a-z0-9]+(?:-[a-z0-9]+)*)\.(?P<lang>[a-z]{2})\.md$")
LOG = logging.getLogger("kakehashi")
LARGE_SECTION = 1_000_000  # characters; a section above this says so before the long render
FRONT_MATTER_KEYS = {"title", "summary", "draft"}
FENCE = "---"
DRAFT_KEY = re.compile(r"^draft\s*:")
FAST_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when PyYAML has it


@digested
@dataclass(frozen=True)
class Section:
    """One section file in one language."""

    path: Path  # the Markdown file
    number: int  # the NN prefix, which orders sections
    slug: str  # URL segment, shared by all languages of the section
    language: str  # "ja" or "en"
    title: str  # from front matter
    summary: str  # from front matter, may be empty
    draft: bool  # from front matter; drafts are built only with --drafts
    text: str  # the whole file (NFC, LF line endings, no BOM)
    body: str  # the Markdown after the front matter
    body_line: int  # 1-based line of `text` on which `body` starts

    @property
    def stem(self) -> str:
        return self.path.name.split(".")[0]


@dataclass(frozen=True)
class Report:
    """All sections of the report, in reading order."""

    content_dir: Path  # the content folder
    slugs: tuple[str, ...]  # section slugs in reading order
    sections: tuple[Section, ...]  # every loaded file, in reading order, default language first

    def section(self, slug: str, language: str) -> Section | None:
        """The file of one section in one language, if it exists."""
        found = self.__dict__.get("_by_slug")
        if found is None:  # made on the first call, so that a call is not a search
            found = {}
            for section in self.sections:
                found.setdefault((section.slug, section.language), section)
            object.__setattr__(self, "_by_slug", found)
        return found.get((slug, language))

    def __getstate__(self) -> dict:
        """Pickled without the lookup table (it is made again when needed)."""
        return {name: value for name, value in self.__dict__.items() if name != "_by_slug"}

    def in_language(self, language: str) -> tuple[Section, ...]:
        """The sections that exist in one language, in reading order."""
        return tuple(s for s in self.sections if s.language == language)


def load_report(content_dir: Path, config: SiteConfig, diag: Diagnostics,
                drafts: bool = False,
                load: Callable[[list[Path]], list[Section | None]] | None = None) -> Report:
    """Load, validate and pair every section file.

    `load` reads the files (by default `load_section` each), for a caller that keeps them.
    """
    folder = content_dir / "sections"
    files = list_section_files(folder, content_dir, diag)
    loaded = load(files) if load else [load_section(path, config, diag) for path in files]
    sections = [section for section in loaded if section is not None]

    by_number: dict[int, str] = {}
    by_slug: dict[str, str] = {}
    for section in sections:
        stem = section.stem
        if by_number.setdefault(section.number, stem) != stem:
            diag.error(section.path, None, None, f"section number {section.number} is also used "
                       f'by "{by_number[section.number]}"; give each section its own number',
                       "content.duplicate-number")
        if by_slug.setdefault(section.slug, stem) != stem:
            diag.error(section.path, None, None, f'slug "{section.slug}" is also used by '
                       f'"{by_slug[section.slug]}"; slugs are URLs and must be unique',
                       "content.duplicate-slug")

    check_drafts(sections, diag)
    if not drafts:
        draft_slugs = {s.slug for s in sections if s.draft}
        sections = [s for s in sections if s.slug not in draft_slugs]
    if not sections and folder.is_dir() and not diag.errors:
        diag.error(folder, None, None, "the report has no sections; add files named like "
                   "01-intro.ja.md", "content.empty")

    slugs = tuple(dict.fromkeys(s.slug for s in sorted(sections, key=lambda s: s.number)))
    check_pairing(slugs, files, config, diag)
    order = {code: index for index, code in enumerate(config.language_codes)}
    sections.sort(key=lambda s: (s.number, order.get(s.language, 99)))
    return Report(content_dir, slugs, tuple(sections))


def list_section_files(folder: Path, content_dir: Path, diag: Diagnostics) -> list[Path]:
    """The section files to load, sorted; ignores hidden and editor files."""
    if not folder.is_dir():
        diag.error(folder, None, None, "there is no sections/ folder; create it and add files "
                   "named like 01-intro.ja.md", "content.no-sections")
        return []
    root = content_dir.resolve()
    files = []
    for path in sorted(folder.iterdir()):
        name = path.name
        if name.startswith((".", "#")) or name.endswith(("~", ".swp", ".swo", ".bak", ".tmp")):
            continue
        if path.is_symlink() and not path.resolve().is_relative_to(root):
            diag.error(path, None, None, "this symlink leads outside the content folder and is "
                       "not followed; copy the file in instead", "content.symlink-outside")
            continue
        if path.is_dir():
            diag.error(path, None, None, "sections/ holds only section files, not folders",
                       "content.bad-name")
            continue
        files.append(path)
    if not files:
        diag.error(folder, None, None, "sections/ is empty; add files named like "
                   "01-intro.ja.md", "content.empty")
    return files


def load_section(path: Path, config: SiteConfig, diag: Diagnostics) -> Section | None:
    """Read one section file and its front matter."""
    match = SECTION_NAME.match(path.name)
    if not match:
        diag.error(path, None, None, "section files are named NN-slug.LANG.md (digits, a "
                   "lowercase ASCII slug, a language code), e.g. 01-memo-leak.ja.md",
                   "content.bad-name")
        return None
    if match["lang"] not in config.language_codes:
        declared = ", ".join(config.language_codes)
        diag.error(path, None, None, f'language "{match["lang"]}" is not declared in site.toml '
                   f"(declared: {declared})", "content.undeclared-language")
        return None
    text = read_text(path, diag)
    if text is None:
        return None
    if len(text) > LARGE_SECTION:
        LOG.info("Reading %s (%.1f MB): a section this large takes a while to render",
                 display_path(path), len(text.encode("utf-8")) / 1e6)
    meta, body, body_line = parse_front_matter(path, text, diag)
    if meta is None:
        return None
    problems = find_pathological(scan_source(body))
    for offset, message, code in problems:
        line, col = line_col(text, len(text) - len(body) + offset)
        diag.error(path, line, col, message, code)
    if problems:
        return None  # never handed to the Markdown parser
    return Section(path=path, number=int(match["number"]), slug=match["slug"],
                   language=match["lang"], title=meta["title"], summary=meta["summary"],
                   draft=meta["draft"], text=text, body=body, body_line=body_line)


def parse_front_matter(path: Path, text: str, diag: Diagnostics) -> tuple[dict | None, str, int]:
    """Split YAML front matter from the body; validate its keys and types."""
    lines = text.split("\n")
    if lines[0].strip() != FENCE:
        diag.error(path, 1, 1, "a section starts with front matter: a line '---', "
                   "'title: …', and a closing '---'", "frontmatter.missing")
        return None, "", 1
    end = next((i for i in range(1, len(lines)) if lines[i].strip() == FENCE), None)
    if end is None:
        diag.error(path, 1, 1, "the front matter is not closed; add a line '---' after it",
                   "frontmatter.unclosed")
        return None, "", 1
    source = "\n".join(lines[1:end])
    try:
        node, data = read_yaml(source)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 2, mark.column + 1) if mark else (2, 1)
        what = "constructs an object (not allowed)" if isinstance(exc, yaml.constructor.ConstructorError) else exc.problem
        diag.error(path, line, col, f"invalid front matter: {what}", "frontmatter.yaml")
        return None, "", 1
    except yaml.YAMLError as exc:
        diag.error(path, 2, None, f"invalid front matter: {exc}", "frontmatter.yaml")
        return None, "", 1
    except RecursionError:
        diag.error(path, 2, 1, "invalid front matter: it nests too deeply to read; front matter "
                   "holds only title, summary and draft", "frontmatter.yaml")
        return None, "", 1
    if not isinstance(data, dict):
        diag.error(path, 2, 1, "front matter must be a mapping such as 'title: …'",
                   "frontmatter.not-mapping")
        return None, "", 1

    key_line = {k.value: k.start_mark.line + 2 for k, _ in node.value} if node else {}
    if "<<" in key_line:
        diag.error(path, key_line["<<"], 1, "invalid front matter: a YAML merge key (<<) is not "
                   "allowed here; write title, summary and draft out", "frontmatter.yaml")
        return None, "", 1
    ok = True
    for key in data:
        if key not in FRONT_MATTER_KEYS:
            diag.warning(path, key_line.get(key, 2), 1, f'unknown front-matter key "{key}" is '
                         "ignored (known: title, summary, draft)", "frontmatter.unknown-key")
    title = data.get("title")
    if not isinstance(title, str) or not title.strip():
        diag.error(path, key_line.get("title", 1), 1, "front matter needs a non-empty string "
                   "'title'", "frontmatter.title")
        ok = False
    summary = data.get("summary", "")
    if not isinstance(summary, str):
        diag.error(path, key_line.get("summary", 2), 1, "'summary' must be a string",
                   "frontmatter.summary")
        ok = False
    draft = data.get("draft", False)
    if not isinstance(draft, bool):
        diag.error(path, key_line.get("draft", 2), 1, "'draft' must be true or false",
                   "frontmatter.draft")
        ok = False
    if not ok:
        return None, "", 1
    meta = {"title": title.strip(), "summary": (summary or "").strip(), "draft": draft}
    return meta, "\n".join(lines[end + 1:]), end + 2


def read_yaml(source: str) -> tuple[yaml.Node | None, object]:
    """The front matter's node (for key lines) and its data, parsed once, safely.

    libyaml reads it when PyYAML has it; any problem is read again by the pure-Python
    loader, whose messages the diagnostics quote.
    """
    for loader in (FAST_LOADER, yaml.SafeLoader):
        reader = loader(source)
        try:
            node = reader.get_single_node()
            if node is None:
                return None, None
            keys = copy.copy(node)  # as written: constructing flattens a merge key (<<) away
            keys.value = list(node.value) if isinstance(node.value, list) else node.value
            return keys, reader.construct_document(node)
        except yaml.YAMLError:
            if loader is yaml.SafeLoader:
                raise
        finally:
            reader.dispose()
    raise AssertionError("unreachable")


def check_drafts(sections: list[Section], diag: Diagnostics) -> None:
    """Warn when a section is a draft in one language but not in another.

    Drafts are per section: one `draft: true` leaves the section out in every language.
    """
    by_slug: dict[str, list[Section]] = {}
    for section in sections:
        by_slug.setdefault(section.slug, []).append(section)
    for group in by_slug.values():
        marked = [s for s in group if s.draft]
        for draft in marked:
            for other in (s for s in group if not s.draft):
                line = next((n for n, text in enumerate(draft.text.split("\n"), 1)
                             if DRAFT_KEY.match(text)), 1)
                diag.warning(draft.path, line, 1, f"draft: true here but not in "
                             f"{display_path(other.path)}; a draft is left out in every "
                             "language (with --drafts, shown in every language), so mark both "
                             "files or neither", "content.draft-mismatch")


def check_pairing(slugs: tuple[str, ...], files: list[Path], config: SiteConfig,
                  diag: Diagnostics) -> None:
    """Every section must exist in every language (unless missing translations are allowed).

    Pairing looks at file names, so a file that failed to load is not also reported missing.
    """
    if config.allow_missing_translations:
        return
    by_slug: dict[str, dict[str, Path]] = {}  # slug -> language -> file
    for path in files:
        if match := SECTION_NAME.match(path.name):
            by_slug.setdefault(match["slug"], {})[match["lang"]] = path
    for slug in slugs:
        present = by_slug[slug]
        some = next(iter(present.values()))
        stem = some.name.split(".", 1)[0]
        for code in config.language_codes:
            if code not in present:
                diag.error(some, 1, 1, f'section "{slug}" has no {code} file; create '
                           f"{stem}.{code}.md (or set allow_missing_translations = true)",
                           "content.missing-translation")
