"""Tests for the `import` command (kakehashi/importer.py and kakehashi/import_markers.py).

One fixture report per export style under tests/fixtures/import/<style>/, converted exactly
(the expected content tree and the printed report sit next to it; `pytest --update-golden`
rewrites them); hostile input; the round trip import → build → check; and the seed report,
whose every marker must be converted as content/EDITING.md decided or listed as ambiguous.
"""

from __future__ import annotations

import http.server
import re
import shutil
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from conftest import ROOT, tree_bytes
from kakehashi.import_markers import (normalise_url, parse_source_list, repair_url,
                                      scan_markers)
from kakehashi.diagnostics import Diagnostics
from kakehashi.importer import import_report

FIXTURES = Path(__file__).parent / "fixtures" / "import"
STYLES = {  # fixture folder → (report file, language)
    "perplexity": ("report.md", "en"),
    "deep-research-plain": ("report.txt", "ja"),
    "links": ("report.md", "en"),
    "footnotes": ("report.md", "en"),
    "html-sup": ("report.md", "en"),
    "superscripts": ("report.txt", "ja"),
    "chatgpt-lenticular": ("report.md", "en"),
    "gemini-works-cited": ("report.md", "en"),
    "chatgpt-named-links": ("report.md", "en"),
}
SEED = ROOT / "content" / "seed" / "000_9e524ca5da1a39aa.txt"
# content/EDITING.md's decision for each marker the importer must list instead of guessing.
EDITING_DECISIONS = {"¹¹": (1,), "¹⁶¹⁷¹⁸": (6, 7, 8), "¹⁷¹⁸¹⁹": (7, 8, 9), "④": (1,), "⑪": (1,),
                     "⑫": (2,)}
EDITING_AMBIGUOUS_LINES = {47, 49, 51, 57, 59, 61, 63, 109, 173, 175, 179, 181, 183, 187, 189,
                           215, 217, 219, 225, 227, 229, 251, 257, 259, 268, 270, 274, 283, 285}
KNOWN = set(range(1, 13))


@pytest.fixture(autouse=True)
def no_network(monkeypatch):
    """Only loopback connections: the importer must never reach the network on its own."""
    real = socket.create_connection

    def loopback_only(address, *args, **kwargs):
        if address[0] not in ("127.0.0.1", "localhost"):
            raise AssertionError(f"network access to {address[0]}")
        return real(address, *args, **kwargs)
    monkeypatch.setattr(socket, "create_connection", loopback_only)


def run_import(folder: Path, monkeypatch, capsys, report: str, lang: str = "en",
               **options) -> tuple[int, str, str]:
    """Run import_report in `folder` (paths relative to it); (status, stdout, stderr)."""
    monkeypatch.chdir(folder)
    status = import_report(Path(report), lang, Path(options.pop("content", "content")), **options)
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def write(folder: Path, name: str, text: str | bytes) -> str:
    """Write a report into `folder`; its name."""
    path = folder / name
    path.write_bytes(text if isinstance(text, bytes) else text.encode("utf-8"))
    return name


# --- every export style, converted exactly ---------------------------------------------------

@pytest.mark.parametrize("style", sorted(STYLES))
def test_export_style_converted_exactly(style, tmp_path, monkeypatch, capsys, update_golden):
    report, lang = STYLES[style]
    shutil.copy(FIXTURES / style / report, tmp_path / report)
    status, out, err = run_import(tmp_path, monkeypatch, capsys, report, lang)
    produced, output = tree_bytes(tmp_path / "content"), f"exit {status}\n{err}{out}"
    expected_dir, expected_output = FIXTURES / style / "expected", FIXTURES / style / "output.txt"
    if update_golden:
        shutil.rmtree(expected_dir, ignore_errors=True)
        shutil.copytree(tmp_path / "content", expected_dir)
        expected_output.write_text(output, encoding="utf-8")
    assert produced == tree_bytes(expected_dir)
    assert output == expected_output.read_text(encoding="utf-8")


