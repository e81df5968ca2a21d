"""The bibliography: loading with diagnostics, and formatting in both page languages."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from conftest import REFERENCES_BIB, ROOT, TESTDATA
from kakehashi.bibliography import format_bibliography, load_bibliography
from kakehashi.diagnostics import Diagnostics
from kakehashi.site import BuildOptions, build

JAPANESE_PUNCTUATION = re.compile(r"[「」『』、。（）　]")


def load(tmp_path: Path, text: str, name: str = "refs.bib"):
    """(bibliography, diagnostic lines) of a .bib text; paths shown relative to tmp_path."""
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    diag = Diagnostics()
    bibliography = load_bibliography(path, diag)
    return bibliography, [item.format() for item in diag.sorted()]


def formatted(bibliography, language: str) -> dict:
    numbers = {key: n for n, key in enumerate(bibliography.keys, start=1)}
    return format_bibliography(bibliography, numbers, language)


@pytest.fixture
def entries(tmp_path, monkeypatch):
    """The default project's six sources, formatted for each page language."""
    monkeypatch.chdir(tmp_path)
    bibliography, problems = load(tmp_path, REFERENCES_BIB)
    assert problems == []
    return {language: formatted(bibliography, language) for language in ("ja", "en")}


# --- exact entries -----------------------------------------------------------------------------


def test_english_online_source_on_english_page(entries):
    assert entries["en"]["altman-memo"].html == (
        "The Information. “Altman Memo Forecasts &#x27;Rough Vibes&#x27; Due to Resurgent "
        "Google”. 20 November 2025. <a href=\"https://www.theinformation.com/articles/altman-memo\">"
        "https://www.theinformation.com/articles/altman-memo</a> (Accessed 24 November 2025, "
        "<a href=\"https://web.archive.org/web/20251124/https://www.theinformation.com/articles/"
        "altman-memo\">archived copy</a>).")


def test_english_online_source_on_japanese_page(entries):
    """The source's date and punctuation stay English; the access label and its date follow the page."""
    assert entries["ja"]["altman-memo"].html == (
        "The Information. “Altman Memo Forecasts &#x27;Rough Vibes&#x27; Due to Resurgent "
        "Google”. 20 November 2025. <a href=\"https://www.theinformation.com/articles/altman-memo\">"
        "https://www.theinformation.com/articles/altman-memo</a> (<span lang=\"ja\">閲覧日 2025年11月24日, "
        "<a href=\"https://web.archive.org/web/20251124/https://www.theinformation.com/articles/"
        "altman-memo\">アーカイブ</a></span>).")


def test_japanese_source_on_japanese_page(entries):
    assert entries["ja"]["yamada-2025"].html == (
        "山田太郎「生成AIの現状と課題」2025年11月1日。<a href=\"https://example.jp/yamada/ai\">"
        "https://example.jp/yamada/ai</a>（閲覧日 2025年11月12日、<a href=\"https://web.archive.org/"
        "web/20251112/https://example.jp/yamada/ai\">アーカイブ</a>）。")
    assert entries["ja"]["yamada-2025"].language == "ja"


def test_japanese_source_on_english_page(entries):
    """「」 and the Japanese date kept, the English title in brackets, English labels."""
    html = entries["en"]["yamada-2025"].html
    assert html == (
        "山田太郎「生成AIの現状と課題」 <span lang=\"en\">[The State and Challenges of Generative AI]</span>"
        "。2025年11月1日。<a href=\"https://example.jp/yamada/ai\">https://example.jp/yamada/ai</a>（"
        "<span lang=\"en\">Accessed 12 November 2025、<a href=\"https://web.archive.org/web/20251112/"
        "https://example.jp/yamada/ai\">archived copy</a></span>）。")
    assert "1 November 2025" not in html
    assert '<a href="https://web.archive.org/web/20251112/https://example.jp/yamada/ai">' \
           "archived copy</a>" in html
    assert not re.search(r"\][\w]", html), f"the English title runs into the next word: {html}"


def test_english_title_only_on_the_english_page(entries):
    assert "The State and Challenges" not in entries["ja"]["yamada-2025"].html
    assert "The State and Challenges" in entries["en"]["yamada-2025"].html


def test_article_with_english_authors(entries):
    assert entries["en"]["smith-2024"].html == (
        "Jane Smith and John Doe. “Scaling Laws for Neural Language Models: A Review”. "
        "<em>Journal of AI Research</em>, vol. 12, no. 3, pp. 1–20, March 2024.")
    assert entries["ja"]["smith-2024"].html == (
        "Jane Smith and John Doe. “Scaling Laws for Neural Language Models: A Review”. "
        "<em>Journal of AI Research</em>, vol. 12, no. 3, pp. 1–20, March 2024.")


