"""The project as a new user meets it: the command line, `new`, packaging, the Makefile,
the publish workflow, and a checkout that needs nothing beside itself."""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import sys
import venv
from pathlib import Path

import pytest
import yaml

from conftest import ROOT, require
from kakehashi import __version__

STARTER_FILES = ["files/utf8-bytes.svg", "references.bib", "sections/01-introduction.en.md",
                 "sections/01-introduction.ja.md", "site.toml"]
WORKFLOW = ROOT / ".github" / "workflows" / "pages.yml"
NODE_24_MAJORS = {"actions/checkout": {"v5", "v6"}, "actions/setup-python": {"v6"},
                  "actions/configure-pages": {"v6"}, "actions/upload-pages-artifact": {"v5"},
                  "actions/deploy-pages": {"v5"}}


def kakehashi(*args: str, cwd: Path, python: str = sys.executable,
              script: Path = ROOT / "build.py", env: dict | None = None) -> subprocess.CompletedProcess:
    """Run `python build.py ARGS…` in `cwd`."""
    return subprocess.run([python, str(script), *args], cwd=cwd, capture_output=True, text=True,
                          timeout=180, env=dict(os.environ, **(env or {})))


def files_under(folder: Path) -> list[str]:
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())


# --- the command line ------------------------------------------------------------------------------


def test_version(tmp_path):
    completed = kakehashi("--version", cwd=tmp_path)
    assert (completed.returncode, completed.stdout) == (0, f"kakehashi {__version__}\n")


def test_help_is_written_for_users(tmp_path):
    text = kakehashi("--help", cwd=tmp_path).stdout
    assert text.startswith("usage: python build.py [-h] [--version] COMMAND ...\n\nKakehashi turns")
    for command in ("build", "serve", "check", "pdf", "import", "new"):
        assert re.search(rf"^    {command} ", text, re.MULTILINE), command
    assert "  python build.py new my-report\n      start a new bilingual report" in text
    assert "argparse" not in text and "one call each" not in text  # no developer docstring


def test_unknown_command_line_option_is_usage_error(tmp_path):
    completed = kakehashi("check", "--no-such-option", cwd=tmp_path)
    assert completed.returncode == 2
    assert "unrecognized arguments: --no-such-option" in completed.stderr
    assert "Traceback" not in completed.stderr


# --- new -------------------------------------------------------------------------------------------


def test_new_project_builds_and_checks_clean_at_once(tmp_path):
    made = kakehashi("new", "my-report", cwd=tmp_path)
    assert made.returncode == 0, made.stderr
    assert made.stdout.splitlines()[0] == "Created a new report in my-report:"
    assert files_under(tmp_path / "my-report") == STARTER_FILES
    checked = kakehashi("check", "--strict", "--content", "my-report", cwd=tmp_path)
    assert (checked.returncode, checked.stderr) == (0, "check: 0 error(s), 0 warning(s)\n")
    built = kakehashi("--strict", "--content", "my-report", "--out", "site", cwd=tmp_path)
    assert built.returncode == 0, built.stderr
    page = (tmp_path / "site/en/introduction/index.html").read_text("utf-8")
    # every citation form of the starter section resolves: no literal [^…] or [@…] left
    assert not re.search(r"\[\^|\[@", re.sub(r"<code>.*?</code>", "", page))
    # [^a], [^a][^b][^c], [@a], [@a; @b], [@a, ch. 1], [^a] after the formula; and @a in the text
    assert page.count('<sup class="cite"') == 6
    assert page.count('<span class="cite cite-narrative"') == 1
    # the issue-11 syntax: a numbered table and figure, cross-references, maths, a callout
    assert '<caption><span class="caption-number">Table\u00a01</span>: Bytes per character in UTF-8' in page
    assert '<figcaption><span class="caption-number">Figure\u00a01</span>' in page
    assert re.findall(r'<a class="xref" href="#([^"]+)">', page) == ["tbl-utf8", "fig-utf8", "sec-citing"]
    assert '<math xmlns="http://www.w3.org/1998/Math/MathML"' in page
    assert '<div class="callout callout-tip" role="note">' in page
    assert (tmp_path / "site/files/utf8-bytes.svg").is_file()


def test_new_project_site_toml_explains_every_key(tmp_path):
    kakehashi("new", "x", cwd=tmp_path)
    text = (tmp_path / "x/site.toml").read_text("utf-8")
    from kakehashi.config import LANGUAGE_KEYS, TOP_LEVEL_KEYS
    lines = text.splitlines()
    for key in [*TOP_LEVEL_KEYS, *LANGUAGE_KEYS]:
        index = next(i for i, line in enumerate(lines)
                     if line.startswith((f"{key} =", f"[{key}.", f"[{key}]"))) if key != "languages" else \
            next(i for i, line in enumerate(lines) if line.startswith("[languages."))
        assert lines[index - 1].startswith("#") or key in LANGUAGE_KEYS, f"{key} has no comment"