def test_styles_cover_every_marker_form_of_the_issue():
    outputs = "".join((FIXTURES / style / "output.txt").read_text("utf-8") for style in STYLES)
    for form in ("[n]", "^[n]", "^{[n]}", "[\\[n\\]](#)", "[n](url)", "([n](url))", "[^n]",
                 "<sup>n</sup>", "superscript digits", "【n】", "[cite: n]", "([site](url))",
                 "[text][n]", "ambiguous superscript digits"):
        assert f"    {form} " in outputs, form


def test_perplexity_style_reads_brackets_and_leaves_non_citations():
    text = (FIXTURES / "perplexity/expected/sections/01-energy-density.en.md").read_text("utf-8")
    assert "Wh/kg[^wikipedia-solid-state-battery][^quantumscape-samples-shipping], roughly" in text
    assert "Early reports [sic] overstated this; the 2025 review [2025] is more careful" \
           "[^wikipedia-solid-state-battery][^reuters-2025-toyota-solid-state][^nikkei-dgxzqouc123456]." in text
    assert "print(cells[1])  # [2] inside code is not a citation" in text
    bib = (FIXTURES / "perplexity" / "expected" / "references.bib").read_text("utf-8")
    assert """@online{reuters-2025-toyota-solid-state,
  title        = {Toyota's solid-state battery plans},
  organization = {Reuters},
  date         = {2025-06-03},
  url          = {https://www.reuters.com/business/autos-transportation/toyota-solid-state-battery-plans-2025-06-03/?id=7},
}
""" in bib


def test_deep_research_export_joins_markers_on_their_own_line():
    text = (FIXTURES / "deep-research-plain/expected/sections/01-section-01.ja.md").read_text("utf-8")
    assert text == """---
title: "主要企業の動向"
---

## IBMのロードマップ

IBMは2025年に誤り訂正を前提とした新しいロードマップを公表した。[^ibm-large-scale-ftqc][^nature-s41586-024]

同社は2029年までに大規模な誤り耐性量子コンピュータを実現する計画である。[^nature-s41586-024]

## Googleの成果

Googleは「Willow」チップで、量子ビット数を増やすほど誤りが減ることを示した。[^googleblog-google-willow-quantum][^arxiv-2408-13687][^ibm-large-scale-ftqc]
"""


# --- marker forms and source-list shapes ----------------------------------------------------

@pytest.mark.parametrize("line, expected", [
    ("growth [1].", [("bracket", (1,))]),
    ("growth [1, 2].", [("bracket", (1, 2))]),
    ("growth [1-3] and [4–5].", [("bracket", (1, 2, 3)), ("bracket", (4, 5))]),
    ("growth[1][2].", [("bracket", (1,)), ("bracket", (2,))]),
    ("growth.^[1]", [("caret", (1,))]),
    ("growth.^{[1][2]}", [("caret_group", (1, 2))]),
    ("growth.[\\[1\\]](#)[\\[2\\]](#)", [("escaped", (1,)), ("escaped", (2,))]),
    ("growth [1](https://a.example/x).", [("link", (1,))]),
    ("growth ([1](https://a.example/x)).", [("paren_link", (1,))]),
    ("growth.[^1]", [("footnote", (1,))]),
    ("growth.<sup>1,2</sup>", [("sup", (1, 2))]),
    ("TechStack², and more¹˒³ or¹⁻³", [("superscript", (2,)), ("superscript", (1, 3)),
                                       ("superscript", (1, 2, 3))]),
    ("growth【1†source】【2】", [("lenticular", (1,)), ("lenticular", (2,))]),
    ("[cite_start]Growth [cite: 1, 2].", [("debris", ()), ("cite", (1, 2))]),
    ("growth ([Reuters](https://r.example/a)).", [("named", ())]),
    ("see [the survey][4].", [("reflink", (4,))]),
    ("上回った¹¹", [("superscript", ())]),
    ("考えられる。④", [("circled", ())]),
    ("growth ^{[1][2] and on", [("broken", ()), ("bracket", (1,)), ("bracket", (2,))]),
    ("growth [1, 2", [("broken", ())]),
])
def test_marker_forms(line, expected):
    markers = scan_markers([line], frozenset(), KNOWN)
    assert [(m.form, m.numbers) for m in markers] == expected


