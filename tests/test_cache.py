"""The build cache: a cached rebuild equals a fresh build, byte for byte, after every kind of
edit; a changed or damaged cache is ignored; --no-cache neither reads nor writes it."""

from __future__ import annotations

import logging
import re
import shutil
from pathlib import Path

import pytest

from conftest import ROOT, run_build, tree_bytes, write_project
from kakehashi import cache as cache_module
from kakehashi.cache import CACHE_FOLDER, DiskCache, Reuse, fingerprint
from kakehashi.site import BuildCache, BuildOptions, build

NEW_SECTION = "---\ntitle: \"{title}\"\n---\n\n{body}[^doe-2023]\n"


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text("utf-8")
    assert old in text, (path, old)
    path.write_text(text.replace(old, new, 1), "utf-8")


def add_section(content: Path) -> None:
    for code, title in (("ja", "付録"), ("en", "Appendix")):
        (content / f"sections/04-appendix.{code}.md").write_text(
            NEW_SECTION.format(title=title, body=f"{title}の本文。" if code == "ja" else "Text."),
            "utf-8")


def remove_section(content: Path) -> None:
    for code in ("ja", "en"):
        (content / f"sections/03-conclusion.{code}.md").unlink()


def rename_section(content: Path) -> None:
    for code in ("ja", "en"):
        (content / f"sections/02-gemini.{code}.md").rename(
            content / f"sections/02-gemini-three.{code}.md")


EDITS = {
    "section text": lambda c, t, s: edit(c / "sections/02-gemini.ja.md", "評価は分かれる。",
                                         "評価は大きく分かれる。"),
    "section title": lambda c, t, s: edit(c / "sections/01-memo-leak.en.md",
                                          'title: "The memo leak"', 'title: "The leaked memo"'),
    "bibliography entry": lambda c, t, s: edit(c / "references.bib", "Project Shallotpeat",
                                               "Project Shallotpeat, revised"),
    "added section": lambda c, t, s: add_section(c),
    "removed section": lambda c, t, s: remove_section(c),
    "renamed section": lambda c, t, s: rename_section(c),
    "template": lambda c, t, s: edit(t / "section.html", '<article class="section">',
                                     '<article class="section" data-edited="yes">'),
    "UI string": lambda c, t, s: edit(t / "i18n/en.toml", 'next = "Next"', 'next = "Onwards"'),
    "static file": lambda c, t, s: edit(s / "kakehashi.css", ":root", ":root /* edited */"),
    "site.toml": lambda c, t, s: edit(c / "site.toml", 'title = "Test Report"',
                                      'title = "A Test Report"'),
}


@pytest.fixture
def engine(tmp_path: Path) -> tuple[Path, Path, Path]:
    """A project with its own copies of the templates and static files, which tests edit."""
    content = write_project(tmp_path / "content")
    templates, static = tmp_path / "templates", tmp_path / "static"
    shutil.copytree(ROOT / "templates", templates)
    shutil.copytree(ROOT / "static", static)
    return content, templates, static


def options(engine, out: Path, cache: bool) -> BuildOptions:
    content, templates, static = engine
    return BuildOptions(content, out, cache=cache, templates_dir=templates, static_dir=static)


def rendered_count(caplog) -> tuple[int, int]:
    """(pages, pages rendered) of the last build's log line."""
    line = [r.getMessage() for r in caplog.records if r.getMessage().startswith("Built")][-1]
    pages, rendered = re.match(r"Built (\d+) pages in [\d.]+ s \((\d+) rendered\)", line).groups()
    return int(pages), int(rendered)


@pytest.mark.parametrize("kind", EDITS)
def test_a_cached_rebuild_equals_a_fresh_build_after_each_kind_of_edit(engine, tmp_path, kind):
    cached, fresh = tmp_path / "cached", tmp_path / "fresh"
    assert not build(options(engine, cached, cache=True)).diagnostics.errors
    EDITS[kind](*engine)
    assert not build(options(engine, cached, cache=True)).diagnostics.errors
    assert not build(options(engine, fresh, cache=False)).diagnostics.errors
    one, two = tree_bytes(cached), tree_bytes(fresh)
    assert sorted(one) == sorted(two)
    assert [name for name in one if one[name] != two[name]] == []


def test_a_section_edit_renders_again_only_what_shows_it(engine, tmp_path, caplog):
    caplog.set_level(logging.INFO, logger="kakehashi")
    out = tmp_path / "out"
    build(options(engine, out, cache=True))
    assert rendered_count(caplog)[1] == rendered_count(caplog)[0]
    build(options(engine, out, cache=True))
    assert rendered_count(caplog)[1] == 0
    EDITS["section text"](*engine)
    build(options(engine, out, cache=True))
    pages, rendered = rendered_count(caplog)
    # the section's own page, the print page of its language, and the section side by side
    # on the pages of both languages
    assert rendered == 4


def test_a_bibliography_edit_renders_the_pages_that_show_the_entry(engine, tmp_path, caplog):
    caplog.set_level(logging.INFO, logger="kakehashi")
    out = tmp_path / "out"
    build(options(engine, out, cache=True))
    edit(engine[0] / "references.bib", "Example Press", "Example Press Ltd")  # doe-2023: uncited
    build(options(engine, out, cache=True))
    assert rendered_count(caplog)[1] == 4  # bibliography and print page, in both languages


def damage(folder: Path) -> None:
    for path in folder.glob("*.pickle"):
        data = bytearray(path.read_bytes())
        data[-5] ^= 0xFF
        path.write_bytes(bytes(data))


