"""Synthetic corpus for the benchmark: a bilingual report of any size, as a content folder.

`write_corpus(folder, sections, sources)` writes site.toml, references.bib (40 % of the
sources Japanese, the rest English) and `sections` sections in ja and en, each about 4 KB
of text with about 8 citations ([^key], now and then two side by side). Deterministic: the
same arguments give the same files. `SCALES` names the two sizes the targets are set for.
"""

from __future__ import annotations

import random
from pathlib import Path

SCALES = {"seed": (12, 96), "large": (1000, 2000)}  # sections, sources
PARAGRAPHS = 8  # per section; each cites once (a group of two, one time in four)
SITE_TOML = """default_language = "ja"
base_url = "https://example.github.io/bench/"

[languages.ja]
title = "ベンチマーク用の合成レポート"
description = "Kakehashiの速度と記憶量を測るための合成コンテンツ。"

[languages.en]
title = "A synthetic report for benchmarking"
description = "Synthetic content for measuring Kakehashi's speed and memory."
"""
JA_SENTENCES = (
    "生成AIの市場は{n}年に急拡大し、主要企業の売上高は前年比{p}%増の{m}億ドルに達した。",
    "各社は計算資源への投資を続けており、データセンターの電力需要は{p}%増えると見込まれる。",
    "研究者の間では、規模の拡大だけで性能が上がり続けるかについて意見が分かれている。",
)
EN_SENTENCES = (
    "The generative AI market expanded rapidly in {n}, and leading companies' revenue rose "
    "{p}% to ${b} billion.",
    "Companies keep investing in compute, and data-centre power demand is expected to grow "
    "by {p}%.",
    "Researchers disagree on whether scale alone will keep improving performance.",
)


def bib_entry(number: int) -> str:
    """One source: a Japanese news article (2 in 5) or an English journal article."""
    if number % 5 < 2:
        return (f"@online{{src{number},\n  title = {{生成AIに関する報告 第{number}号}},\n"
                f"  englishtitle = {{Report on generative AI, no. {number}}},\n"
                f"  author = {{山田, 太郎 and 佐藤, 花子}},\n  organization = {{日本経済新聞}},\n"
                f"  language = {{japanese}},\n  date = {{2025-{number % 12 + 1:02d}-15}},\n"
                f"  url = {{https://example.jp/articles/{number}}},\n  urldate = {{2025-11-24}},\n}}\n")
    return (f"@article{{src{number},\n  title = {{Scaling laws and their limits, part {number}}},\n"
            f"  author = {{Smith, Jane and Doe, John}},\n  journal = {{Journal of AI Studies}},\n"
            f"  volume = {{{number % 40 + 1}}},\n  pages = {{{number}--{number + 12}}},\n"
            f"  year = {{2025}},\n  url = {{https://example.org/papers/{number}}},\n"
            f"  urldate = {{2025-11-24}},\n}}\n")


def write_corpus(folder: Path, sections: int = 100, sources: int = 500, seed: int = 7) -> Path:
    """Write the corpus into `folder` (created) and return it."""
    rng = random.Random(seed)
    (folder / "sections").mkdir(parents=True, exist_ok=True)
    (folder / "site.toml").write_text(SITE_TOML, encoding="utf-8")
    (folder / "references.bib").write_text("\n".join(bib_entry(n) for n in range(1, sources + 1)),
                                           encoding="utf-8")
    width = max(2, len(str(sections)))
    for index in range(1, sections + 1):
        body = {"ja": [], "en": []}
        for paragraph in range(PARAGRAPHS):
            if paragraph % 4 == 0:
                body["ja"].append(f"## 小見出し{paragraph // 4 + 1}")
                body["en"].append(f"## Subheading {paragraph // 4 + 1}")
            cited = "".join(f"[^src{rng.randint(1, sources)}]"
                            for _ in range(2 if rng.random() < 0.25 else 1))
            values = {"n": 2020 + paragraph % 6, "p": rng.randint(1, 90), "m": 10 * rng.randint(1, 99)}
            ja = "".join(sentence.format(**values) for sentence in JA_SENTENCES) * 2
            en = " ".join(sentence.format(b=values["m"] / 10, **values) for sentence in EN_SENTENCES)
            body["ja"].append(ja + cited)
            body["en"].append(f"{en} {en}{cited}")
        for code, title in (("ja", f"第{index}節"), ("en", f"Section {index}")):
            text = f"---\ntitle: \"{title}\"\n---\n\n" + "\n\n".join(body[code]) + "\n"
            name = f"{index:0{width}d}-part-{index}.{code}.md"
            (folder / "sections" / name).write_text(text, encoding="utf-8")
    return folder