@pytest.mark.parametrize("line", [
    "Use `items[1]` here.", "items[1].name = 2", "In [2025] it changed.", "A [sic] error.",
    "See https://a.example/page[1] now.", "10² is a hundred; 10 m² of floor; x² + y²",
    "①から始める", "① 低複雑性、② 中複雑性", "An [image](https://a.example/x[1]).",
])
def test_not_citations(line):
    assert scan_markers([line], frozenset(), KNOWN) == []


def test_superscript_runs_list_every_reading():
    (marker,) = scan_markers(["赤字に直面している。¹⁶¹⁷¹⁸"], frozenset(), set(range(1, 97)))
    assert marker.readings[:4] == ((16, 17, 18), (6, 7, 8), (1, 6, 7, 8), (1, 6, 7, 18))
    (marker,) = scan_markers(["良好である。¹¹"], frozenset(), set(range(1, 97)))
    assert marker.readings == ((11,), (1,))
    (marker,) = scan_markers(["かどうか。⑫"], frozenset(), set(range(1, 97)))
    assert marker.readings == ((12,), (1, 2))


@pytest.mark.parametrize("item, expected", [
    ("1. https://a.example/x/.", (1, "https://a.example/x/", None, None, None)),
    ("2. <https://a.example/a b>", (2, "https://a.example/a%20b", None, None, None)),
    ("3. [Title of it](https://a.example/p?utm_source=x&id=3)",
     (3, "https://a.example/p?id=3", "Title of it", None, None)),
    ('[4]: https://a.example/y "A quoted title"', (4, "https://a.example/y", "A quoted title", None, None)),
    ("- A title — Example News — https://a.example/z",
     (1, "https://a.example/z", "A title", "Example News", None)),
    ("5. Working from home - WFH Research, accessed November 24, 2025, https://wfh.example/r",
     (5, "https://wfh.example/r", "Working from home - WFH Research", None, "2025-11-24")),
    ("6. 資源エネルギー庁「エネルギー白書」 https://a.example/w （閲覧日 2025年3月1日）",
     (6, "https://a.example/w", "エネルギー白書", "資源エネルギー庁", "2025-03-01")),
    ("7. [https://h.example/model/DeepSeek R1 \\(January 2025\\)](https://h.example/model/DeepSeek R1 (January 2025))",
     (7, "https://h.example/model/DeepSeek%20R1%20(January%202025)", None, None, None)),
])
def test_source_list_shapes(item, expected):
    sources = parse_source_list(["Text.", "", item], frozenset(), "r.md", Diagnostics())
    (found,) = sources.items
    assert (found.number, found.url, found.title, found.site, found.accessed) == expected


@pytest.mark.parametrize("heading", ["Works cited", "## Sources", "**References**", "参考文献",
                                     "Sources (accessed 2025-11-24)"])
def test_source_list_headings(heading):
    lines = ["Claim [1].", "", heading, "", "1. Title one", "   https://a.example/one", "2. Title two"]
    sources = parse_source_list(lines, frozenset(), "r.md", Diagnostics())
    assert [(i.number, i.url, i.title) for i in sources.items] == [
        (1, "https://a.example/one", "Title one"), (2, None, "Title two")]
    assert sources.lines == frozenset(range(3, 8))


def test_same_url_in_every_spelling_is_the_same_source():
    assert len({normalise_url(u) for u in (
        "https://www.Example.com/a/b/", "http://example.com/a/b", "https://example.com/a/b?utm_medium=x",
        "https://example.com/a/b#part")}) == 1
    assert repair_url("https://a.example/x y\\_z") == "https://a.example/x%20y_z"


