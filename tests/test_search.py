"""The search index: the tokenizer, the passages taken from a section's HTML, the files."""

from __future__ import annotations

import json

from kakehashi.markdown_ext import RenderedSection
from kakehashi.search import (BODY, HEADING, LAYER_BITS, SOURCE, TITLE, Passage, make_doc,
                              section_passages, write_index)
from kakehashi.search_tokens import normalise, shard_of, stem, tokenize
from kakehashi.site import BuildCache, BuildOptions, build


def texts(text: str) -> list[tuple[str, int]]:
    return [(token.text, token.position) for token in tokenize(text) if not token.joined]


def test_japanese_runs_are_bigrams_with_the_last_character_alone():
    assert texts("事前学習") == [("事前", 0), ("前学", 1), ("学習", 2), ("習", 3)]
    assert texts("赤字") == [("赤字", 0), ("字", 1)]
    assert texts("株") == [("株", 0)]


def test_the_middle_dot_spaces_and_punctuation_split_runs_but_positions_go_on():
    assert texts("デミス・ハサビス氏") == [("デミ", 0), ("ミス", 1), ("ス", 2), ("ハサ", 3), ("サビ", 4),
                                      ("ビス", 5), ("ス氏", 6), ("氏", 7)]
    assert texts("「赤字」。") == texts("赤字")


def test_the_long_vowel_mark_belongs_to_the_katakana_word():
    assert texts("フロー")[-2:] == [("ロー", 1), ("ー", 2)]


def test_width_and_case_are_folded():
    assert normalise("ｷｬｯｼｭﾌﾛｰ") == "キャッシュフロー"
    assert normalise("ｶﾞｲﾄﾞ") == "ガイド"
    assert tokenize("ＳＷＥ－ｂｅｎｃｈ") == tokenize("SWE-bench") == tokenize("swe-bench")


def test_latin_inside_japanese_text_is_words():
    assert texts("Gemini 3の成功") == [("gemini", 0), ("3", 1), ("の成", 2), ("成功", 3), ("功", 4)]
    assert texts("「The Information」が") == [("the", 0), ("information", 1), ("が", 2)]


def test_a_hyphenated_word_is_split_and_also_joined():
    tokens = tokenize("SWE-bench Verified")
    assert [(t.text, t.position, t.joined) for t in tokens] == [
        ("swe", 0, False), ("bench", 1, False), ("swebench", 0, True), ("verified", 2, False)]


def test_possessives_and_apostrophes():
    assert texts("Google's models") == [("google", 0), ("model", 1)]
    assert texts("OpenAI’s") == [("openai", 0)]
    assert texts("don't") == [("dont", 0)]


def test_light_plural_stemming():
    pairs = {"bubbles": "bubble", "companies": "company", "boxes": "box", "churches": "church",
             "classes": "class", "barriers": "barrier", "centres": "centre", "analysis": "analysis",
             "bus": "bus", "class": "class", "its": "its", "data": "data"}
    assert {word: stem(word) for word in pairs} == pairs


def test_shards_keep_a_characters_bigrams_and_a_words_prefix_together():
    for shards in (1, 7, 64):
        assert shard_of("事前", shards) == shard_of("事", shards) == shard_of("事業", shards)
        assert shard_of("hassabis", shards) == shard_of("ha", shards)
        assert 0 <= shard_of("学習", shards) < shards


SECTION_HTML = (
    '<h2 id="背景">背景<a class="anchor" href="#背景" title="リンク">#</a></h2>\n'
    '<p>OpenAIは赤字である。<sup class="cite" id="cite-1">[<a href="../bibliography/#ref-a">1</a>]'
    '<span class="cite-pop" role="tooltip"><span class="cite-pop-item">“A source title”. '
    'Fortune.</span></span></sup>注記。<sup id="fnref:n"><a class="footnote-ref" href="#fn:n">注1'
    '</a></sup></p>\n'
    '<ul>\n<li>一つ目</li>\n<li>二つ目</li>\n</ul>\n'
    '<div class="table-wrap"><table><tr><th>年</th><th>額</th></tr><tr><td>2025</td><td>80億</td>'
    '</tr></table></div>\n'
    '<div class="footnote">\n<hr>\n<ol>\n<li id="fn:n">\n<p>脚注の本文。<a class="footnote-backref" '
    'href="#fnref:n">↩</a></p>\n</li>\n</ol>\n</div>'
)


