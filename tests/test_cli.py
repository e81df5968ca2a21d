"""The command line: exit status, one line per problem, and nothing published is ever lost."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from conftest import REFERENCES_BIB, SITE_TOML, run_build, tree_bytes

DIAGNOSTIC_LINE = re.compile(
    r"^(?P<path>[^:\s][^:]*)(?::(?P<line>\d+)(?::(?P<col>\d+))?)?: "
    r"(?P<severity>error|warning|note): (?P<message>.+) \[(?P<code>[a-z0-9]+(?:[.-][a-z0-9]+)*)\]$")

JA = "sections/03-conclusion.ja.md"
BAD_INPUTS = {
    "unknown-key": ({JA: '---\ntitle: "結論"\n---\n\n計画は続く。[^no-such-key]\n'},
                    'content/sections/03-conclusion.ja.md:5:7: error: unknown citation key '
                    '"no-such-key"; add it to the bibliography or define a footnote [^label]: … '
                    "[citation.unknown-key]"),
    "site-toml-syntax": ({"site.toml": SITE_TOML.replace('"ja"\n', '"ja\n', 1)},
                         "content/site.toml:1:"),
    "site-toml-unknown-key": ({"site.toml": SITE_TOML + 'colour = "red"\n'}, "content/site.toml:"),
    "bib-syntax": ({"references.bib": REFERENCES_BIB.replace(
        "  title        = {Project Shallotpeat},\n", "  title        = {Project Shallotpeat}\n")},
        "content/references.bib:41: error: BibTeX syntax error"),
    "bib-javascript-url": ({"references.bib": REFERENCES_BIB.replace(
        "https://xpert.digital/en/project-shallotpeat/", "javascript:alert(1)")},
        'content/references.bib:39: error: entry "xpert-shallotpeat": url scheme "javascript"'),
    "front-matter-unclosed": ({JA: '---\ntitle: "結論"\n\n本文\n'},
                              "content/sections/03-conclusion.ja.md:1:1: error: the front matter "
                              "is not closed"),
    "not-utf8": ({JA: '---\ntitle: "x"\n---\n\n日本語\n'.encode("shift_jis")},
                 "content/sections/03-conclusion.ja.md:5: error: this file is not UTF-8"),
    "missing-translation": ({"sections/03-conclusion.en.md": None},
                            "content/sections/03-conclusion.ja.md:1:1: error: section "
                            '"conclusion" has no en file'),
    # --- hostile input: each is one line at its place, never a traceback or a hang ---
    "yaml-deep-nesting": ({JA: '---\ntitle: "結論"\nsummary: ' + "[" * 5000 + "]" * 5000 + "\n---\n"},
                          "content/sections/03-conclusion.ja.md:2:1: error: invalid front matter: "
                          "it nests too deeply to read"),
    "yaml-merge-key": ({JA: '---\ntitle: "結論"\n<<: {draft: "yes"}\n---\n\n本文。\n'},
                       "content/sections/03-conclusion.ja.md:3:1: error: invalid front matter: a "
                       "YAML merge key (<<) is not allowed here"),
    "toml-deep-nesting": ({"site.toml": "x = " + "[" * 5000 + "]" * 5000 + "\n" + SITE_TOML},
                          "content/site.toml: error: site.toml nests arrays or tables too deeply"),
    "nested-lists": ({JA: '---\ntitle: "結論"\n---\n\n' + "".join("  " * i + "- 項目\n" for i in range(500))},
                     "content/sections/03-conclusion.ja.md:86:1: error: lists or quotes nested "
                     "deeper than 40 levels"),
    "bracket-run": ({JA: '---\ntitle: "結論"\n---\n\n計画。' + "[^" * 50_000 + "\n"},
                    "content/sections/03-conclusion.ja.md:5:4: error: more than 200 unclosed or "
                    'nested "[" in one paragraph'),
    "bare-bracket-run": ({JA: '---\ntitle: "結論"\n---\n\n' + "[" * 50_000 + "\n"},
                         "content/sections/03-conclusion.ja.md:5:1: error: more than 200 unclosed"),
    "unclosed-citation": ({JA: '---\ntitle: "結論"\n---\n\n計画は続く[^xpert-shallotpeat。\n'},
                          'content/sections/03-conclusion.ja.md:5:6: error: unclosed citation '
                          '"[^xpert-shallotpeat。": add the closing ]'),
    "definition-inside-html": ({JA: '---\ntitle: "結論"\n---\n\n計画。[^x][^xpert-shallotpeat]\n\n'
                                    "<div>\n[^x]: 定義ではない\n</div>\n"},
                               'content/sections/03-conclusion.ja.md:5:4: error: unknown citation '
                               'key "x"'),
    "nul-character": ({JA: '---\ntitle: "結論"\n---\n\n計画\x00は続く。[^xpert-shallotpeat]\n'},
                      "content/sections/03-conclusion.ja.md:5:3: error: invisible character U+0000 "
                      "(a control character) in the text"),
    "escape-character": ({"references.bib": REFERENCES_BIB.replace("Project Shallotpeat}",
                                                                   "Project \x1b[31mShallotpeat}")},
                         "content/references.bib:40:27: error: invisible character U+001B"),
    "noncharacter": ({JA: '---\ntitle: "結論"\n---\n\n計画\ufffeは続く。[^xpert-shallotpeat]\n'},
                     "content/sections/03-conclusion.ja.md:5:3: error: invisible character U+FFFE"),
    "utf16-section": ({JA: '---\ntitle: "結論"\n---\n\n本文。\n'.encode("utf-16-le")},
                      "content/sections/03-conclusion.ja.md: error: this file is UTF-16 "
                      "(little-endian), not UTF-8; save it as UTF-8"),
    "utf16-bib-with-bom": ({"references.bib": REFERENCES_BIB.encode("utf-16")},
                           "content/references.bib: error: this file is UTF-16 (little-endian, "
                           "with a byte-order mark), not UTF-8"),
    "base-url-javascript": ({"site.toml": SITE_TOML.replace("https://example.org/report/",
                                                            "javascript:alert(1)")},
                            'content/site.toml:2: error: base_url "javascript:alert(1)" must be an '
                            "absolute http:// or https:// address"),
    "base-url-ftp": ({"site.toml": SITE_TOML.replace("https://example.org/report/", "ftp://x.org/")},
                     'content/site.toml:2: error: base_url "ftp://x.org/" must be'),
    "base-url-relative": ({"site.toml": SITE_TOML.replace("https://example.org/report/", "report/")},
                          'content/site.toml:2: error: base_url "report/" must be'),
}


@pytest.fixture
def good_site(built_default) -> Path:
    """A good build of the default project, to copy as the previously published site."""
    return built_default


def assert_clean_failure(code: int, stderr: str) -> list[str]:
    """Exit 1, no traceback, every line of stderr one diagnostic; gives the lines."""
    assert code == 1, stderr
    assert "Traceback" not in stderr
    lines = stderr.splitlines()
    assert lines, "a failed build must say why"
    for line in lines:
        assert DIAGNOSTIC_LINE.match(line), f"not a diagnostic line: {line!r}"
    return lines


@pytest.mark.parametrize("name", sorted(BAD_INPUTS))
def test_bad_input_fails_cleanly_and_keeps_the_published_site(project, tmp_path, good_site, name):
    files, expected = BAD_INPUTS[name]
    content = project(files)
    out = tmp_path / "out"
    shutil.copytree(good_site, out)
    before = tree_bytes(out)
    code, stdout, stderr = run_build(content, out, cwd=tmp_path)
    lines = assert_clean_failure(code, stderr)
    assert any(line.startswith(expected) for line in lines), lines
    assert tree_bytes(out) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["content", "out"]


def test_one_line_per_problem(project, tmp_path):
    content = project({JA: '---\ntitle: "結論"\n---\n\n一[^no-such-key]\n二[^]\n三[@a;]\n'})
    code, _, stderr = run_build(content, tmp_path / "out", cwd=tmp_path)
    path = "content/sections/03-conclusion.ja.md"
    assert assert_clean_failure(code, stderr) == [
        f'{path}:5:2: error: unknown citation key "no-such-key"; add it to the bibliography or '
        "define a footnote [^label]: … [citation.unknown-key]",
        f"{path}:6:2: error: empty citation [^]; write the BibTeX key, as in [^smith2020] "
        "[citation.empty]",
        f"{path}:7:2: error: malformed citation [@a;]; write [@key], [@key1; @key2] or [see @key, p. 12] "
        "[citation.malformed]",
    ]
    assert not (tmp_path / "out").exists()


def test_unknown_key_names_the_file_and_line(project, tmp_path):
    text = '---\ntitle: "Conclusion"\n---\n\nThe plan goes on.[^xpert-shallotpeat]\n\n' \
           "Added later.[^no-such-key]\n"
    content = project({"sections/03-conclusion.en.md": text})
    code, _, stderr = run_build(content, tmp_path / "out", cwd=tmp_path)
    assert assert_clean_failure(code, stderr) == [
        'content/sections/03-conclusion.en.md:7:13: error: unknown citation key "no-such-key"; '
        "add it to the bibliography or define a footnote [^label]: … [citation.unknown-key]"]


def test_warnings_fail_only_under_strict(project, tmp_path):
    content = project({JA: '---\ntitle: "結論"\nauthor: x\n---\n\n計画は続く。[^xpert-shallotpeat]\n'})
    warning = ('content/sections/03-conclusion.ja.md:3:1: warning: unknown front-matter key '
               '"author" is ignored (known: title, summary, draft) [frontmatter.unknown-key]')
    code, _, stderr = run_build(content, tmp_path / "out", cwd=tmp_path)
    assert code == 0, stderr
    assert warning in stderr.splitlines()
    code, _, stderr = run_build(content, tmp_path / "strict", "--strict", cwd=tmp_path)
    assert assert_clean_failure(code, stderr) == [warning]
    assert not (tmp_path / "strict").exists()


def test_good_build_exit_zero_and_marker(project, tmp_path):
    code, stdout, stderr = run_build(project(), tmp_path / "out")
    assert code == 0, stderr
    assert "Traceback" not in stderr
    assert (tmp_path / "out" / ".kakehashi-output").is_file()
    # A second build replaces the first: the marker makes the folder ours.
    (tmp_path / "out" / "stale.html").write_text("old")
    code, _, stderr = run_build(project(), tmp_path / "out")
    assert code == 0, stderr
    assert not (tmp_path / "out" / "stale.html").exists()


def test_usage_error_exits_2(tmp_path):
    code, _, stderr = run_build(tmp_path / "content", tmp_path / "out", "--no-such-option")
    assert code == 2
    assert "Traceback" not in stderr


# --- refused output folders --------------------------------------------------------------------


def refused(where: str, reason: str) -> str:
    return (f"{where}: error: refusing to write the site into {reason}; choose another --out "
            "(nothing was changed) [output.refused]")


def snapshot(folder: Path) -> dict[str, bytes]:
    return tree_bytes(folder) if folder.is_dir() else {}


def test_refuses_the_content_folder(project, tmp_path):
    content = project()
    before = snapshot(content)
    code, _, stderr = run_build(content, content, cwd=tmp_path)
    assert assert_clean_failure(code, stderr) == [refused("content", "the content folder")]
    assert snapshot(content) == before


def test_refuses_a_folder_containing_the_content(project, tmp_path):
    content = project()
    before = snapshot(tmp_path)
    code, _, stderr = run_build(content, tmp_path, cwd=tmp_path / "content")
    assert assert_clean_failure(code, stderr) == [
        refused(str(tmp_path), "a folder that contains the content")]
    assert snapshot(tmp_path) == before


def test_refuses_the_templates_folder(project, tmp_path, project_copy):
    templates = project_copy / "templates"
    before = snapshot(templates)
    code, _, stderr = run_build(project(), templates, cwd=tmp_path, root=project_copy)
    assert assert_clean_failure(code, stderr) == [refused(str(templates), "the templates folder")]
    assert snapshot(templates) == before


def test_refuses_the_project_root(project, tmp_path, project_copy):
    before = snapshot(project_copy)
    code, _, stderr = run_build(project(), project_copy, cwd=tmp_path, root=project_copy)
    assert assert_clean_failure(code, stderr) == [refused(str(project_copy), "the project folder")]
    assert snapshot(project_copy) == before


def test_refuses_the_home_folder(project, tmp_path):
    home = tmp_path / "home"
    (home / "Documents").mkdir(parents=True)
    (home / "Documents" / "thesis.md").write_text("precious")
    before = snapshot(home)
    code, _, stderr = run_build(project(), home, cwd=tmp_path, env={"HOME": str(home)})
    assert assert_clean_failure(code, stderr) == [refused("home", "your home folder")]
    assert snapshot(home) == before


def test_refuses_the_home_folder_written_with_a_tilde(project, tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    (home / "notes.txt").write_text("precious")
    code, _, stderr = run_build(project(), Path("~"), cwd=tmp_path, env={"HOME": str(home)})
    assert assert_clean_failure(code, stderr) == [refused("~", "your home folder")]
    assert (home / "notes.txt").read_text() == "precious"


def test_refuses_the_file_system_root(project, tmp_path):
    code, _, stderr = run_build(project(), Path("/"), cwd=tmp_path)
    assert assert_clean_failure(code, stderr) == [refused("/", "the file-system root")]


def test_refuses_a_non_empty_folder_without_the_marker(project, tmp_path):
    mine = tmp_path / "mine"
    (mine / "sub").mkdir(parents=True)
    (mine / "notes.txt").write_text("my notes")
    (mine / "sub" / "data.csv").write_text("a,b\n")
    before = snapshot(mine)
    code, _, stderr = run_build(project(), mine, cwd=tmp_path)
    assert assert_clean_failure(code, stderr) == [refused(
        "mine", "a non-empty folder that Kakehashi did not create (no .kakehashi-output marker)")]
    assert snapshot(mine) == before
    assert (mine / "notes.txt").read_text() == "my notes"


def test_refuses_an_existing_file(project, tmp_path):
    target = tmp_path / "site.html"
    target.write_text("mine")
    code, _, stderr = run_build(project(), target, cwd=tmp_path)
    assert assert_clean_failure(code, stderr) == [refused("site.html", "an existing file")]
    assert target.read_text() == "mine"


def test_empty_folder_is_accepted(project, tmp_path):
    (tmp_path / "empty").mkdir()
    code, _, stderr = run_build(project(), tmp_path / "empty", cwd=tmp_path)
    assert code == 0, stderr
    assert (tmp_path / "empty" / "index.html").is_file()


def test_entry_without_title_is_a_warning_not_a_crash(project, tmp_path):
    bib = REFERENCES_BIB.replace("  title        = {Project Shallotpeat},\n", "")
    code, _, stderr = run_build(project({"references.bib": bib}), tmp_path / "out", cwd=tmp_path)
    assert "Traceback" not in stderr
    assert code == 0, stderr
    assert 'content/references.bib:39: warning: entry "xpert-shallotpeat" has no title; it ' \
           "renders with what it has [bib.missing-field]" in stderr.splitlines()