# --- hostile input ----------------------------------------------------------------------------

LIST = "\n\n1. https://a.example/one\n2. https://a.example/two\n"


@pytest.mark.parametrize("name, data, status, messages", [
    ("empty", b"", 1, ["report.md: error: the report is empty; export it again [import.empty]"]),
    ("blank", b"\n  \n\n", 1, ["report.md: error: the report is empty; export it again [import.empty]"]),
    ("not-utf8", b"Caf\xe9 au lait [1].\n" + LIST.encode(), 1,
     ["report.md:1: error: this file is not UTF-8 (byte 0xe9); save it as UTF-8 [file.not-utf8]"]),
    ("duplicates", ("Claim [1].\n\n1. https://a.example/one\n1. https://a.example/other\n").encode(), 1,
     ["report.md:4:4: error: source number 1 is listed twice (first on line 3) with different text; "
      "renumber the list so each number names one source [import.duplicate-source]"]),
    ("no-source", ("Claim [3].\n" + LIST).encode(), 1,
     ['report.md:1:7: error: "[3]" cites 3, which the source list does not have; left as written in '
      "content/sections/00-introduction.en.md: replace it with the [^key] you mean «Claim [3].» "
      "[import.missing-source]"]),
    ("huge-number", ("Claim [1000000000].\n" + LIST).encode(), 1,
     ['report.md:1:7: error: "[1000000000]" cites 1000000000, which the source list does not have; '
      "left as written in content/sections/00-introduction.en.md: replace it with the [^key] you "
      "mean «Claim [1000000000].» [import.missing-source]"]),
    ("unbalanced", ("Claim ^{[1][2] and [1, 2\n" + LIST).encode(), 1,
     ['report.md:1:7: error: "^{" is an unfinished or malformed marker (unbalanced brackets?); left as '
      "written in content/sections/00-introduction.en.md: replace it with the [^key] you mean "
      "«Claim ^{[1][2] and [1, 2» [import.malformed-marker]",
      'report.md:1:20: error: "[1, 2" is an unfinished or malformed marker (unbalanced brackets?); '
      "left as written in content/sections/00-introduction.en.md: replace it with the [^key] you "
      "mean «Claim ^{[1][2] and [1, 2» [import.malformed-marker]"]),
])
def test_hostile_input_gives_one_clear_line(name, data, status, messages, tmp_path, monkeypatch, capsys):
    write(tmp_path, "report.md", data)
    code, out, err = run_import(tmp_path, monkeypatch, capsys, "report.md")
    assert code == status
    assert err.splitlines() == messages
    assert "Traceback" not in out + err
    if name in ("empty", "blank", "not-utf8", "duplicates"):
        assert not (tmp_path / "content").exists()


def test_five_megabyte_line(tmp_path, monkeypatch, capsys):
    line = "Lorem ipsum dolor sit amet, 2025 年の売上 [sic] は 5%. " * 100_000 + "[1]"
    write(tmp_path, "report.md", f"# Big\n\nIntro [2].\n\n## Part\n\n{line}\n" + LIST)
    code, out, err = run_import(tmp_path, monkeypatch, capsys, "report.md")
    assert code == 0
    assert err == ("report.md:7:1: warning: line 7 is 5,000,003 characters long; an export breaks "
                   "paragraphs into lines, so check this is the report [import.long-line]\n")
    assert (tmp_path / "content/sections/01-part.en.md").read_text("utf-8").endswith(
        "[sic] は 5%.[^a-one]\n")


def test_missing_report_and_folder(tmp_path, monkeypatch, capsys):
    assert run_import(tmp_path, monkeypatch, capsys, "nope.md")[2] == \
        "nope.md: error: cannot read this file: No such file or directory [file.unreadable]\n"
    (tmp_path / "folder").mkdir()
    assert run_import(tmp_path, monkeypatch, capsys, "folder")[2] == \
        "folder: error: this is a folder; give the exported report file [import.not-a-file]\n"


