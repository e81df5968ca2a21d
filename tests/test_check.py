"""The check command: one folder per lint, exact diagnostic lines, JSON, exit codes; parity."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import REFERENCES_BIB, ROOT, SECTIONS, SITE_TOML
from kakehashi.check import check
from kakehashi.parity import (Block, extract_figures, format_value, mentioned_values, pair_blocks,
                              split_blocks)

MEMO_EN = "sections/01-memo-leak.en.md"
GEMINI_EN = "sections/02-gemini.en.md"
END_JA = "sections/03-conclusion.ja.md"
END_EN = "sections/03-conclusion.en.md"
CLEAN = "check: 0 error(s), 0 warning(s)"


def conclusion(title: str, body: str) -> str:
    """A section file with the given title and body."""
    return f'---\ntitle: "{title}"\n---\n\n{body}'


# Each scenario: the files that differ from the default project, the diagnostic lines
# (with the scenario's folder as the content folder), and the exit status without and
# with --strict.
SCENARIOS = {
    "clean": ({}, [], 0, 0),
    "unknown_key": (
        {END_JA: conclusion("結論", "計画は続く。[^xpert-shalotpeat]\n")},
        ['unknown_key/sections/03-conclusion.ja.md:5:7: error: unknown citation key '
         '"xpert-shalotpeat"; did you mean "xpert-shallotpeat"? [citation.unknown-key]'], 1, 1),
    "key_case": (
        {END_EN: conclusion("Conclusion", "The plan goes on.[^Xpert-Shallotpeat]\n")},
        ['key_case/sections/03-conclusion.en.md:5:18: warning: citation key "Xpert-Shallotpeat" '
         'is written "xpert-shallotpeat" in the bibliography; use that spelling '
         "[citation.key-case]"], 0, 1),
    "duplicate_key": (
        {"references.bib": REFERENCES_BIB + "\n@online{Smith-2024,\n  title = {Again},\n}\n"},
        ['duplicate_key/references.bib:54:1: error: duplicate key "Smith-2024": "smith-2024" is '
         "already defined on line 21 (keys ignore case); rename one [bib.duplicate-key]"], 1, 1),
    "missing_translation": (
        {END_EN: None},
        ['missing_translation/sections/03-conclusion.ja.md:1:1: error: section "conclusion" has '
         "no en file; create 03-conclusion.en.md (or set allow_missing_translations = true) "
         "[content.missing-translation]"], 1, 1),
    "front_matter": (
        {GEMINI_EN: "---\ntitle: [unclosed\n---\n\nx\n",
         END_EN: '---\ntitle: "Conclusion"\nauthor: "me"\n---\n\nThe plan.[^xpert-shallotpeat]\n'},
        ["front_matter/sections/02-gemini.en.md:2:17: error: invalid front matter: expected ',' "
         "or ']', but got '<stream end>' [frontmatter.yaml]",
         'front_matter/sections/03-conclusion.en.md:3:1: warning: unknown front-matter key '
         '"author" is ignored (known: title, summary, draft) [frontmatter.unknown-key]'], 1, 1),
    "unused_entry": (
        {"site.toml": SITE_TOML.replace('bibliography = "all"', 'bibliography = "cited"')},
        ['unused_entry/references.bib:46: warning: entry "doe-2023" is never cited, so '
         'bibliography = "cited" leaves it out of the site; cite it or remove it '
         "[check.unused-entry]"], 0, 1),
    "drift": (
        {END_EN: conclusion("Conclusion", "The plan goes on.[^xpert-shallotpeat][^doe-2023]\n")},
        ['drift/sections/03-conclusion.ja.md:1:1: warning: translation drift: the en file cites '
         '"doe-2023" but this ja file does not [check.drift]'], 0, 1),
    "broken_link": (
        {END_EN: conclusion("Conclusion", "The plan goes on.[^xpert-shallotpeat] See "
                                          "[more](../no-such-page/).\n")},
        ["broken_link/sections/03-conclusion.en.md:5: error: broken link ../no-such-page/ on "
         "/en/conclusion/index.html: no such page [check.broken-link]"], 1, 1),
    "unconfirmed_title": (
        {"references.bib": REFERENCES_BIB.replace(
            "  title        = {Project Shallotpeat},\n",
            "  title        = {Project Shallotpeat},\n  verify       = {title},\n")},
        ['unconfirmed_title/references.bib:39: note: entry "xpert-shallotpeat": title still '
         "needs confirming (verify = {title}) [check.unconfirmed-title]"], 0, 0),
    "heading_mismatch": (
        {GEMINI_EN: SECTIONS[GEMINI_EN].replace("### Evaluation", "## Evaluation"),
         MEMO_EN: SECTIONS[MEMO_EN].replace("## Background\n", "")},
        ["heading_mismatch/sections/01-memo-leak.en.md:5:1: warning: heading structure differs "
         "from heading_mismatch/sections/01-memo-leak.ja.md:6: heading 1 is missing here but "
         '"## 経緯" there [check.heading-mismatch]',
         "heading_mismatch/sections/02-gemini.en.md:9:1: warning: heading structure differs "
         'from heading_mismatch/sections/02-gemini.ja.md:9: heading 2 is "## Evaluation" here '
         'but "### 評価" there [check.heading-mismatch]'], 0, 1),
    "number_parity": (
        {END_JA: conclusion("結論", "売上は2025年に1,150億ドル、成長率は5〜10%である。"
                                    "[^xpert-shallotpeat]\n\n費用は約8.5億ドル（2024年）。\n"),
         END_EN: conclusion("Conclusion", "Revenue was $115 billion in 2025, and growth 5%."
                                          "[^xpert-shallotpeat]\n\nCosts were about $85 million "
                                          "(2024).\n")},
        ['number_parity/sections/03-conclusion.en.md:5:1: warning: figure "5〜10%" (5–10) of '
         "number_parity/sections/03-conclusion.ja.md:5 is missing from this paragraph "
         "[check.number-parity]",
         'number_parity/sections/03-conclusion.en.md:7:1: warning: figure "8.5億ドル" (8.5e8) '
         "of number_parity/sections/03-conclusion.ja.md:7 is missing from this paragraph "
         "[check.number-parity]"], 0, 1),
}


@pytest.fixture(autouse=True)
def in_tmp(tmp_path, monkeypatch):
    """Diagnostics show paths relative to the working folder: work in tmp_path."""
    monkeypatch.chdir(tmp_path)


def run_check(content: Path, capsys, **options) -> tuple[int, str, str]:
    """(exit status, stdout, stderr) of one `check` run."""
    code = check(content, **options)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


# --- one folder per lint -------------------------------------------------------------------------


@pytest.mark.parametrize("name", SCENARIOS)
def test_scenario_gives_exact_lines_and_exit_codes(name, project, capsys):
    files, lines, status, strict_status = SCENARIOS[name]
    content = project(files, name=name)
    code, out, err = run_check(content, capsys)
    errors = sum(" error: " in line for line in lines)
    warnings = sum(" warning: " in line for line in lines)
    assert err.splitlines() == [*lines, f"check: {errors} error(s), {warnings} warning(s)"]
    assert (out, code) == ("", status)
    assert run_check(content, capsys, strict=True)[0] == strict_status


def test_json_output_is_a_list_of_diagnostics(project, capsys):
    content = project(SCENARIOS["number_parity"][0], name="number_parity")
    code, out, err = run_check(content, capsys, output="json")
    assert (code, err) == (0, "")
    assert json.loads(out) == [
        {"path": "number_parity/sections/03-conclusion.en.md", "line": 5, "col": 1,
         "severity": "warning", "code": "check.number-parity",
         "message": 'figure "5〜10%" (5–10) of number_parity/sections/03-conclusion.ja.md:5 is '
                    "missing from this paragraph"},
        {"path": "number_parity/sections/03-conclusion.en.md", "line": 7, "col": 1,
         "severity": "warning", "code": "check.number-parity",
         "message": 'figure "8.5億ドル" (8.5e8) of number_parity/sections/03-conclusion.ja.md:7 '
                    "is missing from this paragraph"}]
    assert run_check(project(name="clean"), capsys, output="json")[:2] == (0, "[]\n")


@pytest.mark.parametrize("name, args, status", [
    ("clean", [], 0), ("unknown_key", [], 1), ("number_parity", [], 0),
    ("number_parity", ["--strict"], 1), ("number_parity", ["--format", "json"], 0)])
def test_command_line_exit_status(name, args, status, project, tmp_path):
    project(SCENARIOS[name][0], name=name)
    completed = subprocess.run([sys.executable, str(ROOT / "build.py"), "check", "--content",
                                name, *args], cwd=tmp_path, capture_output=True, text=True,
                               timeout=120)
    assert completed.returncode == status, completed.stderr
    assert "Traceback" not in completed.stderr
    if "json" in args:
        assert [item["code"] for item in json.loads(completed.stdout)] == [
            "check.number-parity", "check.number-parity"]


# --- every problem in one run, and silenced warnings ------------------------------------------

# Ordinary prose that the numbers-parity lint cannot pair: 「1バイト…2バイト目」 is
# "single-byte… the second byte" (the author judges the warnings wrong and silences them).
PARITY_JA = conclusion("結論", "ASCII の文字は1バイトで、漢字の2バイト目が `\\` と同じ値になる"
                               "ことがある。[^xpert-shallotpeat]\n")
PARITY_EN_TEXT = ("ASCII characters are single-byte, and the second byte of a kanji can have the "
                  "value of `\\`.[^xpert-shallotpeat]\n")
PARITY_WARNING = ('{name}/sections/03-conclusion.en.md:{line}:1: warning: figure "{figure}" ({figure}) '
                  "of {name}/sections/03-conclusion.ja.md:{ja_line} is missing from this paragraph "
                  "[check.number-parity]")


def parity_warnings(name: str, line: int, ja_line: int = 5) -> list[str]:
    """The two warnings PARITY_JA gives against PARITY_EN_TEXT."""
    return [PARITY_WARNING.format(name=name, line=line, ja_line=ja_line, figure=figure)
            for figure in ("1", "2")]


def test_errors_and_warnings_are_listed_together(project, capsys):
    content = project({END_JA: PARITY_JA, END_EN: conclusion("Conclusion", PARITY_EN_TEXT),
                       GEMINI_EN: SECTIONS[GEMINI_EN].replace("[@smith-2024]", "[@smith-2042]")},
                      name="both")
    code, _, err = run_check(content, capsys)
    assert err.splitlines() == [
        "both/sections/02-gemini.en.md:11:17: error: unknown citation key \"smith-2042\"; did you "
        'mean "smith-2024"? [citation.unknown-key]',
        *parity_warnings("both", 5),
        "check: 1 error(s), 2 warning(s)"]
    assert code == 1


@pytest.mark.parametrize("where", ["before", "same-line", "site.toml-code", "site.toml-file"])
def test_a_silenced_warning_is_counted_not_printed(where, project, capsys):
    comment = "<!-- kakehashi: silence check.number-parity -->"
    english = {"before": f"{comment}\n{PARITY_EN_TEXT}",
               "same-line": PARITY_EN_TEXT.rstrip("\n") + f" {comment}\n"}.get(where, PARITY_EN_TEXT)
    rule = {"site.toml-code": '"check.number-parity"',
            "site.toml-file": '"sections/03-conclusion.en.md:check.number-parity"'}.get(where)
    files = {END_JA: PARITY_JA, END_EN: conclusion("Conclusion", english)}
    if rule:
        files["site.toml"] = f"silence = [{rule}]\n" + SITE_TOML
    content = project(files, name="silenced")
    assert run_check(content, capsys, strict=True) == (0, "", "check: 0 error(s), 0 warning(s), "
                                                                "2 silenced\n")


def test_a_silence_comment_keeps_only_the_next_paragraph_quiet(project, capsys):
    english = (f"<!-- kakehashi: silence check.number-parity -->\n\nFirst.[^xpert-shallotpeat]\n\n"
               + PARITY_EN_TEXT)
    japanese = PARITY_JA.replace("---\n\n", "---\n\n最初の段落。\n\n", 1)
    content = project({END_JA: japanese, END_EN: conclusion("Conclusion", english)}, name="next")
    assert run_check(content, capsys)[2].splitlines() == [
        "next/sections/03-conclusion.en.md:5: warning: this silence rule keeps nothing quiet "
        "(check.number-parity): no such warning is there any more, or the code is misspelled; "
        "remove or correct it [check.unused-silence]",
        *parity_warnings("next", 9, ja_line=7), "check: 0 error(s), 3 warning(s)"]


def test_errors_cannot_be_silenced_and_unused_rules_are_reported(project, capsys):
    content = project({
        END_EN: conclusion("Conclusion", "<!-- kakehashi: silence citation.unknown-key, "
                                         "check.nmber-parity -->\nThe plan.[^xpert-shalotpeat]\n")},
        name="unused")
    code, _, err = run_check(content, capsys)
    assert err.splitlines() == [
        "unused/sections/03-conclusion.en.md:5: warning: this silence rule keeps nothing quiet "
        "(citation.unknown-key, check.nmber-parity): no such warning is there any more, or the "
        "code is misspelled; remove or correct it [check.unused-silence]",
        'unused/sections/03-conclusion.en.md:6:10: error: unknown citation key "xpert-shalotpeat"; '
        'did you mean "xpert-shallotpeat"? [citation.unknown-key]',
        "check: 1 error(s), 1 warning(s)"]
    assert code == 1


def test_a_malformed_silence_rule_in_site_toml_is_an_error(project, capsys):
    content = project({"site.toml": 'silence = ["not a code"]\n' + SITE_TOML}, name="bad")
    assert run_check(content, capsys)[2].splitlines()[0] == (
        "bad/site.toml:1: error: silence: 'not a code' is not a warning code (\"check.drift\") "
        'or FILE:CODE ("sections/01-intro.en.md:check.number-parity") [config.bad-value]')


def test_build_strict_honours_silences(project, tmp_path):
    content = project({END_JA: PARITY_JA, END_EN: conclusion(
        "Conclusion", "<!-- kakehashi: silence check.number-parity -->\n" + PARITY_EN_TEXT)})
    completed = subprocess.run([sys.executable, str(ROOT / "build.py"), "check", "--strict",
                                "--content", str(content)], cwd=tmp_path, capture_output=True,
                               text=True, timeout=120)
    assert (completed.returncode, completed.stderr) == (0, "check: 0 error(s), 0 warning(s), 2 silenced\n")
    built = subprocess.run([sys.executable, str(ROOT / "build.py"), "--strict", "--content",
                            str(content), "--out", "site"], cwd=tmp_path, capture_output=True,
                           text=True, timeout=120)
    assert built.returncode == 0, built.stderr


def test_paragraphs_that_do_not_pair_are_compared_by_part(project, capsys):
    content = project({
        END_JA: conclusion("結論", "売上は130億ドル。\n\n損失は740億ドル。[^xpert-shallotpeat]\n\n"
                                   "以上。\n"),
        END_EN: conclusion("Conclusion", "Revenue was $13 billion, and the loss $47 billion."
                                         "[^xpert-shallotpeat]\n\nThat is all.\n")},
        name="merged")
    assert run_check(content, capsys)[2].splitlines() == [
        'merged/sections/03-conclusion.en.md:5:1: warning: figure "740億ドル" (7.4e10) of '
        "merged/sections/03-conclusion.ja.md:7 is missing from the matching part of this file "
        "(lines 5–7) [check.number-parity]", "check: 0 error(s), 1 warning(s)"]


def test_flagship_content_passes_strict_check(capsys, monkeypatch):
    monkeypatch.chdir(ROOT)
    code, _, err = run_check(Path("content"), capsys, strict=True)
    assert code == 0, err
    assert err.splitlines()[-1] == CLEAN


# --- the parity extractor ------------------------------------------------------------------------

JA_FIGURES = [
    ("売上は1,150億ドル", [("1,150億ドル", (1.15e11,))]),
    ("8.5億ドルの収益", [("8.5億ドル", (8.5e8,))]),
    ("1兆ドル", [("1兆ドル", (1e12,))]),
    ("8,700万ドル", [("8,700万ドル", (8.7e7,))]),
    ("1兆2,000億円", [("1兆2,000億円", (1.2e12,))]),
    ("約80〜90億ドル", [("80〜90億ドル", (8e9, 9e9))]),
    ("5〜10%", [("5〜10%", (5.0, 10.0))]),
    ("15〜30倍高速", [("15〜30倍", (15.0, 30.0))]),
    ("4.6〜17.2兆トークン", [("4.6〜17.2兆トークン", (4.6e12, 1.72e13))]),
    ("最大4,096チップ、2,439に達し", [("4,096チップ", (4096.0,)), ("2,439", (2439.0,))]),
    ("2025年11月18日に", [("2025年11月18日", ("2025-11-18",))]),
    ("2025年11月時点", [("2025年11月", ("2025-11",))]),
    ("11月18日に", [("11月18日", ("--11-18",))]),
    ("2025年の損失", [("2025年", (2025.0,))]),
    ("1990年代後半", [("1990年代", (1990.0,))]),
    ("約3分の1まで", [("3分の1", (1 / 3,))]),
    ("約6倍、91.9%、$5,478", [("6倍", (6.0,)), ("91.9%", (91.9,)), ("$5,478", (5478.0,))]),
    ("１５％と２０２５年", [("１５％", (15.0,)), ("２０２５年", (2025.0,))]),
    ("## 仮説1：転換", [("1", (1.0,))]),
    ("GPT-5.1の88.1%", [("88.1%", (88.1,))]),
    ("Menlo Venturesの2025年レポート", [("2025年", (2025.0,))]),
    ("GPT-5.1とClaude Sonnet 4.5、Gemini 3 Pro、Gemini 2.5 Pro", []),
    ("TPU v4、TPU v5p、Nvidia H100、ARC-AGI-2、Vending-Bench 2、Llama 3", []),
    ("o1やo3、GPT-4o、DeepSeek R1、Claude 3.7 Sonnet、「Magnificent 10」", []),
    ("1. **技術的追いつき:** 実現[^smith-2024][@doe-2023]", []),
    ("[リンク](https://example.org/2025/11/) と `2025`", []),
]
EN_FIGURES = [
    ("$115 billion", [(1.15e11,)]),
    ("$850 million", [(8.5e8,)]),
    ("$1 trillion", [(1e12,)]),
    ("$8–9 billion a year", [(8e9, 9e9), (1.0,)]),
    ("5–10%", [(5.0, 10.0)]),
    ("4.6 to 17.2 trillion tokens", [(4.6e12, 1.72e13)]),
    ("from 64 to 4,096 chips", [(64.0, 4096.0)]),
    ("on 18 November 2025", [("2025-11-18",)]),
    ("on November 18, 2025", [("2025-11-18",)]),
    ("in November 2025", [("2025-11",)]),
    ("on November 18", [("--11-18",)]),
    ("by mid-2025, in the late 1990s", [(2025.0,), (1990.0,)]),
    ("fifteenfold, 6-fold, 10x", [(15.0,), (6.0,), (10.0,)]),
    ("twice, double, half", [(2.0,), (2.0,), (0.5,)]),
    ("a third, one-third, two-thirds", [(1 / 3,), (1 / 3,), (2 / 3,)]),
    ("six, twenty-five, three billion", [(6.0,), (25.0,), (3e9,)]),
    ("every day, for every dollar", [(1.0,), (1.0,)]),
    ("Hypothesis 1: a retreat", [(1.0,)]),
    ("Gemini 3 Pro beat GPT-5.1 and Claude Sonnet 4.5 on ARC-AGI-2 with TPU v4", []),
    ("a manifold", []),
]


@pytest.mark.parametrize("text, expected", JA_FIGURES)
def test_japanese_figures(text, expected):
    figures = extract_figures(text, "ja")
    assert [(figure.text, figure.values) for figure in figures] == [
        (written, tuple(pytest.approx(value) if isinstance(value, float) else value
                        for value in values)) for written, values in expected]


@pytest.mark.parametrize("text, expected", EN_FIGURES)
def test_english_figures(text, expected):
    values = [figure.values for figure in extract_figures(text, "en")]
    assert values == [tuple(pytest.approx(value) if isinstance(value, float) else value
                            for value in figure) for figure in expected]


@pytest.mark.parametrize("japanese, english, found", [
    ("1,150億ドル", "$115 billion", True),
    ("8.5億ドル", "$850 million", True),
    ("1兆ドル", "$1 trillion", True),
    ("5〜10%", "5–10%", True),
    ("80〜90億ドル", "about $8–9 billion", True),
    ("2025年11月18日", "18 November 2025", True),
    ("2025年11月18日", "November 18, 2025", True),
    ("2025年", "in November 2025", True),
    ("約15倍", "about fifteenfold", True),
    ("約3分の1", "about one-third", True),
    ("ほぼ2倍", "nearly double", True),
    ("1日あたり25億", "2.5 billion every day", True),
    ("1,150億ドル", "$11.5 billion", False),
    ("2025年11月18日", "November 2025", False),
    ("5〜10%", "5%", False),
    ("3倍", "Gemini 3", False),
])
def test_japanese_figure_found_in_english(japanese, english, found):
    present = mentioned_values(english, "en")
    figures = extract_figures(japanese, "ja")
    assert figures
    assert all(value in present for figure in figures for value in figure.values) is found


@pytest.mark.parametrize("value, shown", [
    (1.15e11, "1.15e11"), (8.5e8, "8.5e8"), (1e12, "1e12"), (2025.0, "2025"), (88.1, "88.1"),
    (1 / 3, "0.333333"), ("2025-11-18", "2025-11-18")])
def test_format_value(value, shown):
    assert format_value(value) == shown


def test_split_blocks_makes_headings_and_list_items_blocks():
    body = ("\n## 見出し\n段落の\n二行目。\n\n- 項目一\n  続き\n- 項目二\n1. 番号\n\n"
            "```\ncode\n\nmore\n```\n\n[^note]: 脚注\n")
    assert split_blocks(body, 5) == [
        Block("## 見出し", 6, "heading"), Block("段落の\n二行目。", 7, "text"),
        Block("- 項目一\n  続き", 10, "text"), Block("- 項目二", 12, "text"),
        Block("1. 番号", 13, "text"), Block("```\ncode\n\nmore\n```", 15, "code"),
        Block("[^note]: 脚注", 21, "text")]


def test_pair_blocks_by_position_within_each_part():
    ja = split_blocks("一\n\n## 二\n\n三\n\n四\n", 1)
    en = split_blocks("one\n\n## two\n\nthree and four\n", 1)
    assert [(block.text, [match.text for match in matches])
            for block, matches in pair_blocks(ja, en)] == [
        ("一", ["one"]), ("## 二", ["## two", "three and four"]),
        ("三", ["## two", "three and four"]), ("四", ["## two", "three and four"])]


# --- markers an import left as written (kakehashi/import_leftovers.py) --------------------------

def test_leftover_import_markers_are_listed_where_they_stand(project, capsys):
    body = ("The plan goes on [3].[^xpert-shallotpeat][^note] Costs rose¹² and fell.④ See 【2†source】,\n"
            "[cite: 1], [15†L2199-L2206] and the study.7 Not `[4]`, $x^{[2]}$, x², [0, 1] or [2025].\n\n"
            "[^note]: The list's source [11] says so.\n")
    content = project({END_EN: conclusion("Conclusion", body)}, name="leftovers")
    code, _, err = run_check(content, capsys)
    place = "leftovers/sections/03-conclusion.en.md"
    advice = "is still as the import left it; replace it with the [^key] of its source [check.leftover-marker]"
    assert err.splitlines() == [
        f'{place}:5:18: warning: citation marker "[3]" ([n]) {advice}',
        f'{place}:5:60: warning: citation marker "¹²" (superscript digits) {advice}',
        f'{place}:5:72: warning: citation marker "④" (circled number) {advice}',
        f'{place}:5:78: warning: citation marker "【2†source】" (【n】) {advice}',
        f'{place}:6:1: warning: citation marker "[cite: 1]" ([cite: n]) {advice}',
        f'{place}:6:12: warning: citation marker "[15†L2199-L2206]" ([n†…]) {advice}',
        f'{place}:6:43: warning: citation marker "7" (bare digits) {advice}',
        "check: 0 error(s), 7 warning(s)"]
    assert (code, run_check(content, capsys, strict=True)[0]) == (0, 1)
