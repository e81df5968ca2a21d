"""Search in a real browser: the flagship site under its sub-path, Japanese and English queries.

The flagship is built once and served by http.server on 127.0.0.1 under the base URL's
path (`/kakehashi/`), as in test_browser.py; Debian's Chromium is driven by Playwright (see
conftest.py for the skip/fail policy). The JavaScript tokenizer is checked against the
Python one here too, on the flagship's whole text.
"""

from __future__ import annotations

import json
import random
import re
import tomllib
import urllib.parse
from pathlib import Path

import pytest

from conftest import ROOT, run_build, serve_folder, write_project
from kakehashi.search import SHARD_LIMIT
from kakehashi.search_tokens import tokenize

FLAGSHIP = ROOT / "content"
SEARCH_BUDGET = 300_000  # bytes of search files one query may load on the flagship
# (language, query, the section the first result must be, the heading it must link to or None)
QUERIES = [
    ("ja", "事前学習", "gemini-3", "事前学習の再評価とopenaiの戦略的誤算"),
    ("ja", "参入障壁", "ai-bubble", None),
    ("ja", "キャッシュフロー", "finances", "黒字化への道筋と実現可能性"),
    ("ja", "フリーキャッシュフローマージン", "finances", "黒字化への道筋と実現可能性"),
    ("ja", "赤字", "finances", "巨額の赤字と持続不可能な支出構造"),
    ("ja", "デミス・ハサビス", "gemini-3", None),
    ("ja", "ハサビス", "gemini-3", None),
    ("ja", "Gemini 3", "gemini-3", None),
    ("ja", "SWE-bench", "anthropic", None),
    ("ja", "The Information", "memo-leak", "一次情報源の特定"),
    ("ja", "ｷｬｯｼｭﾌﾛｰ", "finances", None),  # half-width katakana
    ("ja", "ＳＷＥ－ｂｅｎｃｈ", "anthropic", None),  # full-width Latin
    ("ja", "計算資源", "scaling-limits", None),
    ("ja", "スケーリング則", "scaling-limits", None),
    ("ja", "則", "scaling-limits", None),  # one character
    ("en", "pre-training", "gemini-3", None),
    ("en", "pretraining", "gemini-3", None),
    ("en", "barriers to entry", "ai-bubble", None),
    ("en", "barrier to entry", "ai-bubble", None),  # singular finds the plural
    ("en", "free cash flow", "finances", "the-path-to-profitability-and-its-feasibility"),
    ("en", "SWE-bench", "anthropic", None),
    ("en", "swe bench", "anthropic", None),
    ("en", "swebench", "anthropic", None),
    ("en", "Demis Hassabis", "gemini-3", None),
    ("en", "Hassabis", "gemini-3", None),
    ("en", "bubbles", "ai-bubble", None),  # the plural finds the singular
    ("en", "The Information", "memo-leak", "identifying-the-primary-source"),
    ("en", "hassa", "gemini-3", None),  # a word as it is being typed
]
# Strings on which the two tokenizers must agree, besides the flagship's text.
AGREEMENT = ["事前学習の再評価", "デミス・ハサビスCEO", "ｷｬｯｼｭﾌﾛｰ", "ｶﾞｲﾄﾞﾗｲﾝ", "ＳＷＥ－ｂｅｎｃｈ",
             "Google's models don't", "OpenAI’s", "1,150億ドル ($115 billion)", "GPT-5.1",
             "㍿と①", "e\u0301cole", "𠮷野家の々", "Crème brûlée — naïve", "ＡＢＣ　ｄｅｆ",
             "companies boxes classes bus", "x-'s", "'s", "a--b", "テスト-test"]


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> str:
    """The flagship site, built once and served on 127.0.0.1 under its sub-path; its root URL."""
    config = tomllib.loads((FLAGSHIP / "site.toml").read_text("utf-8"))
    base_path = urllib.parse.urlsplit(config["base_url"]).path or "/"
    assert base_path != "/"  # the point: a /REPO/ sub-path
    root = tmp_path_factory.mktemp("search")
    code, _, stderr = run_build(FLAGSHIP, root / base_path.strip("/"))
    assert code == 0, stderr
    with serve_folder(root) as origin:
        yield f"{origin}{base_path}"


@pytest.fixture
def page(browser):
    """A fresh page in its own context."""
    context = browser.new_context()
    yield context.new_page()
    context.close()


def search(page, site: str, lang: str, query: str) -> list[str]:
    """Open LANG/search/?q=QUERY and wait for its results; their links, decoded."""
    page.goto(f"{site}{lang}/search/?q={urllib.parse.quote(query)}")
    return results(page)