def test_command_line_never_shows_a_traceback(tmp_path):
    (tmp_path / "bad.txt").write_bytes(b"\xff\xfe bad [1]\n")
    command = [sys.executable, str(ROOT / "build.py"), "import", "bad.txt", "--lang", "ja"]
    done = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert done.returncode == 1
    assert done.stderr == "bad.txt:1: error: this file is not UTF-8 (byte 0xff); save it as UTF-8 " \
                          "[file.not-utf8]\n"


def test_allow_unmapped_turns_errors_into_warnings(tmp_path, monkeypatch, capsys):
    write(tmp_path, "report.md", "Claim [3] and [1].\n" + LIST)
    code, out, err = run_import(tmp_path, monkeypatch, capsys, "report.md", allow_unmapped=True)
    assert code == 0 and err.startswith('report.md:1:7: warning: "[3]" cites 3')
    assert "numbers cited but missing from the list: 3" in out
    assert "Claim [3] and[^a-one]." in (tmp_path / "content/sections/00-introduction.en.md").read_text()


# --- files: idempotence, files in the way, dry run, headings, pairing, merging --------------------

REPORT = "# Report\n\nIntro.[1]\n\n## Alpha\n\nText.[2]\n\n## Beta\n\nMore.[1][2]\n" + LIST


def test_second_import_changes_nothing(tmp_path, monkeypatch, capsys):
    write(tmp_path, "report.md", REPORT)
    assert run_import(tmp_path, monkeypatch, capsys, "report.md")[0] == 0
    files = [p for p in (tmp_path / "content").rglob("*") if p.is_file()]
    before = {p: (p.stat().st_mtime_ns, p.read_bytes()) for p in files}
    code, out, err = run_import(tmp_path, monkeypatch, capsys, "report.md")
    assert code == 0 and err == ""
    assert "  files: wrote 0, 3 unchanged\n" in out
    assert before == {p: (p.stat().st_mtime_ns, p.read_bytes()) for p in files}


def test_sources_without_url_become_misc_entries_once(tmp_path, monkeypatch, capsys):
    write(tmp_path, "report.md", "Claim.[^1] Another.[^2]\n\n[^1]: Sato, K. *Tides of Change*. "
                                 "Iwanami, 2019.\n[^2]: https://a.example/two\n")
    assert run_import(tmp_path, monkeypatch, capsys, "report.md")[0] == 0
    bib = (tmp_path / "content/references.bib").read_text()
    assert "@misc{sato-tides-change,\n  title        = {Sato, K. Tides of Change. Iwanami, 2019},\n}\n" in bib
    code, out, err = run_import(tmp_path, monkeypatch, capsys, "report.md")
    assert "files: wrote 0" in out and (tmp_path / "content/references.bib").read_text() == bib


def test_files_in_the_way_stop_the_import_unless_forced(tmp_path, monkeypatch, capsys):
    write(tmp_path, "report.md", REPORT)
    run_import(tmp_path, monkeypatch, capsys, "report.md")
    edited = tmp_path / "content/sections/01-alpha.en.md"
    edited.write_text("---\ntitle: Mine\n---\n\nMy text.\n")
    (tmp_path / "content/sections/02-other.en.md").write_text("---\ntitle: Other\n---\n")
    code, out, err = run_import(tmp_path, monkeypatch, capsys, "report.md")
    assert code == 1 and out == ""
    assert err == ("content/sections: error: these section files are in the way: "
                   "content/sections/01-alpha.en.md, content/sections/02-other.en.md; move them, or "
                   "run again with --force to replace them [import.in-the-way]\n")
    assert edited.read_text() == "---\ntitle: Mine\n---\n\nMy text.\n"
    code, out, err = run_import(tmp_path, monkeypatch, capsys, "report.md", force=True)
    assert code == 0 and "Text.[^a-two]" in edited.read_text()
    assert sorted(p.name for p in (tmp_path / "content/sections").iterdir()) == [
        "00-introduction.en.md", "01-alpha.en.md", "02-beta.en.md"]