def test_english_sources_end_in_english_on_the_japanese_page(entries):
    """No `2024年3月.`: an English entry's own date is English on every page."""
    for key in ("altman-memo", "smith-2024", "google-gemini-3", "xpert-shallotpeat", "doe-2023"):
        ja, en = entries["ja"][key].text, entries["en"][key].text
        assert not re.search(r"\d[年月日]\.", ja), ja
        assert ja == en.replace("Accessed 24 November 2025, archived copy",
                                "閲覧日 2025年11月24日, アーカイブ"), (ja, en)


def test_organisation_author_whole(entries):
    assert entries["en"]["google-gemini-3"].html.startswith(
        "Google DeepMind. “A new era of intelligence with Gemini 3”. 18 November 2025. ")
    assert entries["en"]["xpert-shallotpeat"].html.startswith(
        "“Project Shallotpeat”. Xpert.Digital. <a href=")


def test_titles_are_never_recased(entries):
    for language in ("ja", "en"):
        assert entries[language]["doe-2023"].text.startswith(
            "John Doe. The iPhone and the eBook: Lower-Case Names in Titles. Example Press, London, ")
    assert entries["en"]["doe-2023"].html == (
        "John Doe. <em>The iPhone and the eBook: Lower-Case Names in Titles</em>. Example Press, "
        "London, 2023.")


def test_english_sources_get_no_japanese_punctuation(entries):
    for language in ("ja", "en"):
        for key in ("altman-memo", "smith-2024", "google-gemini-3", "xpert-shallotpeat", "doe-2023"):
            assert not JAPANESE_PUNCTUATION.search(entries[language][key].text), (language, key)


def test_japanese_sources_keep_corner_brackets_on_both_pages(entries):
    for language in ("ja", "en"):
        assert "「生成AIの現状と課題」" in entries[language]["yamada-2025"].text


def test_plain_html_has_no_links(entries):
    for language in ("ja", "en"):
        for entry in entries[language].values():
            assert "<a " not in entry.html_plain
    assert entries["en"]["altman-memo"].html_plain.endswith(
        "(Accessed 24 November 2025, archived copy).")


@pytest.mark.parametrize("value, ja, en", [
    ("2025-11-12", "2025年11月12日", "12 November 2025"),
    ("2025-11", "2025年11月", "November 2025"),
    ("2025", "2025年", "2025"),
    ("1984/1986", "1984年–1986年", "1984–1986"),
])
def test_dates(value, ja, en):
    from kakehashi.bibstyle import format_date
    assert format_date(value, "ja") == ja
    assert format_date(value, "en") == en


CJK_NAMES = """\
@book{sato,
  author    = {佐藤, 花子 and 鈴木, 一郎 and {国立情報学研究所}},
  title     = {日本語の本},
  publisher = {出版社},
  year      = {2021},
}
"""