def results(page) -> list[str]:
    """The links of the results shown, once the status says how many there are."""
    page.wait_for_function("() => document.querySelector('[data-search-status]').textContent")
    return [urllib.parse.unquote(link) for link in page.locator(
        "[data-search-results] > li > a").evaluate_all("links => links.map(a => a.href)")]


@pytest.mark.parametrize("lang, query, slug, heading", QUERIES)
def test_the_expected_section_comes_first(page, site, lang, query, slug, heading):
    links = search(page, site, lang, query)
    assert links, query
    expected = f"{site}{lang}/{slug}/"
    assert links[0].split("#")[0] == expected, (query, links[:3])
    if heading:
        assert links[0] == f"{expected}#{heading}", (query, links[0])
    first = page.locator("[data-search-results] > li").first
    assert first.locator("mark").count() >= 1  # the match is marked in the snippet


def test_a_compound_does_not_match_its_parts_apart(page, site):
    # 計算資源 must stand together: two-readings, which has 資源 without 計算 before it, is not found.
    links = search(page, site, "ja", "計算資源")
    assert [link.split("#")[0] for link in links] == [f"{site}ja/scaling-limits/"]


def test_sources_are_found_and_link_to_their_entry(page, site):
    for lang in ("ja", "en"):
        links = search(page, site, lang, "stunning annual losses")
        assert links[0] == f"{site}{lang}/bibliography/#ref-fortune-2025-openai-cash-burn"
        page.locator("[data-search-results] > li > a").first.click()
        page.wait_for_url(f"{site}{lang}/bibliography/**")
        assert page.evaluate("location.hash") == "#ref-fortune-2025-openai-cash-burn"


def test_results_are_in_the_page_language_with_the_same_search_in_the_other(page, site):
    search(page, site, "en", "SWE-bench")
    status = page.locator("[data-search-status]")
    assert re.fullmatch(r"\d+ results\.", status.inner_text())
    assert status.get_attribute("aria-live") == "polite"
    assert status.get_attribute("role") == "status"
    other = page.locator("[data-search-other]")
    assert urllib.parse.unquote_plus(other.get_attribute("href")).endswith("/ja/search/?q=SWE-bench")
    switch = page.locator(".language-switch a").first
    assert urllib.parse.unquote_plus(switch.get_attribute("href")).endswith("/ja/search/?q=SWE-bench")
    other.click()
    page.wait_for_url(f"{site}ja/search/?q=SWE-bench")
    assert results(page)[0].startswith(f"{site}ja/anthropic/")
    assert re.fullmatch(r"\d+ 件見つかりました。", status.inner_text())
    assert page.locator("html").get_attribute("lang") == "ja"


def test_the_results_follow_the_typing_and_the_address_keeps_the_query(page, site):
    page.goto(f"{site}ja/search/")
    assert page.locator("[data-search-status]").inner_text() == "調べたい語を入力してください。"
    box = page.locator("#search-q")
    box.focus()
    page.keyboard.type("ハサビス")
    page.wait_for_function("() => location.search.includes('q=')")
    page.wait_for_function("() => document.querySelectorAll('[data-search-results] li').length")
    assert results(page)[0].startswith(f"{site}ja/gemini-3/")
    assert urllib.parse.unquote_plus(page.evaluate("location.search")) == "?q=ハサビス"
    box.fill("存在しない語句ですよ")
    page.wait_for_function("() => !document.querySelectorAll('[data-search-results] li').length")
    assert "見つかりませんでした" in page.locator("[data-search-status]").inner_text()


def test_the_header_box_leads_to_the_search_page(page, site):
    page.goto(f"{site}en/memo-leak/")
    page.get_by_role("search").get_by_label("Search the report").fill("Hassabis")
    page.keyboard.press("Enter")
    page.wait_for_url(f"{site}en/search/?q=Hassabis")
    assert results(page)[0].startswith(f"{site}en/gemini-3/")
    link = page.locator("[data-search-results] a").first
    for _ in range(80):  # the results are reached with the keyboard (after the navigation)
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.href") == link.evaluate("a => a.href"):
            break
    else:
        pytest.fail("the first result is not reachable with Tab")
    page.keyboard.press("Enter")
    page.wait_for_url(f"{site}en/gemini-3/**")


def test_without_javascript_the_box_still_leads_somewhere(browser, site):
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    try:
        page.goto(f"{site}ja/memo-leak/")
        page.locator("#site-search-q").fill("赤字")
        page.keyboard.press("Enter")
        page.wait_for_url(f"{site}ja/search/?q=*")
        message = page.locator("[data-search-no-script]")
        assert message.is_visible()
        assert message.locator("a").get_attribute("href") == "../print/"
    finally:
        context.close()