@pytest.mark.parametrize("how", ["damaged", "truncated", "not a cache file", "other code"])
def test_a_changed_or_damaged_cache_is_ignored(engine, tmp_path, monkeypatch, how):
    out = tmp_path / "out"
    build(options(engine, out, cache=True))
    folder = tmp_path / CACHE_FOLDER / "out"
    assert sorted(path.name for path in folder.glob("*.pickle"))
    EDITS["section text"](*engine)
    if how == "damaged":
        damage(folder)
    elif how == "truncated":
        for path in folder.glob("*.pickle"):
            path.write_bytes(path.read_bytes()[:100])
    elif how == "not a cache file":
        for path in folder.glob("*.pickle"):
            path.write_bytes(b"\x80\x05K\x01.")
    else:
        monkeypatch.setattr(cache_module, "engine_digest", lambda: "another version")
    assert not build(options(engine, out, cache=True)).diagnostics.errors
    assert not build(options(engine, tmp_path / "fresh", cache=False)).diagnostics.errors
    assert tree_bytes(out) == tree_bytes(tmp_path / "fresh")


def test_the_cache_sits_beside_the_output_and_no_cache_leaves_it_alone(project, tmp_path):
    content = project()
    code, _, stderr = run_build(content, tmp_path / "site", "--no-cache")
    assert code == 0, stderr
    assert not (tmp_path / CACHE_FOLDER).exists()
    code, _, stderr = run_build(content, tmp_path / "site")
    assert code == 0, stderr
    kinds = sorted(path.stem for path in (tmp_path / CACHE_FOLDER / "site").glob("*.pickle"))
    assert {"pages", "rendered", "sections", "bibliography"} <= set(kinds)
    before = {path: path.read_bytes() for path in (tmp_path / CACHE_FOLDER).rglob("*.pickle")}
    (content / "sections/03-conclusion.en.md").write_text("---\ntitle: \"End\"\n---\n\nDone.\n",
                                                          "utf-8")
    code, _, stderr = run_build(content, tmp_path / "site", "--no-cache")
    assert code == 0, stderr
    assert {path: path.read_bytes() for path in before} == before  # neither read nor written
    assert "End" in (tmp_path / "site/en/conclusion/index.html").read_text("utf-8")


def test_the_next_build_process_reuses_what_the_last_one_made(project, tmp_path):
    content = project()
    assert run_build(content, tmp_path / "site")[0] == 0
    code, _, stderr = run_build(content, tmp_path / "site")
    assert code == 0, stderr
    assert re.search(r"Built 23 pages in [\d.]+ s \(0 rendered\)", stderr), stderr
    (content / "sections/03-conclusion.en.md").write_text("---\ntitle: \"Conclusion\"\n---\n\n"
                                                          "The plan goes on.[^xpert-shallotpeat]"
                                                          " So does the work.\n", "utf-8")
    code, _, stderr = run_build(content, tmp_path / "site")
    assert code == 0, stderr
    # the section, the print page and the section side by side in both languages
    assert re.search(r"\(4 rendered\)", stderr), stderr


def test_serve_memory_and_the_cache_folder_agree(engine, tmp_path):
    """Values found on disk are kept in serve's memory too; either gives a fresh build's bytes."""
    out, fresh, memory = tmp_path / "out", tmp_path / "fresh", BuildCache()
    build(options(engine, out, cache=True))
    build(options(engine, out, cache=True), cache=memory)
    assert memory.pages_rendered == 0
    build(options(engine, fresh, cache=False))
    assert tree_bytes(out) == tree_bytes(fresh)
    EDITS["section title"](*engine)
    build(options(engine, out, cache=False), cache=memory)
    build(options(engine, fresh, cache=False))
    assert tree_bytes(out) == tree_bytes(fresh)


def test_fingerprints_depend_on_values_not_on_shared_objects():
    title = "".join(["The", " memo"])
    shared = (title, title)
    copies = ("The memo", "The" + " memo")
    assert fingerprint(shared) == fingerprint(copies)
    assert fingerprint({"a": 1, "b": 2}) != fingerprint({"b": 2, "a": 1})  # order is content
    assert fingerprint(1) != fingerprint(1.0)


def test_reuse_computes_only_what_it_does_not_hold(tmp_path):
    disk = DiskCache(tmp_path / "cache", "engine")
    asked = []

    def compute(missing):
        asked.append(list(missing))
        return [slot.upper() for slot in missing]

    reuse = Reuse(None, disk)
    assert reuse.values("kind", ["a", "b"], lambda slot: slot, compute) == {"a": "A", "b": "B"}
    reuse.save()
    again = Reuse(None, DiskCache(tmp_path / "cache", "engine"))
    assert again.values("kind", ["b", "c"], lambda slot: slot, compute) == {"b": "B", "c": "C"}
    assert asked == [["a", "b"], ["c"]]
    nothing = Reuse()
    assert nothing.values("kind", ["x"], lambda slot: 1 / 0, compute) == {"x": "X"}


def test_the_cache_keeps_digests_of_pages_and_trusts_no_file_of_the_output(engine, tmp_path,
                                                                          caplog):
    """A page is read back from the output folder only while it has the digest the cache
    holds: one changed or removed by hand is rendered again."""
    caplog.set_level(logging.INFO, logger="kakehashi")
    out = tmp_path / "out"
    build(options(engine, out, cache=True))
    pages = (out.parent / ".kakehashi-cache" / out.name / "pages.pickle").stat().st_size
    assert pages < sum(path.stat().st_size for path in out.rglob("*.html")) / 10
    fresh = tree_bytes(out)
    (out / "en" / "index.html").write_bytes(b"changed by hand")
    (out / "ja" / "bibliography" / "index.html").unlink()
    build(options(engine, out, cache=True))
    assert rendered_count(caplog)[1] == 2
    assert tree_bytes(out) == fresh
