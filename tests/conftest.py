"""Shared fixtures: a small bilingual project written from a dict, and the build command."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
TESTDATA = ROOT.parent / "shared" / "testdata"
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

SITE_TOML = """\
default_language = "ja"
base_url = "https://example.org/report/"
bibliography_file = "references.bib"
citation_numbering = "bibliography"
bibliography = "all"
allow_missing_translations = false

[languages.ja]
title = "試験報告"
description = "テスト用の小さな報告書。"

[languages.en]
title = "Test Report"
description = "A small report for the tests."
"""

# Six sources, numbered 1–6 in this order.
REFERENCES_BIB = """\
% Test bibliography: six sources.

@online{altman-memo,
  author       = {{The Information}},
  title        = {Altman Memo Forecasts 'Rough Vibes' Due to Resurgent Google},
  date         = {2025-11-20},
  url          = {https://www.theinformation.com/articles/altman-memo},
  urldate      = {2025-11-24},
}

@online{yamada-2025,
  author       = {山田, 太郎},
  title        = {生成AIの現状と課題},
  englishtitle = {The State and Challenges of Generative AI},
  language     = {japanese},
  date         = {2025-11-01},
  url          = {https://example.jp/yamada/ai},
  urldate      = {2025-11-12},
}

@article{smith-2024,
  author       = {Smith, Jane and Doe, John},
  title        = {Scaling Laws for Neural Language Models: A Review},
  journal      = {Journal of AI Research},
  volume       = {12},
  number       = {3},
  pages        = {1--20},
  date         = {2024-03},
}

@online{google-gemini-3,
  author       = {{Google DeepMind}},
  title        = {A new era of intelligence with Gemini 3},
  date         = {2025-11-18},
  url          = {https://blog.google/products/gemini/gemini-3/},
  urldate      = {2025-11-24},
}

@online{xpert-shallotpeat,
  title        = {Project Shallotpeat},
  organization = {Xpert.Digital},
  url          = {https://xpert.digital/en/project-shallotpeat/},
  urldate      = {2025-11-24},
}

@book{doe-2023,
  author       = {Doe, John},
  title        = {The iPhone and the eBook: Lower-Case Names in Titles},
  publisher    = {Example Press},
  location     = {London},
  year         = {2023},
}
"""

SECTIONS = {
    "sections/01-memo-leak.ja.md": """\
---
title: "メモ流出"
summary: "内部メモの概要。"
---

## 経緯

メモは流出した。[^altman-memo][^yamada-2025][^smith-2024]

その後の報道[^altman-memo][^google-gemini-3]があった。[^note]

[^note]: これは通常の脚注である。
""",
    "sections/01-memo-leak.en.md": """\
---
title: "The memo leak"
summary: "What the internal memo said."
---

## Background

The memo leaked.[^altman-memo][^yamada-2025][^smith-2024]

Reports followed[^altman-memo][^google-gemini-3].[^note]

[^note]: This is an ordinary footnote.
""",
    "sections/02-gemini.ja.md": """\
---
title: "Gemini 3"
---

## 性能

Gemini 3 が公開された。[@google-gemini-3; @xpert-shallotpeat]

### 評価

評価は分かれる。[@smith-2024]
""",
    "sections/02-gemini.en.md": """\
---
title: "Gemini 3"
---

## Performance

Gemini 3 was released.[@google-gemini-3; @xpert-shallotpeat]

### Evaluation

Opinions differ.[@smith-2024]
""",
    "sections/03-conclusion.ja.md": """\
---
title: "結論"
---

計画は続く。[^xpert-shallotpeat]
""",
    "sections/03-conclusion.en.md": """\
---
title: "Conclusion"
---

The plan goes on.[^xpert-shallotpeat]
""",
}

DEFAULT_FILES = {"site.toml": SITE_TOML, "references.bib": REFERENCES_BIB, **SECTIONS}


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--update-golden", action="store_true", default=False,
                     help="rewrite the golden output trees under tests/golden/")


@pytest.fixture
def update_golden(request: pytest.FixtureRequest) -> bool:
    return request.config.getoption("--update-golden")


def write_project(folder: Path, files: dict[str, str | bytes | None] | None = None,
                  defaults: bool = True) -> Path:
    """Write a content tree into `folder`: the defaults, overridden (None removes) by `files`."""
    tree: dict[str, str | bytes | None] = dict(DEFAULT_FILES) if defaults else {}
    tree.update(files or {})
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "sections").mkdir(exist_ok=True)
    for relative, text in tree.items():
        if text is None:
            continue
        path = folder / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(text, bytes):
            path.write_bytes(text)
        else:
            path.write_text(text, encoding="utf-8", newline="")
    return folder


@pytest.fixture
def project(tmp_path: Path):
    """A factory: `project({path: text})` writes tmp_path/content and returns that folder.

    The dict overrides the default project (site.toml, references.bib, three sections in
    ja and en); a value of None leaves that default file out; `defaults=False` starts empty.
    """
    def make(files: dict[str, str | bytes | None] | None = None, defaults: bool = True,
             name: str = "content") -> Path:
        return write_project(tmp_path / name, files, defaults)
    return make


def run_build(content: Path, out: Path, *args: str, cwd: Path | None = None,
              env: dict[str, str] | None = None, root: Path = ROOT) -> tuple[int, str, str]:
    """Run `python build.py --content CONTENT --out OUT ARGS…`; (returncode, stdout, stderr)."""
    command = [sys.executable, str(root / "build.py"), "--content", str(content),
               "--out", str(out), *args]
    environment = dict(os.environ, **(env or {}))
    completed = subprocess.run(command, cwd=cwd or root, env=environment, capture_output=True,
                               text=True, timeout=120)
    return completed.returncode, completed.stdout, completed.stderr


@pytest.fixture(scope="session")
def project_copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A private copy of the generator (build.py, kakehashi/, templates/, static/).

    Tests that try to make the build write over the project root or the templates folder
    use this copy, so a regression can never damage the real repository.
    """
    root = tmp_path_factory.mktemp("kakehashi-copy")
    shutil.copy2(ROOT / "build.py", root / "build.py")
    for name in ("kakehashi", "templates", "static"):
        shutil.copytree(ROOT / name, root / name,
                        ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    return root


def tree_bytes(folder: Path) -> dict[str, bytes]:
    """Every file under `folder` (hidden ones too), keyed by its POSIX relative path."""
    return {path.relative_to(folder).as_posix(): path.read_bytes()
            for path in sorted(folder.rglob("*")) if path.is_file()}
