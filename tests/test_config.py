"""`site.toml`: defaults, and every problem reported at its line."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import SITE_TOML
from kakehashi.config import load_config
from kakehashi.diagnostics import Diagnostics


def load(tmp_path: Path, text: str | bytes, base_url: str | None = None):
    """(config, diagnostic lines) of a site.toml text, paths relative to tmp_path."""
    path = tmp_path / "site.toml"
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    diag = Diagnostics()
    config = load_config(path, diag, base_url)
    return config, [item.format() for item in diag.sorted()]


@pytest.fixture(autouse=True)
def in_tmp(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)


def test_valid_config(tmp_path):
    config, problems = load(tmp_path, SITE_TOML)
    assert problems == []
    assert config.default_language == "ja"
    assert config.language_codes == ("ja", "en")
    assert config.language("en").title == "Test Report"
    assert config.language("ja").description == "テスト用の小さな報告書。"
    assert config.base_url == "https://example.org/report/"
    assert config.citation_numbering == "bibliography"
    assert config.bibliography == "all"
    assert config.allow_missing_translations is False
    assert config.bibliography_path == tmp_path / "references.bib"


def test_defaults_and_default_language_first(tmp_path):
    config, problems = load(tmp_path, '[languages.en]\ntitle = "E"\n\n[languages.ja]\ntitle = "J"\n')
    assert problems == []
    assert config.default_language == "ja"
    assert config.language_codes == ("ja", "en")
    assert config.base_url == "/"
    assert config.bibliography_file == "references.bib"
    assert config.citation_numbering == "bibliography"
    assert config.bibliography == "all"


def test_base_url_override_gets_a_trailing_slash(tmp_path):
    config, _ = load(tmp_path, SITE_TOML, base_url="https://u.github.io/repo")
    assert config.base_url == "https://u.github.io/repo/"


def test_bom_and_crlf_accepted(tmp_path):
    config, problems = load(tmp_path, b"\xef\xbb\xbf" + SITE_TOML.replace("\n", "\r\n").encode())
    assert problems == []
    assert config.language("ja").title == "試験報告"


def test_unknown_top_level_key_with_its_line(tmp_path):
    text = SITE_TOML.replace('bibliography = "all"\n', 'bibliography = "all"\ntitel = "x"\n')
    config, problems = load(tmp_path, text)
    assert config is None
    assert problems == [
        'site.toml:6: error: unknown key "titel"; known keys here: allow_missing_translations, '
        "base_url, bibliography, bibliography_file, citation_numbering, citation_style, "
        "default_language, languages, navigation_limit, report, silence [config.unknown-key]",
    ]


def test_unknown_key_in_a_language_table(tmp_path):
    text = SITE_TOML.replace('description = "A small', 'descripton = "x"\ndescription = "A small')
    _, problems = load(tmp_path, text)
    assert problems == [
        'site.toml:14: error: unknown key "languages.en.descripton"; known keys here: '
        "description, title [config.unknown-key]",
    ]


def test_every_unknown_key_is_reported(tmp_path):
    text = SITE_TOML.replace('default_language = "ja"\n', 'default_language = "ja"\nbase = 1\n') \
        .replace('bibliography = "all"\n', 'bibliography = "all"\nnumbering = "x"\n')
    _, problems = load(tmp_path, text)
    assert [p.split(": error")[0] for p in problems] == ["site.toml:2", "site.toml:7"]


def test_invalid_toml_with_line_and_column(tmp_path):
    text = SITE_TOML.replace('base_url = "https://example.org/report/"',
                             'base_url = "https://example.org/report/')
    config, problems = load(tmp_path, text)
    assert config is None
    assert problems == ["site.toml:2:40: error: invalid TOML: Illegal character '\\n' [config.syntax]"]


def test_table_declared_twice(tmp_path):
    _, problems = load(tmp_path, SITE_TOML + '\n[languages.en]\ntitle = "again"\n')
    assert problems == ["site.toml:16:14: error: invalid TOML: Cannot declare ('languages', 'en') "
                        "twice [config.syntax]"]


def test_default_language_not_declared(tmp_path):
    text = SITE_TOML.replace('default_language = "ja"', 'default_language = "en"') \
        .split("[languages.en]")[0]
    config, problems = load(tmp_path, text)
    assert config is None
    assert problems == ['site.toml:1: error: default_language "en" is not declared; add '
                        "[languages.en] [config.undeclared-default]"]


def test_default_language_on_a_later_line(tmp_path):
    text = '# comment\nbase_url = "/"\ndefault_language = "en"\n\n[languages.ja]\ntitle = "J"\n'
    _, problems = load(tmp_path, text)
    assert problems == ['site.toml:3: error: default_language "en" is not declared; add '
                        "[languages.en] [config.undeclared-default]"]


@pytest.mark.parametrize("old, new, expected", [
    ('citation_numbering = "bibliography"', 'citation_numbering = "first_cited"',
     'site.toml:4: error: citation_numbering must be "bibliography" or "first-cited", not '
     '"first_cited" [config.bad-value]'),
    ('bibliography = "all"', 'bibliography = "some"',
     'site.toml:5: error: bibliography must be "all" or "cited", not "some" [config.bad-value]'),
    ("allow_missing_translations = false", 'allow_missing_translations = "yes"',
     'site.toml:6: error: "allow_missing_translations" must be a bool [config.bad-type]'),
    ('base_url = "https://example.org/report/"', "base_url = 3",
     'site.toml:2: error: "base_url" must be a str [config.bad-type]'),
])
def test_bad_values(tmp_path, old, new, expected):
    config, problems = load(tmp_path, SITE_TOML.replace(old, new))
    assert config is None
    assert problems == [expected]


def test_unsupported_language(tmp_path):
    _, problems = load(tmp_path, SITE_TOML + '\n[languages.fr]\ntitle = "Rapport"\n')
    assert problems == ['site.toml:16: error: language "fr" is not supported; use ja or en '
                        "[config.unknown-language]"]


def test_language_without_title(tmp_path):
    _, problems = load(tmp_path, SITE_TOML.replace('title = "Test Report"\n', ""))
    assert problems == ["site.toml:12: error: [languages.en] needs a title [config.missing-title]"]


def test_missing_site_toml(tmp_path):
    diag = Diagnostics()
    assert load_config(tmp_path / "site.toml", diag) is None
    assert [d.format() for d in diag.items] == [
        "site.toml: error: site.toml is missing; every content folder needs one (see the README, "
        "'Configuration') [config.missing]"]


def test_site_toml_not_utf8(tmp_path):
    config, problems = load(tmp_path, SITE_TOML.encode("utf-8").replace(
        "試験報告".encode(), "試験報告".encode("shift_jis")))
    assert config is None
    assert problems == ["site.toml:9: error: this file is not UTF-8 (byte 0x8e); save it as UTF-8 "
                        "[file.not-utf8]"]