@pytest.mark.parametrize("existing", ["file", "non-empty folder"])
def test_new_never_writes_over_anything(existing, tmp_path):
    target = tmp_path / "taken"
    if existing == "file":
        target.write_text("mine")
    else:
        target.mkdir()
        (target / "notes.md").write_text("mine")
    completed = kakehashi("new", "taken", cwd=tmp_path)
    assert completed.returncode == 1
    assert re.fullmatch(r"taken: error: .* \[new\.(not-a-folder|not-empty)\]\n", completed.stderr)
    assert (target.read_text() if existing == "file" else (target / "notes.md").read_text()) == "mine"


# --- running build.py without the environment --------------------------------------------------


def bare_python() -> str | None:
    """A Python without Kakehashi's packages (the system one), if there is one."""
    for candidate in ("/usr/bin/python3", "/usr/local/bin/python3"):
        if Path(candidate).is_file():
            probe = subprocess.run([candidate, "-c", "import jinja2"], capture_output=True)
            if probe.returncode != 0:
                return candidate
    return None


def test_build_py_outside_the_venv_says_what_to_do(tmp_path):
    python = bare_python()
    if python is None:
        pytest.skip("every Python here has Jinja2 installed; nothing to test")
    for name in ("build.py", "kakehashi"):
        (shutil.copy2 if name.endswith(".py") else shutil.copytree)(ROOT / name, tmp_path / name)
    completed = kakehashi("check", cwd=tmp_path, python=python, script=tmp_path / "build.py")
    assert completed.returncode == 1
    assert re.fullmatch(
        r"build\.py: the Python package '(jinja2|markdown|pybtex|yaml|livereload)' is not installed; run "
        r"`make install` once \(it creates \.venv with everything Kakehashi needs\), or "
        r"`pip install -r requirements\.txt`\n", completed.stderr), completed.stderr


def test_build_py_outside_the_venv_runs_inside_it(tmp_path):
    python = bare_python()
    venv_python = ROOT / ".venv" / "bin" / "python"
    if python is None or not venv_python.is_file():
        pytest.skip("needs a Python without Jinja2 and the project's .venv (make test makes it)")
    kakehashi("new", "report", cwd=tmp_path)
    completed = kakehashi("check", "--content", "report", cwd=tmp_path, python=python)
    assert (completed.returncode, completed.stderr) == (0, "check: 0 error(s), 0 warning(s)\n")


# --- pip install . ---------------------------------------------------------------------------------


def test_pip_install_gives_a_kakehashi_command(tmp_path):
    """A wheel built from the checkout carries the templates, styles and starter project."""
    source = tmp_path / "source"  # setuptools writes build/ and *.egg-info beside the sources
    source.mkdir()
    for name in ("pyproject.toml", "README.md", "kakehashi", "templates", "static"):
        (shutil.copy2 if (ROOT / name).is_file() else shutil.copytree)(ROOT / name, source / name)
    environment = tmp_path / "env"
    venv.create(environment, with_pip=True, system_site_packages=True)
    python = environment / "bin" / "python"
    installed = subprocess.run([str(python), "-m", "pip", "install", "--quiet", "--no-deps",
                                "--disable-pip-version-check", str(source)],
                               capture_output=True, text=True, timeout=600, cwd=tmp_path)
    require(installed.returncode == 0, "pip could not build the package (it needs setuptools "
                                       f"from PyPI): {installed.stderr.strip()[-300:]}")
    command = str(environment / "bin" / "kakehashi")
    site_packages = subprocess.run([str(python), "-c", "import kakehashi, pathlib; "
                                    "print(pathlib.Path(kakehashi.__file__).parent)"],
                                   capture_output=True, text=True, cwd=tmp_path).stdout.strip()
    assert site_packages.startswith(str(environment)), site_packages
    deps = os.pathsep.join(p for p in sys.path if "site-packages" in p)
    env = dict(os.environ, PYTHONPATH=deps)  # the dependencies of the test environment

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([command, *args], cwd=tmp_path, capture_output=True, text=True,
                              timeout=180, env=env)
    assert run("--version").stdout == f"kakehashi {__version__}\n"
    assert run("--help").stdout.startswith("usage: kakehashi [-h] [--version] COMMAND")
    assert run("new", "report").returncode == 0
    built = run("--content", "report", "--out", "site")
    assert built.returncode == 0, built.stderr
    assert (tmp_path / "site/static/kakehashi.css").is_file()
    assert (tmp_path / "site/ja/introduction/index.html").is_file()


# --- the Makefile ----------------------------------------------------------------------------------


