"""Synthetic corpus generator for the benchmark: a report of any size, in ja and en.

Writes a content folder with `sections` sections per language, each of `paragraphs`
paragraphs citing sources from a .bib of `sources` entries (Japanese and English ones).
Deterministic: the same arguments give the same files.
"""

from __future__ import annotations

import random
from pathlib import Path

SITE_TOML = """default_language = "ja"
base_url = "https://example.github.io/bench/"

[languages.ja]
title = "ベンチマーク用の合成レポート"
description = "Kakehashiの速度と記憶量を測るための合成コンテンツ。"

[languages.en]
title = "A synthetic report for benchmarking"
description = "Synthetic content for measuring Kakehashi's speed and memory."
"""
JA_SENTENCE = "生成AIの市場は{n}年に急拡大し、主要企業の売上高は前年比{p}%増の{m}億ドルに達した。"
EN_SENTENCE = "The generative AI market expanded rapidly in {n}, and leading companies' revenue rose {p}% to ${b} billion."


def write_corpus(folder: Path, sections: int = 100, paragraphs: int = 12, sources: int = 500,
                 seed: int = 7) -> Path:
    """Write the corpus into `folder` (created) and return it."""
    rng = random.Random(seed)
    (folder / "sections").mkdir(parents=True, exist_ok=True)
    (folder / "site.toml").write_text(SITE_TOML, encoding="utf-8")
    entries = []
    for number in range(1, sources + 1):
        if number % 3 == 0:
            entries.append(f"@online{{src{number},\n  title = {{生成AIに関する報告 第{number}号}},\n"
                           f"  englishtitle = {{Report on generative AI, no. {number}}},\n"
                           f"  author = {{山田, 太郎 and 佐藤, 花子}},\n  organization = {{日本経済新聞}},\n"
                           f"  language = {{japanese}},\n  date = {{2025-{number % 12 + 1:02d}-15}},\n"
                           f"  url = {{https://example.jp/articles/{number}}},\n  urldate = {{2025-11-24}},\n}}\n")
        else:
            entries.append(f"@article{{src{number},\n  title = {{Scaling laws and their limits, part {number}}},\n"
                           f"  author = {{Smith, Jane and Doe, John}},\n  journal = {{Journal of AI Studies}},\n"
                           f"  volume = {{{number % 40}}},\n  pages = {{{number}--{number + 12}}},\n"
                           f"  year = {{2025}},\n  url = {{https://example.org/papers/{number}}},\n"
                           f"  urldate = {{2025-11-24}},\n}}\n")
    (folder / "references.bib").write_text("\n".join(entries), encoding="utf-8")
    for index in range(1, sections + 1):
        body = {"ja": [], "en": []}
        for paragraph in range(paragraphs):
            if paragraph % 4 == 0:
                body["ja"].append(f"## 小見出し{paragraph // 4 + 1}")
                body["en"].append(f"## Subheading {paragraph // 4 + 1}")
            cited = "".join(f"[^src{rng.randint(1, sources)}]" for _ in range(rng.randint(1, 3)))
            values = {"n": 2020 + paragraph % 6, "p": rng.randint(1, 90), "m": 10 * rng.randint(1, 99)}
            body["ja"].append(JA_SENTENCE.format(**values) * 3 + cited)
            body["en"].append(EN_SENTENCE.format(b=values["m"] / 10, **values) * 3 + cited)
        for code, title in (("ja", f"第{index}節"), ("en", f"Section {index}")):
            text = f"---\ntitle: \"{title}\"\n---\n\n" + "\n\n".join(body[code]) + "\n"
            (folder / "sections" / f"{index:03d}-part-{index}.{code}.md").write_text(text, encoding="utf-8")
    return folder