def test_passages_are_the_title_headings_and_blocks_without_citations_or_links():
    rendered = RenderedSection(section=None, html=SECTION_HTML, toc=(), sites=())
    assert section_passages("財務", rendered) == (
        Passage("", TITLE, "財務"),
        Passage("背景", HEADING, "背景"),
        Passage("背景", BODY, "OpenAIは赤字である。注記。"),
        Passage("背景", BODY, "一つ目"),
        Passage("背景", BODY, "二つ目"),
        Passage("背景", BODY, "年 額"),
        Passage("背景", BODY, "2025 80億"),
        Passage("fn:n", BODY, "脚注の本文。"),
    )


def test_the_index_files_hold_each_token_in_its_shard():
    doc = make_doc("財務", "/ja/finances/", (Passage("", TITLE, "財務"), Passage("x", HEADING, "赤字"),
                                            Passage("x", BODY, "巨額の赤字。SWE-bench"),
                                            Passage("x", BODY, "赤字")))
    source = make_doc("[1] Fortune", "/ja/bibliography/#ref-a",
                      (Passage("ref-a", SOURCE, "“OpenAI 赤字”. Fortune."),))
    files = write_index("ja", [doc], [source])
    manifest = json.loads(files["ja/search/data/manifest.json"])
    assert manifest == {"version": 2, "shards": 1, "split": {}, "sections": 1, "sources": 1,
                        "sourceChunk": 32}
    shard = json.loads(files["ja/search/data/t0.json"])
    heading, text = 1 << LAYER_BITS, 0  # the layers' first positions
    # "doc:positions": in the heading, then in the text (巨額 額の の赤 赤字), then after a gap
    assert shard["赤字"] == f"0:{heading},{text + 3},{text + 8};1:1"  # documents 0 and 1
    assert shard["財務"] == f"0:{2 << LAYER_BITS}"
    assert shard["swebench"] == f"0:{text + 5}"
    assert shard["fortune"] == "1:3"
    assert json.loads(files["ja/search/data/s0.json"]) == {
        "title": "財務", "url": "/ja/finances/",
        "passages": [["", TITLE, "財務", 2 << LAYER_BITS], ["x", HEADING, "赤字", heading],
                     ["x", BODY, "巨額の赤字。SWE-bench", 0], ["x", BODY, "赤字", 8]]}
    assert json.loads(files["ja/search/data/b0.json"])[0]["url"] == "/ja/bibliography/#ref-a"


def test_the_sources_are_indexed_without_their_urls(project, tmp_path):
    result = build(BuildOptions(project(), tmp_path / "out"), write=False)
    sources = json.loads(result.files["en/search/data/b0.json"])
    assert sources and all("http" not in text for source in sources
                           for _, _, text, _ in source["passages"])
    assert all(source["url"].startswith("/en/bibliography/#ref-") for source in sources)


def test_serve_reuses_the_index_and_it_equals_a_fresh_one(project, tmp_path):
    content = project()
    cache = BuildCache()
    first = build(BuildOptions(content, tmp_path / "a"), write=False, cache=cache)
    again = build(BuildOptions(content, tmp_path / "a"), write=False, cache=cache)
    fresh = build(BuildOptions(content, tmp_path / "b"), write=False)
    search = {name: data for name, data in first.files.items() if "/search/data/" in name}
    assert search
    assert {name: again.files[name] for name in search} == search
    assert {name: fresh.files[name] for name in search} == search
    assert len(cache.store["search"]) == 2  # one value per language, kept by serve's memory
