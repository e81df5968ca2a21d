"""Section files: naming, pairing, front matter, encodings, drafts and ignored files."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from conftest import SECTIONS, SITE_TOML, run_build
from kakehashi.config import load_config
from kakehashi.content import load_report
from kakehashi.diagnostics import Diagnostics
from kakehashi.site import BuildOptions, build

JA = "sections/03-conclusion.ja.md"
EN = "sections/03-conclusion.en.md"
JA_PATH = "content/" + JA


@pytest.fixture(autouse=True)
def in_tmp(tmp_path, monkeypatch):
    """Diagnostics show paths relative to the working folder: work in tmp_path."""
    monkeypatch.chdir(tmp_path)


def load(content: Path, drafts: bool = False):
    """(report, diagnostic lines) of a content folder."""
    diag = Diagnostics()
    config = load_config(content / "site.toml", diag)
    report = load_report(content, config, diag, drafts=drafts)
    return report, [item.format() for item in diag.sorted()]


# --- pairing -------------------------------------------------------------------------------------


def test_sections_are_paired_and_ordered(project):
    report, problems = load(project())
    assert problems == []
    assert report.slugs == ("memo-leak", "gemini", "conclusion")
    assert [(s.number, s.slug, s.language) for s in report.sections] == [
        (1, "memo-leak", "ja"), (1, "memo-leak", "en"), (2, "gemini", "ja"), (2, "gemini", "en"),
        (3, "conclusion", "ja"), (3, "conclusion", "en")]
    memo = report.section("memo-leak", "ja")
    assert (memo.title, memo.summary, memo.draft, memo.body_line) == ("メモ流出", "内部メモの概要。",
                                                                      False, 5)
    assert memo.body.startswith("\n## 経緯\n")


def test_number_width_does_not_matter(project):
    content = project({"sections/01-memo-leak.ja.md": None, "sections/01-memo-leak.en.md": None,
                       "sections/0010-memo-leak.ja.md": SECTIONS["sections/01-memo-leak.ja.md"],
                       "sections/0010-memo-leak.en.md": SECTIONS["sections/01-memo-leak.en.md"]})
    report, problems = load(content)
    assert problems == []
    assert report.slugs == ("gemini", "conclusion", "memo-leak")


def test_missing_translation_names_the_file_to_create(project):
    report, problems = load(project({EN: None}))
    assert problems == [
        f'{JA_PATH}:1:1: error: section "conclusion" has no en file; create 03-conclusion.en.md '
        "(or set allow_missing_translations = true) [content.missing-translation]"]


def test_missing_translation_allowed_gives_a_notice_page(project, tmp_path):
    content = project({"site.toml": SITE_TOML.replace("allow_missing_translations = false",
                                                      "allow_missing_translations = true"),
                       EN: None})
    result = build(BuildOptions(content, tmp_path / "out"))
    assert [d.format() for d in result.diagnostics.items] == []
    notice = (tmp_path / "out" / "en" / "conclusion" / "index.html").read_text("utf-8")
    assert '<html lang="en">' in notice
    assert "This section has not been translated into English yet" in notice
    assert '<a href="../../ja/conclusion/" hreflang="ja" lang="ja">日本語: 結論</a>' in notice
    assert (tmp_path / "out" / "ja" / "conclusion" / "index.html").is_file()


def test_broken_file_is_not_also_reported_missing(project):
    """A translation that exists but has an error is that error, not "create the file"."""
    _, problems = load(project({JA: "---\ntitle: [\n---\n"}))
    assert len(problems) == 1, problems
    assert problems[0].startswith(f"{JA_PATH}:2:")


# --- drafts ----------------------------------------------------------------------------------------


def draft_project(project):
    return project({JA: '---\ntitle: "結論"\ndraft: true\n---\n\n計画は続く。[^xpert-shallotpeat]\n',
                    EN: '---\ntitle: "Conclusion"\ndraft: true\n---\n\nThe plan goes on.[^xpert-shallotpeat]\n'})


def test_a_draft_in_one_language_only_is_a_warning_naming_both_files(project):
    content = project({JA: '---\ntitle: "結論"\nsummary: "s"\ndraft: true\n---\n\n計画は続く。\n'})
    report, problems = load(content)
    assert problems == [
        f"{JA_PATH}:4:1: warning: draft: true here but not in content/{EN}; a draft is left "
        "out in every language (with --drafts, shown in every language), so mark both files "
        "or neither [content.draft-mismatch]"]
    assert "conclusion" not in report.slugs


def test_drafts_excluded_by_default(project):
    report, problems = load(draft_project(project))
    assert problems == []
    assert report.slugs == ("memo-leak", "gemini")
    assert report.section("conclusion", "en") is None


def test_drafts_included_with_the_option(project):
    report, problems = load(draft_project(project), drafts=True)
    assert problems == []
    assert report.slugs == ("memo-leak", "gemini", "conclusion")
    assert report.section("conclusion", "ja").draft is True


def test_drafts_command_line(project, tmp_path):
    content = draft_project(project)
    assert run_build(content, tmp_path / "out")[0] == 0
    assert not (tmp_path / "out" / "ja" / "conclusion").exists()
    assert not (tmp_path / "out" / "en" / "conclusion").exists()
    assert run_build(content, tmp_path / "out", "--drafts")[0] == 0
    assert (tmp_path / "out" / "ja" / "conclusion" / "index.html").is_file()
    assert (tmp_path / "out" / "en" / "conclusion" / "index.html").is_file()


# --- encodings ---------------------------------------------------------------------------------------


def test_bom_and_crlf_accepted_in_every_file(project, tmp_path):
    def dos(text: str) -> bytes:
        return b"\xef\xbb\xbf" + text.replace("\n", "\r\n").encode("utf-8")
    from conftest import DEFAULT_FILES
    content = project({name: dos(text) for name, text in DEFAULT_FILES.items()}
                      | {JA: dos('---\ntitle: "結論"\n---\n\n計画は続く。[^altman-mmo]\n')})
    result = build(BuildOptions(content, tmp_path / "out"), write=False)
    assert [d.format() for d in result.diagnostics.items] == [
        f'{JA_PATH}:5:7: error: unknown citation key "altman-mmo"; did you mean "altman-memo"? '
        "[citation.unknown-key]"]
    report = result.site.report
    assert report.section("conclusion", "ja").title == "結論"
    assert "\r" not in report.section("memo-leak", "ja").text
    assert not report.section("memo-leak", "ja").text.startswith("\ufeff")
    assert result.site.index.numbers["doe-2023"] == 6


def test_text_is_normalised_to_nfc(project):
    decomposed = "か\u3099"  # が as two code points
    content = project({JA: f'---\ntitle: "{decomposed}くせい"\n---\n\n{decomposed}\n'})
    report, problems = load(content)
    assert problems == []
    section = report.section("conclusion", "ja")
    assert section.title == "がくせい"
    assert section.body == "\nが\n"


def test_non_utf8_file_is_an_error(project):
    content = project({JA: '---\ntitle: "x"\n---\n\n日本語\n'.encode("shift_jis")})
    _, problems = load(content)
    assert f"{JA_PATH}:5: error: this file is not UTF-8 (byte 0x93); save it as UTF-8 " \
           "[file.not-utf8]" in problems


# --- front matter ------------------------------------------------------------------------------------


@pytest.mark.parametrize("text, expected", [
    ('---\ntitle: "x"\n\nbody\n',
     "1:1: error: the front matter is not closed; add a line '---' after it [frontmatter.unclosed]"),
    ("body only\n",
     "1:1: error: a section starts with front matter: a line '---', 'title: …', and a closing "
     "'---' [frontmatter.missing]"),
    ('---\ntitle: "ok"\nsummary: "a" b\n---\n',
     "3:14: error: invalid front matter: expected <block end>, but found '<scalar>' "
     "[frontmatter.yaml]"),
    ("---\ntitle: ok\n\tsummary: x\n---\n",
     "3:1: error: invalid front matter: found character '\\t' that cannot start any token "
     "[frontmatter.yaml]"),
    ("---\nsummary: x\n---\n",
     "1:1: error: front matter needs a non-empty string 'title' [frontmatter.title]"),
    ('---\ntitle: ""\n---\n',
     "2:1: error: front matter needs a non-empty string 'title' [frontmatter.title]"),
    ("---\ntitle: 12\n---\n",
     "2:1: error: front matter needs a non-empty string 'title' [frontmatter.title]"),
    ('---\ntitle: x\ndraft: "no"\n---\n',
     "3:1: error: 'draft' must be true or false [frontmatter.draft]"),
    ("---\ntitle: x\ndraft: 1\n---\n",
     "3:1: error: 'draft' must be true or false [frontmatter.draft]"),
    ("---\ntitle: x\nsummary: [a]\n---\n",
     "3:1: error: 'summary' must be a string [frontmatter.summary]"),
    ("---\n- a\n---\n",
     "2:1: error: front matter must be a mapping such as 'title: …' [frontmatter.not-mapping]"),
])
def test_front_matter_errors(project, text, expected):
    _, problems = load(project({JA: text}))
    assert f"{JA_PATH}:{expected}" in problems, problems


def test_object_constructing_yaml_tag_is_never_executed(project, tmp_path):
    marker = tmp_path / "pwned"
    content = project({JA: f'---\ntitle: !!python/object/apply:os.system ["touch {marker}"]\n---\n',
                       EN: f'---\ntitle: x\nsummary: !!python/object/new:pathlib.Path ["{marker}"]\n'
                           "---\n"})
    _, problems = load(content)
    assert not marker.exists()
    assert f"{JA_PATH}:2:8: error: invalid front matter: constructs an object (not allowed) " \
           "[frontmatter.yaml]" in problems
    assert "content/sections/03-conclusion.en.md:3:10: error: invalid front matter: constructs an " \
           "object (not allowed) [frontmatter.yaml]" in problems


def test_unknown_front_matter_key_warns(project):
    report, problems = load(project({JA: '---\ntitle: "結論"\nauthor: 山田\n---\n\n本文\n'}))
    assert problems == [
        f'{JA_PATH}:3:1: warning: unknown front-matter key "author" is ignored (known: title, '
        "summary, draft) [frontmatter.unknown-key]"]
    assert report.section("conclusion", "ja").title == "結論"


# --- file names --------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", [
    "04-Intro.ja.md", "04_intro.ja.md", "04-intro.md", "intro.ja.md", "04-intro.ja.markdown",
    "04-intro.ja.txt", "04-.ja.md", "04-intro-.ja.md", "04-イントロ.ja.md",
])
def test_bad_file_names(project, name):
    _, problems = load(project({f"sections/{name}": '---\ntitle: "x"\n---\n'}))
    assert problems == [
        f"content/sections/{name}: error: section files are named NN-slug.LANG.md (digits, a "
        "lowercase ASCII slug, a language code), e.g. 01-memo-leak.ja.md [content.bad-name]"]


def test_folder_inside_sections(project, tmp_path):
    content = project()
    (content / "sections" / "images").mkdir()
    _, problems = load(content)
    assert problems == ["content/sections/images: error: sections/ holds only section files, not "
                        "folders [content.bad-name]"]


def test_duplicate_section_number(project):
    content = project({"sections/1-other.ja.md": '---\ntitle: "他"\n---\n',
                       "sections/1-other.en.md": '---\ntitle: "Other"\n---\n'})
    _, problems = load(content)
    assert problems == [
        f"content/sections/1-other.{lang}.md: error: section number 1 is also used by "
        '"01-memo-leak"; give each section its own number [content.duplicate-number]'
        for lang in ("en", "ja")]


def test_duplicate_slug(project):
    content = project({"sections/04-gemini.ja.md": '---\ntitle: "他"\n---\n',
                       "sections/04-gemini.en.md": '---\ntitle: "Other"\n---\n'})
    _, problems = load(content)
    assert problems == [
        f'content/sections/04-gemini.{lang}.md: error: slug "gemini" is also used by "02-gemini"; '
        "slugs are URLs and must be unique [content.duplicate-slug]" for lang in ("en", "ja")]


def test_undeclared_language(project):
    _, problems = load(project({"sections/03-conclusion.fr.md": '---\ntitle: "Conclusion"\n---\n'}))
    assert problems == [
        'content/sections/03-conclusion.fr.md: error: language "fr" is not declared in site.toml '
        "(declared: ja, en) [content.undeclared-language]"]


def test_hidden_swap_and_backup_files_are_ignored(project):
    garbage = b"\xff\xfe not a section \x00"
    content = project({f"sections/{name}": garbage for name in (
        ".hidden.ja.md", ".01-memo-leak.ja.md.swp", "01-memo-leak.ja.md.swp", "01-memo-leak.ja.md~",
        "#01-memo-leak.ja.md#", ".#01-memo-leak.ja.md", ".DS_Store", "01-memo-leak.en.md.swo")})
    report, problems = load(content)
    assert problems == []
    assert len(report.sections) == 6


def test_symlink_outside_content_is_refused(project, tmp_path):
    content = project()
    outside = tmp_path / "outside.md"
    outside.write_bytes(b"\xff not even UTF-8")
    (content / "sections" / "04-link.ja.md").symlink_to(outside)
    report, problems = load(content)
    assert problems == ["content/sections/04-link.ja.md: error: this symlink leads outside the "
                        "content folder and is not followed; copy the file in instead "
                        "[content.symlink-outside]"]
    assert report.slugs == ("memo-leak", "gemini", "conclusion")


def test_symlink_inside_content_is_followed(project):
    content = project({"shared/04-extra.ja.md": '---\ntitle: "追加"\n---\n',
                       "sections/04-extra.en.md": '---\ntitle: "Extra"\n---\n'})
    os.symlink("../shared/04-extra.ja.md", content / "sections" / "04-extra.ja.md")
    report, problems = load(content)
    assert problems == []
    assert report.section("extra", "ja").title == "追加"


def test_empty_sections_folder(project):
    content = project(defaults=False, files={"site.toml": SITE_TOML})
    _, problems = load(content)
    assert problems == ["content/sections: error: sections/ is empty; add files named like "
                        "01-intro.ja.md [content.empty]"]


def test_no_sections_folder(project, tmp_path):
    content = project(defaults=False, files={"site.toml": SITE_TOML})
    (content / "sections").rmdir()
    _, problems = load(content)
    assert problems == ["content/sections: error: there is no sections/ folder; create it and add "
                        "files named like 01-intro.ja.md [content.no-sections]"]
