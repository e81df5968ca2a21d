"""Faults provoked for real: kills at random moments, concurrent builds, a full disk, an
unwritable folder. After each, the output folder holds a complete site (the previous or
the new one), nothing is left beside it, and the message is one line."""

from __future__ import annotations

import os
import random
import resource
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import ROOT, run_build, tree_bytes, write_project

MARKER = ".kakehashi-output"


def build_command(content: Path, out: Path) -> list[str]:
    return [sys.executable, str(ROOT / "build.py"), "--content", str(content), "--out", str(out)]


def leftovers(out: Path) -> list[str]:
    """What builds left beside the output folder, but for the spare copy of the site before."""
    spare = out.parent / f".{out.name}.spare"
    assert not spare.exists() or (spare / MARKER).is_file()  # if kept, a whole earlier site
    return sorted(p.name for p in out.parent.iterdir()
                  if p.name.startswith(f".{out.name}.") and p != spare)


def dead_pid() -> int:
    """The id of a process that has ended."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


@pytest.fixture
def flagship(tmp_path) -> tuple[Path, Path, dict[str, bytes]]:
    """The flagship content copied, built once into tmp_path/site: (content, out, tree)."""
    content = tmp_path / "content"
    shutil.copytree(ROOT / "content", content, ignore=shutil.ignore_patterns("seed"))
    out = tmp_path / "site"
    code, _, stderr = run_build(content, out, cwd=tmp_path)
    assert code == 0, stderr
    return content, out, tree_bytes(out)


def test_kill_at_random_moments_leaves_a_complete_site(flagship):
    content, out, good = flagship
    rng = random.Random(20261201)  # reproducible moments
    started = time.perf_counter()
    run_build(content, out)
    whole = time.perf_counter() - started
    for _ in range(10):
        process = subprocess.Popen(build_command(content, out), stdout=subprocess.DEVNULL,
                                   stderr=subprocess.DEVNULL)
        time.sleep(rng.uniform(0.5, 1.0) * whole)
        process.send_signal(signal.SIGKILL)
        process.wait()
        assert tree_bytes(out) == good  # the previous site, whole (the new one is identical)
    code, _, stderr = run_build(content, out)
    assert code == 0, stderr
    assert tree_bytes(out) == good
    assert leftovers(out) == []


def test_the_spare_site_brought_up_to_date_equals_a_fresh_build(flagship, tmp_path):
    """Each build updates the site of two builds ago; what it then holds is a fresh build's,
    byte for byte, even when a file of that copy was changed, added or removed meanwhile."""
    content, out, _ = flagship
    spare = out.parent / f".{out.name}.spare"
    section = next((content / "sections").glob("*.en.md"))
    original = section.read_text("utf-8")
    for round, words in enumerate(["First edit.", "Second edit.", "Third edit."]):
        section.write_text(original.replace("\n\n", f"\n\n{words} ", 1), "utf-8")
        if round == 2:  # meddle with the copy about to be updated
            (spare / "en" / "index.html").write_bytes(b"changed by hand")
            (spare / "stray.html").write_text("not part of the site", "utf-8")
            (spare / "static" / "kakehashi.css").unlink()
        code, _, stderr = run_build(content, out)
        assert code == 0, stderr
        assert spare.is_dir()
        fresh = tmp_path / f"fresh-{round}"
        code, _, stderr = run_build(content, fresh, "--no-cache")
        assert code == 0, stderr
        assert tree_bytes(out) == tree_bytes(fresh)
        assert not (fresh.parent / f".{fresh.name}.spare").exists()  # --no-cache keeps none
    assert leftovers(out) == []


def test_a_folder_of_the_users_named_like_the_spare_is_left_alone(flagship):
    content, out, _ = flagship
    mine = out.parent / f".{out.name}.spare"
    mine.mkdir()
    (mine / "notes.txt").write_text("mine", "utf-8")
    for _ in range(2):
        code, _, stderr = run_build(content, out)
        assert code == 0, stderr
    assert sorted(p.name for p in mine.iterdir()) == ["notes.txt"]


def test_a_kill_between_the_two_renames_is_repaired_by_the_next_build(flagship):
    """Where the system has no atomic exchange, the swap is two renames; simulate a kill there."""
    content, out, good = flagship
    pid = dead_pid()
    out.rename(out.parent / f".site.previous-{pid}")  # the old site, moved aside
    partial = out.parent / f".site.building-{pid}"
    (partial / "ja").mkdir(parents=True)  # a half-written new site
    (partial / "ja" / "index.html").write_text("half")
    code, _, stderr = run_build(content, out)
    assert code == 0, stderr
    assert tree_bytes(out) == good
    assert leftovers(out) == []


def test_leftovers_of_a_live_build_are_not_touched(flagship, tmp_path):
    content, out, _ = flagship
    mine = out.parent / f".site.building-{os.getppid()}"  # a running process's folder
    mine.mkdir()
    assert run_build(content, out)[0] == 0
    assert mine.is_dir()


def test_two_builds_into_one_folder_at_once(flagship):
    content, out, good = flagship
    processes = [subprocess.Popen(build_command(content, out), stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True) for _ in range(3)]
    results = [process.communicate(timeout=120) for process in processes]
    assert [process.returncode for process in processes] == [0, 0, 0], results
    assert all("Traceback" not in stderr for _, stderr in results)
    assert tree_bytes(out) == good
    assert leftovers(out) == []


def limit_file_size() -> None:
    """In the child: files may not grow past 20 KB, as on a full disk (EFBIG, not a kill)."""
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (20_000, 20_000))


def test_full_disk_keeps_the_previous_site(flagship, tmp_path):
    content, out, good = flagship
    completed = subprocess.run(build_command(content, out), cwd=tmp_path, capture_output=True,
                               text=True, timeout=120, preexec_fn=limit_file_size)
    assert completed.returncode == 1
    assert completed.stderr.splitlines()[-1].startswith(
        "site: error: cannot write the site: File too large (")
    assert completed.stderr.rstrip().endswith("the previous site is unchanged [output.unwritable]")
    assert "Traceback" not in completed.stderr
    assert tree_bytes(out) == good
    assert leftovers(out) == []


def test_unwritable_parent_folder(tmp_path):
    content = write_project(tmp_path / "content")
    code, _, stderr = run_build(content, Path("/proc/kakehashi-site"), cwd=tmp_path)
    assert code == 1
    assert stderr.startswith("/proc/kakehashi-site: error: cannot write the site: ")
    assert stderr.endswith("; the previous site is unchanged [output.unwritable]\n")


def test_out_below_an_existing_file(tmp_path):
    content = write_project(tmp_path / "content")
    (tmp_path / "notes.txt").write_text("mine")
    code, _, stderr = run_build(content, tmp_path / "notes.txt" / "site", cwd=tmp_path)
    assert (code, stderr) == (1, "notes.txt/site: error: refusing to write the site into a path "
                                 "below an existing file; choose another --out (nothing was "
                                 "changed) [output.refused]\n")
    assert (tmp_path / "notes.txt").read_text() == "mine"


@pytest.mark.parametrize("inside", ["content", "static", "templates"])
def test_out_inside_a_folder_the_build_reads(inside, tmp_path, project_copy):
    content = write_project(project_copy / "content") if inside == "content" else \
        write_project(tmp_path / "content")
    folder = content if inside == "content" else project_copy / inside
    code, _, stderr = run_build(content, folder / "site", cwd=tmp_path, root=project_copy)
    assert code == 1
    assert stderr.endswith(f"error: refusing to write the site into a folder inside the {inside} "
                           "folder (every build would read its own output); choose another --out "
                           "(nothing was changed) [output.refused]\n")
    assert not (folder / "site").exists()


def test_bringing_a_spare_up_to_date_removes_exactly_what_the_site_lacks(tmp_path):
    """Stray files, folders and links go (a link is never followed); the site's files stay."""
    from kakehashi.site import remove_others

    folder, elsewhere = tmp_path / "spare", tmp_path / "elsewhere"
    for name in ("index.html", "ja/a/index.html", "ja/old/index.html", "ja/stray.txt",
                 "gone/deep/x.html"):
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(name, "utf-8")
    (elsewhere / "keep").mkdir(parents=True)
    (folder / "ja/link").symlink_to(elsewhere / "keep", target_is_directory=True)
    (folder / "ja/a/file-link").symlink_to(elsewhere)
    remove_others(folder, {"index.html", "ja/a/index.html"})
    assert sorted(path.relative_to(folder).as_posix() for path in folder.rglob("*")) == [
        "index.html", "ja", "ja/a", "ja/a/index.html"]
    assert (elsewhere / "keep").is_dir()