def test_one_query_loads_little(page, site):
    loaded: list[int] = []
    page.on("response", lambda response: loaded.append(len(response.body()))
            if "/search/data/" in response.url else None)
    for query in ("The Information", "事前学習 スケーリング"):
        loaded.clear()
        search(page, site, "ja", query)
        assert 0 < sum(loaded) <= SEARCH_BUDGET, (query, sum(loaded))


def test_the_javascript_tokenizer_agrees_with_the_python_one(page, site):
    page.goto(f"{site}ja/search/")
    texts = list(AGREEMENT)
    out = Path(page.evaluate("location.pathname"))  # the passages the index was made of
    for lang in ("ja", "en"):
        manifest = json.loads(fetch(page, f"{site}{lang}/search/data/manifest.json"))
        for number in range(manifest["sections"]):
            record = json.loads(fetch(page, f"{site}{lang}/search/data/s{number}.json"))
            texts += [text for _, _, text, _ in record["passages"]]
    assert out and len(texts) > 300
    from_js = page.evaluate("""texts => texts.map(text => KakehashiSearch.tokenize(text)
        .map(t => [t.text, t.position, t.joined]))""", texts)
    from_python = [[[t.text, t.position, t.joined] for t in tokenize(text)] for text in texts]
    for text, js, python in zip(texts, from_js, from_python):
        assert js == python, text


def fetch(page, url: str) -> str:
    """A file of the site, fetched by the page."""
    return page.evaluate("url => fetch(url).then(r => r.text())", url)


def generated_sections(count: int) -> dict[str, str]:
    """A report larger than the flagship, where の starts thousands of pairs; one section's
    title, 猫の手帖, is the only one with の (or 猫) in it."""
    rng = random.Random(13)
    words = ["事前学習", "計算資源", "赤字", "市場", "規模", "推論", "費用", "収益", "競争", "戦略",
             "モデル", "データ", "スケーリング", "投資", "成長", "電力", "評価", "研究", "製品", "顧客"]
    files = {}
    for number in range(1, count + 1):
        title = "猫の手帖" if number == count // 2 else f"第{number}節"
        paragraphs = ["".join(f"{rng.choice(words)}の{rng.choice(words)}は{rng.choice(words)}である。"
                              for _ in range(12)) for _ in range(12)]
        files[f"sections/{number + 10:03d}-g{number}.ja.md"] = (
            f'---\ntitle: "{title}"\n---\n\n## 概要{number}\n\n' + "\n\n".join(paragraphs) + "\n")
        files[f"sections/{number + 10:03d}-g{number}.en.md"] = (
            f'---\ntitle: "Part {number}"\n---\n\nThe text of part {number}.\n')
    return files


@pytest.fixture(scope="module")
def generated_site(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Path]:
    """The generated report (120 sections), built and served at the root; its URL and folder."""
    folder = tmp_path_factory.mktemp("generated")
    content = write_project(folder / "content", generated_sections(120))
    code, _, stderr = run_build(content, folder / "out")
    assert code == 0, stderr
    with serve_folder(folder / "out") as origin:
        yield f"{origin}/", folder / "out"


def test_no_postings_file_grows_past_the_limit(generated_site):
    _, out = generated_site
    data = out / "ja" / "search" / "data"
    manifest = json.loads((data / "manifest.json").read_text("utf-8"))
    assert "の" in manifest["split"]  # its pairs would have made one shard of hundreds of KB
    postings = [path for path in data.iterdir() if path.name[0] in "tr"]
    assert sum(path.stat().st_size for path in postings) > 10 * SHARD_LIMIT
    assert all(path.stat().st_size <= SHARD_LIMIT for path in postings)


@pytest.mark.parametrize("query", ["の", "猫の手帖", "猫", "の手", "手帖 の"])
def test_a_very_common_character_is_found_within_the_budget(page, generated_site, query):
    site, _ = generated_site
    loaded: list[int] = []
    page.on("response", lambda response: loaded.append(len(response.body()))
            if "/search/data/" in response.url else None)
    links = search(page, site, "ja", query)
    assert links and links[0].split("#")[0] == f"{site}ja/g60/", (query, links[:3])
    assert 0 < sum(loaded) <= SEARCH_BUDGET, (query, sum(loaded))


@pytest.mark.parametrize("query", ["事前学習 スケーリング", "計算資源", "赤字の市場", "モデル"])
def test_a_query_of_a_larger_report_loads_little(page, generated_site, query):
    site, _ = generated_site
    loaded: list[int] = []
    page.on("response", lambda response: loaded.append(len(response.body()))
            if "/search/data/" in response.url else None)
    assert search(page, site, "ja", query), query
    assert 0 < sum(loaded) <= SEARCH_BUDGET, (query, sum(loaded))