def test_cjk_names_in_native_order_without_comma_or_initials(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    bibliography, problems = load(tmp_path, CJK_NAMES)
    assert problems == []
    ja = formatted(bibliography, "ja")["sato"]
    assert ja.text == "佐藤花子、鈴木一郎、国立情報学研究所『日本語の本』出版社、2021年。"
    en = formatted(bibliography, "en")["sato"]
    assert en.text.startswith("佐藤花子、鈴木一郎、国立情報学研究所『日本語の本』出版社、2021")


EDITIONS = """\
@book{second, author = {Doe, Jane}, title = {Book}, edition = {2}, publisher = {Press}, year = {2009}}
@book{third, title = {Book}, edition = 3, publisher = {Press}, year = {2009}}
@book{eleventh, title = {Book}, edition = {11}, publisher = {Press}, year = {2009}}
@book{twentyfirst, title = {Book}, edition = {21}, publisher = {Press}, year = {2009}}
@book{revised, title = {Book}, edition = {Revised}, publisher = {Press}, year = {2009}}
@book{spelled, title = {Book}, edition = {Second edition}, publisher = {Press}, year = {2009}}
@book{ja-second, author = {山田, 太郎}, title = {本}, edition = {2}, publisher = {出版社}, year = {2009}}
@book{ja-revised, title = {本}, edition = {増補改訂版}, publisher = {出版社}, year = {2009}}
"""


def test_edition_in_the_entry_language_on_both_pages(tmp_path, monkeypatch):
    """`2nd ed.` for English sources, `第2版` for Japanese ones, whatever the page."""
    monkeypatch.chdir(tmp_path)
    bibliography, problems = load(tmp_path, EDITIONS)
    assert problems == []
    for language in ("ja", "en"):
        texts = {key: entry.text for key, entry in formatted(bibliography, language).items()}
        assert texts == {
            "second": "Jane Doe. Book. 2nd ed., Press, 2009.",
            "third": "Book. 3rd ed., Press, 2009.",
            "eleventh": "Book. 11th ed., Press, 2009.",
            "twentyfirst": "Book. 21st ed., Press, 2009.",
            "revised": "Book. Revised ed., Press, 2009.",
            "spelled": "Book. Second edition, Press, 2009.",
            "ja-second": "山田太郎『本』第2版、出版社、2009年。",
            "ja-revised": "『本』増補改訂版、出版社、2009年。",
        }, language


REPORTS = """\
@techreport{rfc3629,
  author      = {Yergeau, F.},
  title       = {{UTF-8}, a transformation format of {ISO} 10646},
  type        = {RFC},
  number      = {3629},
  institution = {Internet Engineering Task Force},
  date        = {2003-11},
  url         = {https://www.rfc-editor.org/rfc/rfc3629},
  urldate     = {2025-11-12},
  doi         = {10.17487/RFC3629},
}

@techreport{plain,
  author      = {Padhye, Jitendra and Towsley, Don},
  title       = {A Stochastic Model of {TCP Reno} Congestion Avoidance and Control},
  number      = {99-02},
  institution = {University of Massachusetts},
  location    = {Amherst, Mass.},
  year        = {1999},
}

@report{research,
  author      = {Chiu, Willy W.},
  title       = {A Hybrid Hierarchical Model},
  type        = {resreport},
  number      = {RC-6947},
  institution = {IBM},
  date        = {1978},
}

@techreport{ja-plain,
  author      = {佐藤, 花子},
  title       = {日本語文書処理の現状},
  number      = {NII-2020-001},
  institution = {国立情報学研究所},
  year        = {2020},
}

@report{ja-typed,
  author      = {佐藤, 花子},
  title       = {日本語の電子メール},
  type        = {RFC},
  number      = {1468},
  institution = {IETF},
  year        = {1993},
}
"""


def test_technical_reports_show_type_number_institution_and_date(tmp_path, monkeypatch):
    """`RFC 3629`, `Technical report 99-02` / `技術報告 NII-2020-001`, then institution, date."""
    monkeypatch.chdir(tmp_path)
    bibliography, problems = load(tmp_path, REPORTS)
    assert problems == []
    same_on_both_pages = {
        "plain": "Jitendra Padhye and Don Towsley. “A Stochastic Model of TCP Reno Congestion "
                 "Avoidance and Control”. Technical report 99-02, University of Massachusetts, "
                 "Amherst, Mass., 1999.",
        "research": "Willy W. Chiu. “A Hybrid Hierarchical Model”. Research report RC-6947, IBM, "
                    "1978.",
        "ja-plain": "佐藤花子「日本語文書処理の現状」技術報告 NII-2020-001、国立情報学研究所、2020年。",
        "ja-typed": "佐藤花子「日本語の電子メール」RFC 1468、IETF、1993年。",
    }
    rfc = ('F. Yergeau. “UTF-8, a transformation format of ISO 10646”. RFC 3629, Internet '
           'Engineering Task Force, November 2003. <a href="https://www.rfc-editor.org/rfc/rfc3629">'
           'https://www.rfc-editor.org/rfc/rfc3629</a> <a href="https://doi.org/10.17487/RFC3629">'
           'doi:10.17487/RFC3629</a> ({open}{accessed}, <a href="https://web.archive.org/web/20251112/'
           'https://www.rfc-editor.org/rfc/rfc3629">{archived}</a>{close}).')
    labels = {"en": ("Accessed 12 November 2025", "archived copy", "", ""),
              "ja": ("閲覧日 2025年11月12日", "アーカイブ", '<span lang="ja">', "</span>")}
    for language, (accessed, archived, opening, closing) in labels.items():
        entries = formatted(bibliography, language)
        assert entries["rfc3629"].html == rfc.format(accessed=accessed, archived=archived,
                                                     open=opening, close=closing)
        assert {key: entries[key].text for key in same_on_both_pages} == same_on_both_pages


def test_editor_abbreviation_takes_no_second_full_stop(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    bibliography, _ = load(tmp_path, "@collection{c, editor = {Preece, Warren E.}, "
                                     "title = {The Encyclopædia}, edition = 15, year = 2003}\n")
    for language in ("ja", "en"):
        assert formatted(bibliography, language)["c"].text == \
            "Warren E. Preece, ed. The Encyclopædia. 15th ed., 2003."


# --- unconfirmed titles and unknown access dates -------------------------------------------------


UNCONFIRMED = """\
@online{slug-title,
  title        = {Will Scaling Laws Hold? 2025 and the},
  organization = {higes (Substack)},
  url          = {https://higes.substack.com/p/will-scaling-laws-hold-2025-and-the},
  verify       = {title},
}

@online{video,
  title        = {[YouTube video 2SIShh55xbU]},
  organization = {YouTube},
  url          = {https://www.youtube.com/watch?v=2SIShh55xbU},
  verify       = {title},
}

@online{post,
  title        = {[Post on X by @kimmonismus]},
  organization = {X (@kimmonismus)},
  date         = {2025-11-21},
  url          = {https://x.com/kimmonismus/status/1991806941350559901},
  verify       = {title},
}

@online{pdf,
  title        = {Letter on Sora 2},
  organization = {Public Citizen},
  url          = {https://www.citizen.org/wp-content/uploads/Sor2_Letter_11.10.25.pdf},
  verify       = {title},
}

@online{ja-page,
  title        = {推測した題名},
  englishtitle = {A guessed title},
  language     = {japanese},
  organization = {note},
  date         = {2025-11-01},
  url          = {https://note.com/daka1/n/n7b0ce77348f4},
  urldate      = {2025-11-12},
  verify       = {title},
}

@book{no-url,
  author       = {Doe, Jane},
  title        = {A Guessed Book Title},
  publisher    = {Example Press},
  year         = {2020},
  verify       = {title},
}
"""


def test_unconfirmed_title_is_shown_as_a_bracketed_description(tmp_path, monkeypatch):
    """`verify = {title}`: what the source is, in the page's language, never the guessed title."""
    monkeypatch.chdir(tmp_path)
    bibliography, problems = load(tmp_path, UNCONFIRMED)
    assert problems == []
    en = {key: entry.html for key, entry in formatted(bibliography, "en").items()}
    ja = {key: entry.html for key, entry in formatted(bibliography, "ja").items()}
    assert en == {
        "slug-title": '[Web page on higes.substack.com]. higes (Substack). <a href="https://higes.'
                      'substack.com/p/will-scaling-laws-hold-2025-and-the">https://higes.substack.com/'
                      'p/will-scaling-laws-hold-2025-and-the</a>.',
        "video": '[Video on youtube.com]. YouTube. <a href="https://www.youtube.com/watch?v=2SIShh55xbU">'
                 'https://www.youtube.com/watch?v=2SIShh55xbU</a>.',
        "post": '[Post on x.com]. X (@kimmonismus), 21 November 2025. <a href="https://x.com/kimmonismus/'
                'status/1991806941350559901">https://x.com/kimmonismus/status/1991806941350559901</a>.',
        "pdf": '[PDF document on citizen.org]. Public Citizen. <a href="https://www.citizen.org/wp-content/'
               'uploads/Sor2_Letter_11.10.25.pdf">https://www.citizen.org/wp-content/uploads/'
               'Sor2_Letter_11.10.25.pdf</a>.',
        "ja-page": '<span lang="en">[Web page on note.com]</span>。note、2025年11月1日。<a href="https://'
                   'note.com/daka1/n/n7b0ce77348f4">https://note.com/daka1/n/n7b0ce77348f4</a>（<span '
                   'lang="en">Accessed 12 November 2025、<a href="https://web.archive.org/web/20251112/'
                   'https://note.com/daka1/n/n7b0ce77348f4">archived copy</a></span>）。',
        "no-url": "Jane Doe. [Title not confirmed]. Example Press, 2020.",
    }
    assert ja == {
        "slug-title": '<span lang="ja">［higes.substack.comのウェブページ］</span>. higes (Substack). <a href="https://higes.'
                      'substack.com/p/will-scaling-laws-hold-2025-and-the">https://higes.substack.com/'
                      'p/will-scaling-laws-hold-2025-and-the</a>.',
        "video": '<span lang="ja">［youtube.comの動画］</span>. YouTube. <a href="https://www.youtube.com/watch?v=2SIShh55xbU">'
                 'https://www.youtube.com/watch?v=2SIShh55xbU</a>.',
        "post": '<span lang="ja">［x.comの投稿］</span>. X (@kimmonismus), 21 November 2025. <a href="https://x.com/kimmonismus/'
                'status/1991806941350559901">https://x.com/kimmonismus/status/1991806941350559901</a>.',
        "pdf": '<span lang="ja">［citizen.orgのPDF文書］</span>. Public Citizen. <a href="https://www.citizen.org/wp-content/'
               'uploads/Sor2_Letter_11.10.25.pdf">https://www.citizen.org/wp-content/uploads/'
               'Sor2_Letter_11.10.25.pdf</a>.',
        "ja-page": '［note.comのウェブページ］note、2025年11月1日。<a href="https://note.com/daka1/n/'
                   'n7b0ce77348f4">https://note.com/daka1/n/n7b0ce77348f4</a>（閲覧日 2025年11月12日、'
                   '<a href="https://web.archive.org/web/20251112/https://note.com/daka1/n/'
                   'n7b0ce77348f4">アーカイブ</a>）。',
        "no-url": 'Jane Doe. <span lang="ja">［題名未確認］</span>. Example Press, 2020.',
    }
    for language in ("ja", "en"):
        for entry in formatted(bibliography, language).values():
            for shown in (entry.html, entry.html_plain, entry.text):
                assert not re.search(r"Will Scaling|YouTube video|kimmonismus\]|Letter on|推測|"
                                     r"guessed|Guessed", shown), shown


UNDATED = """\
@online{undated,
  title        = {Project Shallotpeat},
  organization = {Xpert.Digital},
  url          = {https://xpert.digital/en/project-shallotpeat/},
}

@online{ja-undated,
  author       = {山田, 太郎},
  title        = {生成AIの現状と課題},
  englishtitle = {The State and Challenges of Generative AI},
  language     = {japanese},
  date         = {2025-11-01},
  url          = {https://example.jp/yamada/ai},
}
"""


def test_no_access_note_or_dated_archive_without_urldate(tmp_path, monkeypatch):
    """An access date is never assumed: no urldate, no 閲覧日 / Accessed and no Wayback snapshot."""
    monkeypatch.chdir(tmp_path)
    bibliography, problems = load(tmp_path, UNDATED)
    assert problems == []
    undated = ('“Project Shallotpeat”. Xpert.Digital. <a href="https://xpert.digital/en/project-'
               'shallotpeat/">https://xpert.digital/en/project-shallotpeat/</a>.')
    ja, en = formatted(bibliography, "ja"), formatted(bibliography, "en")
    assert ja["undated"].html == en["undated"].html == undated
    assert ja["ja-undated"].html == (
        '山田太郎「生成AIの現状と課題」2025年11月1日。<a href="https://example.jp/yamada/ai">'
        "https://example.jp/yamada/ai</a>。")
    assert en["ja-undated"].html == (
        '山田太郎「生成AIの現状と課題」 <span lang="en">[The State and Challenges of Generative AI]</span>。2025年11月1日。'
        '<a href="https://example.jp/yamada/ai">https://example.jp/yamada/ai</a>。')
    for entries in (ja, en):
        for entry in entries.values():
            assert not re.search(r"Accessed|閲覧日|archive", entry.html + entry.text), entry.html


def test_percent_sign_in_a_title_is_text_not_a_tex_comment(tmp_path, monkeypatch):
    """`27%` (as web titles write it) and `27\\%` (as TeX does) both keep the rest of the title."""
    monkeypatch.chdir(tmp_path)
    bibliography, problems = load(tmp_path, "@book{bare, title = {Microsoft to Get 27% of "
                                            "OpenAI}}\n@book{escaped, title = {Microsoft to Get "
                                            "27\\% of OpenAI}}\n")
    assert problems == []
    for language in ("ja", "en"):
        entries = formatted(bibliography, language)
        assert entries["bare"].text == entries["escaped"].text == "Microsoft to Get 27% of OpenAI."


def test_flagship_shows_no_access_date_and_no_unconfirmed_title(monkeypatch):
    """Every entry `check` lists as unconfirmed reads as a description; none shows an access date."""
    monkeypatch.chdir(ROOT)
    diag = Diagnostics()
    bibliography = load_bibliography(Path("content/references.bib"), diag)
    assert diag.errors == []
    for language, opening in (("ja", "［"), ("en", "[")):
        for key, entry in formatted(bibliography, language).items():
            fields = bibliography.data.entries[key].fields
            assert "urldate" not in fields, key
            assert not re.search(r"Accessed|閲覧日|web\.archive\.org", entry.html), key
            if "title" in fields.get("verify", "").lower():
                assert fields["title"] not in entry.text, (key, entry.text)
                assert opening in entry.text, (key, entry.text)


# --- hostile fields ----------------------------------------------------------------------------


HOSTILE = """\
@online{evil-title,
  author  = {<b>Bold</b>, Eve},
  title   = {<script>alert(1)</script> and a "quoted" word},
  url     = {https://example.com/" onmouseover="alert(1)},
  urldate = {2025-11-12},
}

@online{evil-url,
  title   = {Harmless},
  url     = {javascript:alert(1)},
  urldate = {2025-11-12},
}

@online{evil-doi,
  title = {DOI},
  doi   = {10.1/x"><script>},
  url   = { JavaScript:alert(2)},
}
"""


def test_hostile_fields_are_escaped_and_unsafe_urls_refused(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    bibliography, problems = load(tmp_path, HOSTILE)
    assert problems == [
        'refs.bib:8: error: entry "evil-url": url scheme "javascript" is not allowed; use an '
        "http:// or https:// address [bib.url-scheme]",
        'refs.bib:14: error: entry "evil-doi": url scheme "JavaScript" is not allowed; use an '
        "http:// or https:// address [bib.url-scheme]",
    ]
    for language in ("ja", "en"):
        entries = formatted(bibliography, language)
        for entry in entries.values():
            for html in (entry.html, entry.html_plain):
                assert "<script" not in html and "<b>" not in html
                assert "javascript:" not in html.lower()
                assert not re.search(r'href="(?!https?://)', html)
                assert not re.search(r'<a [^>]*"\s+on', html)
        title = entries["evil-title"].html
        assert "Eve &lt;b&gt;Bold&lt;/b&gt;" in title
        assert "&lt;script&gt;alert(1)&lt;/script&gt; and a &quot;quoted&quot; word" in title
        assert '<a href="https://example.com/&quot; onmouseover=&quot;alert(1)">' in title
        assert '<a href="https://doi.org/10.1/x%22%3E%3Cscript%3E">doi:10.1/x&quot;&gt;' \
               "&lt;script&gt;</a>" in entries["evil-doi"].html


def test_hostile_title_is_escaped_on_the_built_pages(project, tmp_path):
    bib = REFERENCES_BIB.replace("{Project Shallotpeat}",
                                 '{<script>alert(1)</script> "Shallotpeat"}')
    content = project({"references.bib": bib})
    result = build(BuildOptions(content, tmp_path / "out"))
    assert result.diagnostics.items == []
    for page in ("ja/bibliography/index.html", "en/bibliography/index.html",
                 "ja/gemini/index.html", "en/print/index.html"):
        html = (tmp_path / "out" / page).read_text("utf-8")
        assert "<script>alert(1)</script>" not in html, page
        assert "&lt;script&gt;alert(1)&lt;/script&gt; &quot;Shallotpeat&quot;" in html, page


# --- load diagnostics ----------------------------------------------------------------------------


def test_duplicate_key_names_both_lines(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    _, problems = load(tmp_path, "@book{smith,\n  title = {A},\n}\n\n@book{smith,\n  title = {B},\n}\n")
    assert problems == [
        'refs.bib:5:1: error: duplicate key "smith": "smith" is already defined on line 1 (keys '
        "ignore case); rename one [bib.duplicate-key]",
    ]


def test_duplicate_key_differing_only_in_case(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    bibliography, problems = load(
        tmp_path, "@book{first, title = {F}}\n\n@book{Smith2020,\n  title = {A},\n}\n"
                  "@book{smith2020,\n  title = {B},\n}\n")
    assert problems == [
        'refs.bib:6:1: error: duplicate key "smith2020": "Smith2020" is already defined on line '
        "3 (keys ignore case); rename one [bib.duplicate-key]",
    ]


def test_syntax_error_at_its_line(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    _, problems = load(tmp_path, "@book{ok,\n  title = {Fine},\n}\n\n@book{broken,\n"
                                 "  title = {Fine}\n  year = {2020},\n}\n")
    assert problems == ["refs.bib:7: error: BibTeX syntax error: '}' expected [bib.syntax]"]


def test_undefined_string_macro(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    _, problems = load(tmp_path, "@string{jams = {J. Am. Math. Soc.}}\n\n@article{a,\n"
                                 "  title = {T},\n  journal = jams,\n  publisher = nosuch,\n}\n")
    assert len(problems) == 1
    assert problems[0].startswith("refs.bib:6: error: ")
    assert "nosuch" in problems[0]
    assert problems[0].endswith("; define it with @string{name = {…}} or brace the value "
                                "[bib.undefined-macro]")


def test_missing_title_warns_and_renders_what_it_has(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    bibliography, problems = load(tmp_path, "@misc{notitle,\n  author = {Doe, Jane},\n"
                                            "  year = {2020},\n}\n")
    assert problems == ['refs.bib:1: warning: entry "notitle" has no title; it renders with what '
                        "it has [bib.missing-field]"]
    assert formatted(bibliography, "en")["notitle"].text == "Jane Doe. 2020."
    assert formatted(bibliography, "ja")["notitle"].text == "Jane Doe. 2020."


def test_missing_crossref_warns(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    bibliography, problems = load(tmp_path, "@book{a, title = {A}}\n\n@incollection{b,\n"
                                            "  title = {B},\n  crossref = {nowhere},\n}\n")
    assert problems == ['refs.bib:3: warning: entry "b": crossref "nowhere" does not exist; the '
                        "entry renders without it [bib.missing-crossref]"]
    assert formatted(bibliography, "en")["b"].text == "“B”."


def test_japanese_name_without_comma_warns(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    _, problems = load(tmp_path, "@book{ok, title = {A}}\n\n@book{nocomma,\n"
                                 "  author = {山田 太郎},\n  title = {本},\n}\n")
    assert len(problems) == 1, problems
    assert problems[0].startswith('refs.bib:3: warning: entry "nocomma": author "山田 太郎" has no '
                                  "comma")
    assert problems[0].endswith("[bib.cjk-name-order]")


def test_missing_bibliography_file(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    diag = Diagnostics()
    assert load_bibliography(tmp_path / "nope.bib", diag) is None
    assert [d.format() for d in diag.items] == [
        "nope.bib: error: the bibliography file is missing; create it or set bibliography_file "
        "in site.toml [bib.missing]"]


# --- third-party bibliographies ------------------------------------------------------------------


@pytest.fixture(scope="module")
def third_party():
    loaded = {}
    for name in ("biblatex-examples.bib", "japanese.bib"):
        diag = Diagnostics()
        bibliography = load_bibliography(TESTDATA / name, diag)
        assert bibliography is not None, name
        assert diag.errors == [], [d.format() for d in diag.errors]
        loaded[name] = (bibliography, {lang: formatted(bibliography, lang) for lang in ("ja", "en")})
    return loaded


@pytest.mark.parametrize("name, count", [("biblatex-examples.bib", 90), ("japanese.bib", 32)])
def test_third_party_bibliography_formats_every_entry(third_party, name, count):
    bibliography, by_language = third_party[name]
    assert len(bibliography.keys) == count
    for language, entries in by_language.items():
        assert sorted(entries) == sorted(bibliography.keys)
        for key, entry in entries.items():
            assert entry.text.strip(), (language, key)
            assert not re.search(r"[\\{}]", entry.text), (language, key, entry.text)
            assert "\\" not in entry.html, (language, key, entry.html)


def test_doi_with_angle_brackets_is_escaped_and_percent_encoded(third_party):
    _, by_language = third_party["biblatex-examples.bib"]
    for language in ("ja", "en"):
        html = by_language[language]["sigfridsson"].html
        assert ('<a href="https://doi.org/10.1002/(SICI)1096-987X(199803)19:4%3C377::AID-JCC1%3E'
                '3.0.CO;2-P">doi:10.1002/(SICI)1096-987X(199803)19:4&lt;377::AID-JCC1&gt;3.0.CO;2-P'
                "</a>") in html
        assert "<377" not in html


def test_japanese_bib_entries(third_party):
    _, by_language = third_party["japanese.bib"]
    assert by_language["ja"]["塚原:ながれ2023"].text.startswith("塚原隆裕「私の「ながれを学ぶ」使命感」")
    for language in ("ja", "en"):
        assert "LaTeX2ε" in " ".join(e.text for e in by_language[language].values())


def test_biblatex_examples_reports_and_editions(third_party):
    _, by_language = third_party["biblatex-examples.bib"]
    for language in ("ja", "en"):
        entries = by_language[language]
        assert entries["padhye"].text == (
            "Jitendra Padhye, Victor Firoiu, and Don Towsley. “A Stochastic Model of TCP Reno "
            "Congestion Avoidance and Control”. Technical report 99-02, University of "
            "Massachusetts, Amherst, Mass., 1999.")
        assert entries["chiu"].text.endswith("”. Research report RC-6947, IBM, 1978.")
        assert entries["cotton"].text.endswith(". 6th ed., Wiley, Chichester, 1999.")
        assert not any(" edn" in entry.text or ".." in entry.text for entry in entries.values())


def test_online_entry_without_url_is_a_warning(tmp_path, monkeypatch):
    """An @online source that readers cannot open is reported; @book without url is fine."""
    monkeypatch.chdir(tmp_path)
    _, problems = load(tmp_path, "@online{page, title = {A page}}\n\n@book{book, title = {A book}}\n"
                                 "\n@online{doi-only, title = {An article}, doi = {10.1000/1}}\n")
    assert problems == ['refs.bib:1: warning: entry "page" is @online but has no url, so readers '
                        "cannot find the page; add url = {https://…} [bib.missing-field]"]


# --- the author-date style -------------------------------------------------------------------

AUTHOR_DATE_BIB = """\
@book{becker-1984, author = {Becker, Howard S.}, title = {Art Worlds}, publisher = {University of
  California Press}, location = {Berkeley}, year = {1984}}
@article{becker-1984b, author = {Becker, Howard S.}, title = {A Second Look}, journal = {Sociology},
  volume = {3}, year = {1984}}
@online{yamada-2025, author = {山田, 太郎 and 佐藤, 花子}, title = {生成AIの現状}, date = {2025-11-01},
  url = {https://example.jp/ai}}
@online{undated, title = {Project Shallotpeat}, organization = {Xpert.Digital},
  url = {https://xpert.digital/shallotpeat/}}
@book{many, author = {Smith, Jane and Doe, John and Roe, Richard}, title = {Scaling}, year = {2020},
  sortkey = {aaa}}
"""


def author_date_entries(tmp_path, language: str) -> dict:
    from kakehashi.bibstyle import sort_key
    bibliography, problems = load(tmp_path, AUTHOR_DATE_BIB)
    assert problems == []
    keys = sorted(bibliography.keys, key=lambda key: sort_key(bibliography.data.entries[key]))
    numbers = {key: n for n, key in enumerate(keys, start=1)}
    return format_bibliography(bibliography, numbers, language, "author-date")


def test_author_date_order_and_year_suffixes(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    entries = author_date_entries(tmp_path, "en")
    ordered = sorted(entries.values(), key=lambda entry: entry.number)
    assert [(entry.key, entry.names, entry.year) for entry in ordered] == [
        ("many", "Smith et al.", "2020"),  # sortkey = {aaa} puts it first
        ("becker-1984b", "Becker", "1984a"),  # "A Second Look" before "Art Worlds"
        ("becker-1984", "Becker", "1984b"),
        ("undated", "Xpert.Digital", "n.d."),
        ("yamada-2025", "山田・佐藤", "2025"),
    ]


def test_author_date_entries_exact_html(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    en = author_date_entries(tmp_path, "en")
    ja = author_date_entries(tmp_path, "ja")
    assert en["becker-1984"].html == ("Becker, Howard S. 1984b. <em>Art Worlds</em>. University of "
                                      "California Press, Berkeley, 1984.")
    assert en["undated"].html == ('Xpert.Digital. n.d. “Project Shallotpeat”. Xpert.Digital. '
                                  '<a href="https://xpert.digital/shallotpeat/">https://xpert.digital/shallotpeat/</a>.')
    assert ja["undated"].html.startswith('Xpert.Digital. <span lang="ja">刊行年不明</span>. “Project Shallotpeat”.')
    assert ja["undated"].year == "刊行年不明"
    assert ja["yamada-2025"].html == ('山田太郎、佐藤花子（2025）「生成AIの現状」2025年11月1日。'
                                      '<a href="https://example.jp/ai">https://example.jp/ai</a>。')
    assert en["yamada-2025"].html.startswith("山田太郎、佐藤花子（2025）「生成AIの現状」")


def test_numeric_entries_are_unchanged_by_the_author_date_code(entries):
    """The numeric style keeps authors given-name first and the year at the end."""
    assert entries["en"]["smith-2024"].html.startswith("Jane Smith and John Doe. “Scaling Laws")