def test_dry_run_writes_nothing(tmp_path, monkeypatch, capsys):
    write(tmp_path, "report.md", REPORT)
    code, out, err = run_import(tmp_path, monkeypatch, capsys, "report.md", dry_run=True)
    assert code == 0 and not (tmp_path / "content").exists()
    assert out.splitlines()[:3] == ["Imported report.md (en) into content (dry run)",
                                    "  files: would write 5, 0 unchanged",
                                    "    content/sections/00-introduction.en.md"]


def test_headings_file_names_the_sections(tmp_path, monkeypatch, capsys):
    shutil.copy(FIXTURES / "deep-research-plain" / "report.txt", tmp_path / "report.txt")
    write(tmp_path, "headings.tsv", "companies\t主要企業の動向\nerror-correction\t誤り訂正と日本の取り組み\n")
    code, out, err = run_import(tmp_path, monkeypatch, capsys, "report.txt", "ja",
                                headings=Path("headings.tsv"))
    assert code == 0 and err == ""
    assert sorted(p.name for p in (tmp_path / "content/sections").iterdir()) == [
        "00-introduction.ja.md", "01-companies.ja.md", "02-error-correction.ja.md"]
    write(tmp_path, "bad.tsv", "Companies\t主要企業の動向\nlater\tNo such heading\n")
    code, out, err = run_import(tmp_path, monkeypatch, capsys, "report.txt", "ja", headings=Path("bad.tsv"))
    assert code == 1 and err.splitlines() == [
        'bad.tsv:1:1: error: slug "Companies" must be lowercase ASCII letters, digits and hyphens '
        "[import.headings-file]"]


def test_english_import_pairs_with_japanese_files_by_order(tmp_path, monkeypatch, capsys):
    shutil.copy(FIXTURES / "deep-research-plain" / "report.txt", tmp_path / "report.txt")
    run_import(tmp_path, monkeypatch, capsys, "report.txt", "ja")
    site_toml = (tmp_path / "content/site.toml").read_bytes()
    write(tmp_path, "report.en.md", "# Quantum\n\nIntro.[1]\n\n## Companies\n\nIBM.[3]\n" + LIST.replace(
        "two", "two\n3. https://www.nature.com/articles/s41586-024-08449-y"))
    code, out, err = run_import(tmp_path, monkeypatch, capsys, "report.en.md", "en")
    assert code == 0
    assert err == ("content/sections: warning: the report has 2 sections and sections/ has 3 in another "
                   "language; they are paired by order, so check the pairs [import.count-mismatch]\n")
    assert sorted(p.name for p in (tmp_path / "content/sections").glob("*.en.md")) == [
        "00-introduction.en.md", "01-section-01.en.md"]
    assert "IBM.[^nature-s41586-024]" in (tmp_path / "content/sections/01-section-01.en.md").read_text()
    toml = (tmp_path / "content/site.toml").read_bytes()
    assert toml.startswith(site_toml) and toml[len(site_toml):] == (
        b'\n[languages.en]\ntitle = "Quantum"\ndescription = "Intro."\n')


def test_pairing_skips_an_introduction_the_other_report_lacks(tmp_path, monkeypatch, capsys):
    write(tmp_path, "report.md", REPORT)
    run_import(tmp_path, monkeypatch, capsys, "report.md")
    write(tmp_path, "bericht.md", "## Alpha\n\nText.[1]\n\n## Beta\n\nMore.[2]\n" + LIST)
    code, out, err = run_import(tmp_path, monkeypatch, capsys, "bericht.md", "ja")
    assert "content/sections/01-alpha.ja.md" in out and "content/sections/02-beta.ja.md" in out
    assert "00-introduction.ja.md" not in out