@pytest.mark.parametrize("target, settings, expected", [
    ("serve", [], ".venv/bin/python build.py serve --content \"content\" --out \"_site\"  "
                  "--host \"127.0.0.1\" --port \"8000\""),
    ("serve", ["CONTENT=my-report", "PORT=8001", "ARGS=--drafts"],
     ".venv/bin/python build.py serve --content \"my-report\" --out \"_site\"  --host "
     "\"127.0.0.1\" --port \"8001\" --drafts"),
    ("build", ["CONTENT=my-report", "OUT=site", "BASE_URL=https://u.github.io/r/"],
     ".venv/bin/python build.py build --content \"my-report\" --out \"site\" --base-url "
     "\"https://u.github.io/r/\""),
    ("check", ["CONTENT=my-report", "ARGS=--strict"],
     ".venv/bin/python build.py check --content \"my-report\" --strict"),
    ("pdf", ["CONTENT=my-report"],
     ".venv/bin/python build.py pdf --content \"my-report\" --out \"_site\""),
    ("new", ["DIR=my-report"], ".venv/bin/python build.py new \"my-report\""),
])
def test_make_targets_pass_the_settings_through(target, settings, expected):
    require(shutil.which("make") is not None, "make is not installed (Debian: apt-get install make)")
    environment = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MAKELEVEL", "MFLAGS")}
    completed = subprocess.run(["make", "--no-print-directory", "-n", "-o", ".venv/.installed",
                                target, *settings], cwd=ROOT, capture_output=True, text=True,
                               timeout=60, env=environment)
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.splitlines()[-1].rstrip() == expected.rstrip()


# --- the publish workflow --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def workflow() -> dict:
    return yaml.safe_load(WORKFLOW.read_text("utf-8"))


def steps(workflow: dict, job: str) -> list[dict]:
    return workflow["jobs"][job]["steps"]


def test_workflow_has_what_pages_needs(workflow):
    assert workflow["permissions"] == {"contents": "read", "pages": "write", "id-token": "write"}
    assert workflow[True] == {"push": {"branches": ["main"]}, "workflow_dispatch": None}  # `on:`
    uses = [step["uses"].split("@")[0] for step in steps(workflow, "build") if "uses" in step]
    assert uses == ["actions/checkout", "actions/setup-python", "actions/configure-pages",
                    "actions/upload-pages-artifact"]
    assert steps(workflow, "build")[-1]["with"] == {"path": "_site"}
    deploy = workflow["jobs"]["deploy"]
    assert deploy["needs"] == "build" and deploy["environment"]["name"] == "github-pages"
    assert [step["uses"].split("@")[0] for step in deploy["steps"]] == ["actions/deploy-pages"]


def test_workflow_actions_run_on_node_24(workflow):
    for job in workflow["jobs"]:
        for step in steps(workflow, job):
            if "uses" in step:
                action, major = step["uses"].split("@")
                assert major in NODE_24_MAJORS[action], f"{action}@{major} runs on Node 20"


def test_workflow_builds_the_configured_content_folder(workflow, tmp_path):
    assert workflow["env"] == {"KAKEHASHI_CONTENT": "${{ vars.KAKEHASHI_CONTENT || 'content' }}"}
    runs = [step["run"] for step in steps(workflow, "build") if "build.py" in step.get("run", "")]
    assert len(runs) == 2
    for run in runs:
        assert '--content "$KAKEHASHI_CONTENT"' in run, run
    # the check step, run as the runner's shell runs it, reads the user's folder
    kakehashi("new", "my-report", cwd=tmp_path)
    check = next(run for run in runs if " check " in run).replace("python build.py",
                                                                  f"{sys.executable} {ROOT / 'build.py'}")
    completed = subprocess.run(["bash", "-c", check], cwd=tmp_path, capture_output=True, text=True,
                               env=dict(os.environ, KAKEHASHI_CONTENT="my-report"), timeout=120)
    assert (completed.returncode, completed.stderr) == (0, "check: 0 error(s), 0 warning(s)\n")


# --- a checkout that needs nothing beside itself ---------------------------------------------------


def tracked_files() -> list[Path]:
    listed = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True)
    if listed.returncode != 0:
        pytest.skip("not a git checkout")
    return [ROOT / name for name in listed.stdout.splitlines()]


def test_nothing_in_the_repository_reads_outside_it():
    outside = re.compile(r"\.\./shared/(?:seeds|testdata|bench)|ROOT\.parent\b")
    for path in tracked_files():
        if path.is_file() and not path.is_relative_to(ROOT / "content" / "seed") \
                and not path.is_relative_to(ROOT / "tests" / "data"):
            text = path.read_bytes().decode("utf-8", errors="replace")
            assert not outside.search(text), f"{path.relative_to(ROOT)} reads outside the checkout"


def test_third_party_test_data_is_unmodified_and_licensed():
    data = ROOT / "tests" / "data"
    for line in (data / "SHA256SUMS").read_text().splitlines():
        digest, name = line.split()
        assert hashlib.sha256((data / name).read_bytes()).hexdigest() == digest, name
        assert (data / f"{name}.LICENSE").is_file(), f"{name} has no licence beside it"