def test_merge_keeps_existing_keys_and_bytes(tmp_path, monkeypatch, capsys):
    (tmp_path / "content").mkdir()
    old = b"% mine\r\n@online{kept-key,\r\n  title = {One},\r\n  url = {http://A.example/one/},\r\n}"
    (tmp_path / "content/references.bib").write_bytes(old)
    write(tmp_path, "report.md", "Claim [1][2].\n\n1. https://a.example/one?utm_source=x\n"
                                 "2. [Second source](https://a.example/two)\n")
    code, out, err = run_import(tmp_path, monkeypatch, capsys, "report.md")
    assert code == 0
    bib = (tmp_path / "content/references.bib").read_bytes()
    assert bib == old + b"\n\n@online{a-second-source,\n  title        = {Second source},\n" \
                        b"  organization = {a.example},\n  url          = {https://a.example/two},\n}\n"
    section = tmp_path / "content/sections/00-introduction.en.md"
    assert "Claim[^kept-key][^a-second-source]." in section.read_text()


def test_fetch_titles_uses_a_cache_and_notes_failures(tmp_path, monkeypatch, capsys):
    class Pages(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            if self.path == "/ok":
                body = "<html><head><title> A fetched &amp; real title </title></head></html>".encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.end_headers()
                self.wfile.write(body)
            else:
                self.send_error(404)

        def log_message(self, *args):
            pass
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Pages)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    write(tmp_path, "report.md", f"Claim [1][2].\n\n1. {base}/ok\n2. {base}/missing\n")
    try:
        code, out, err = run_import(tmp_path, monkeypatch, capsys, "report.md", fetch_titles=True)
    finally:
        server.shutdown()
    assert code == 0
    assert err == (f"report.md:4:4: note: could not fetch the title of {base}/missing: Not Found; its "
                   "title is derived from the URL [import.fetch-failed]\n")
    bib = (tmp_path / "content/references.bib").read_text()
    assert "title        = {A fetched & real title}," in bib and bib.count("verify") == 1
    cache = (tmp_path / "content/fetched-titles.json").read_text()
    assert "A fetched & real title" in cache
    code, out, err = run_import(tmp_path, monkeypatch, capsys, "report.md", fetch_titles=True)
    assert "files: wrote 0" in out


# --- the round trip and the seed ------------------------------------------------------------------

def build_py(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    """Run `python build.py ARGS` in `cwd`."""
    return subprocess.run([sys.executable, str(ROOT / "build.py"), *args], cwd=cwd,
                          capture_output=True, text=True, timeout=120)


def test_round_trip_import_build_check(tmp_path):
    fixture = FIXTURES / "deep-research-plain"
    ja = build_py("import", str(fixture / "report.txt"), "--lang", "ja", "--headings",
                  str(fixture / "headings.tsv"), cwd=tmp_path)
    en = build_py("import", str(fixture / "report.en.md"), "--lang", "en", cwd=tmp_path)
    assert (ja.returncode, ja.stderr, en.returncode, en.stderr) == (0, "", 0, "")
    built = build_py("build", "--out", "site", cwd=tmp_path)
    assert built.returncode == 0, built.stderr
    assert (tmp_path / "site/en/companies/index.html").is_file()
    checked = build_py("check", cwd=tmp_path)
    assert checked.returncode == 0, checked.stderr
    assert checked.stderr.endswith("check: 0 error(s), 0 warning(s)\n")


def seed_urls() -> list[str]:
    """The seed's 96 source URLs as a reader would type them (spaces as %20)."""
    urls = []
    for line in SEED.read_text("utf-8").splitlines()[288:]:
        if match := re.match(r"\d+\. (?:<(.+)>|\[.*\]\((.+)\)|(\S+))$", line):
            url = (match[1] or match[2] or match[3]).replace(" ", "%20")
            urls.append(url)
    return urls


def test_seed_import_lists_every_uncertain_marker_and_builds(tmp_path, monkeypatch, capsys):
    code, out, err = run_import(tmp_path, monkeypatch, capsys, str(SEED), "ja", content="x")
    assert code == 1
    listed = [re.match(r".*?:(\d+):\d+: error: \"(.*?)\": .* \[import\.ambiguous-marker\]$", line)
              for line in err.splitlines()]
    assert all(listed) and {int(m[1]) for m in listed} == EDITING_AMBIGUOUS_LINES
    for match in listed:  # each listing offers content/EDITING.md's reading (④ was decided by content)
        offered = re.search(r"can be read as (.*?)(?: \(or \d+ other ways.*)?; left as written", match[0])[1]
        readings = {tuple(map(int, re.findall(r"\d+", re.sub(r"\[\^[^\]]+\]", "", part))))
                    for part in offered.split(" or as ")}
        assert match[2] == "④" or EDITING_DECISIONS[match[2]] in readings, match[0]
    assert "  markers converted: 91 in 64 groups\n" in out
    assert "  markers left as written: 29, listed above" in out
    bib = (tmp_path / "x/references.bib").read_text("utf-8")
    assert re.findall(r"^  url +\= \{(.*)\},$", bib, re.MULTILINE) == seed_urls()
    assert len(seed_urls()) == 96
    built = build_py("build", "--content", "x", "--out", "site", cwd=tmp_path)
    assert built.returncode == 0, built.stderr


def test_seed_conversions_agree_with_editing_md(tmp_path, monkeypatch, capsys):
    (tmp_path / "x").mkdir()
    shutil.copy(ROOT / "content/references.bib", tmp_path / "x/references.bib")
    run_import(tmp_path, monkeypatch, capsys, str(SEED), "ja", content="x")
    # The flagship's entries were edited after the import (titles confirmed, fields added):
    # the import must still leave every key with its URL, in the seed's order.
    def keys_and_urls(path: Path) -> list[tuple[str, str]]:
        text = path.read_text("utf-8")
        return re.findall(r"^@\w+\{([^,]+),(?:.|\n)*?^  url +\= \{(.*)\},$", text, re.MULTILINE)
    assert keys_and_urls(tmp_path / "x/references.bib") == keys_and_urls(ROOT / "content/references.bib")
    assert len(keys_and_urls(ROOT / "content/references.bib")) == 96
    keys = [line.split("\t")[1] for line in (ROOT / "content/sources.tsv").read_text().splitlines()]
    pattern = re.compile(r"\[\^([^\]]+)\]|" + "|".join(map(re.escape, EDITING_DECISIONS)))

    def cited(text: str) -> list[str]:
        return [key for m in pattern.finditer(text)
                for key in ([m[1]] if m[1] else [keys[n - 1] for n in EDITING_DECISIONS[m[0]]])]
    imported = sorted((tmp_path / "x/sections").glob("*.ja.md"))
    flagship = sorted((ROOT / "content/sections").glob("*.ja.md"))
    assert len(imported) == len(flagship) == 11
    for ours, theirs in zip(imported, flagship):
        assert cited(ours.read_text("utf-8")) == cited(theirs.read_text("utf-8")), ours.name


def test_headings_file_naming_a_missing_heading(tmp_path, monkeypatch, capsys):
    write(tmp_path, "report.md", REPORT)
    write(tmp_path, "headings.tsv", "alpha\tAlpha\ngamma\tGamma\n")
    code, out, err = run_import(tmp_path, monkeypatch, capsys, "report.md", headings=Path("headings.tsv"))
    assert (code, out) == (1, "") and not (tmp_path / "content").exists()
    assert err == 'headings.tsv: error: heading "Gamma" is not in the report; copy it exactly ' \
                  "[import.heading-not-found]\n"
