"""Search, shared: how text becomes search tokens, the same way at build time and in the page.

`tokenize(text)` gives `Token`s: character bigrams for runs of Japanese (and other CJK)
text, each run's last character alone, and words with light plural stemming for Latin
script. Every token has a position, so that a query's tokens can be required to stand side
by side (事前学習 is 事前 前学 学習 at three consecutive positions, never 事前…学習 apart).
`static/search.js` implements the same rules for queries and snippets; a browser test
keeps the two in agreement, so change both together.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

# Kana (without the middle dot ・, which splits names: デミス・ハサビス), the long vowel
# mark ー, 々 and CJK ideographs. Half-width katakana become these through NFKC.
CJK_CHARS = ("\u3005-\u3007\u303b\u3041-\u3096\u309d-\u309f\u30a1-\u30fa\u30fc-\u30ff"
             "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f")
CJK = re.compile(f"[{CJK_CHARS}]")
WORD = f"[^\\W_{CJK_CHARS}]+"  # letters and digits of every other script
HYPHENS = "-\u2010\u2011"
APOSTROPHES = "'\u2019"
# A CJK run, or Latin words joined by hyphens or apostrophes (SWE-bench, Google's).
RUN = re.compile(f"([{CJK_CHARS}]+)|({WORD}(?:[{HYPHENS}{APOSTROPHES}]{WORD})*)")
HYPHEN = re.compile(f"[{HYPHENS}]")
POSSESSIVE = re.compile(f"[{APOSTROPHES}]s$")
APOSTROPHE = re.compile(f"[{APOSTROPHES}]")


@dataclass(frozen=True)
class Token:
    """One search token of a text."""

    text: str  # normalised: a CJK bigram or single character, or a stemmed word
    position: int  # 0-based; consecutive tokens of the text have consecutive positions
    joined: bool = False  # a hyphenated word written as one (swebench), at its first part's position


def normalise(text: str) -> str:
    """NFKC (full-width Latin and half-width katakana to their usual forms), then lower case."""
    return unicodedata.normalize("NFKC", text).lower()


def stem(word: str) -> str:
    """Light English plural stemming: companies → company, boxes → box, bubbles → bubble."""
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 4 and word.endswith(("sses", "xes", "zes", "ches", "shes")):
        return word[:-2]
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


def tokenize(text: str) -> list[Token]:
    """The search tokens of a text, in order (see the module docstring)."""
    texts, positions, joined = scan(text, {})
    return [Token(token, position, index in joined)
            for index, (token, position) in enumerate(zip(texts, positions))]


def scan(text: str, stems: dict[str, str], start: int = 0
         ) -> tuple[list[str], list[int], set[int]]:
    """`tokenize`, fast enough to index a large report: the tokens' texts, their positions
    (counted from `start`) and which of them are joined words (their indexes).

    `stems` remembers the stem of each word seen so far; the caller keeps it per index.
    """
    texts: list[str] = []
    positions: list[int] = []
    joined: set[int] = set()
    position = start
    for run, words in RUN.findall(normalise(text)):
        if run:
            texts += [run[i:i + 2] for i in range(len(run))]
            positions += range(position, position + len(run))
            position += len(run)
        elif words.isalnum():  # the common case: one plain word
            stemmed = stems.get(words)
            if stemmed is None:
                stemmed = stems[words] = stem(words)
            texts.append(stemmed)
            positions.append(position)
            position += 1
        else:
            word = APOSTROPHE.sub("", POSSESSIVE.sub("", words))
            parts = [part for part in HYPHEN.split(word) if part]
            texts += [stem(part) for part in parts]
            positions += range(position, position + len(parts))
            if len(parts) > 1:
                joined.add(len(texts))
                texts.append(stem("".join(parts)))
                positions.append(position)
            position += len(parts)
    return texts, positions, joined


def is_cjk(token: str) -> bool:
    """Whether a token is Japanese (CJK) text rather than a word."""
    return bool(CJK.match(token))


def shard_key(token: str) -> str:
    """What decides a token's shard: its first character (CJK) or first two (words).

    All bigrams that start with one character share a shard, so a one-character query
    finds them in one file; likewise a word's prefix as the reader types it.
    """
    return token[:1] if is_cjk(token) else token[:2]


def shard_of(token: str, shards: int) -> int:
    """The shard a token's postings are in: FNV-1a (32 bits) of its key's code points."""
    value = 0x811C9DC5
    for char in shard_key(token):
        value = ((value ^ ord(char)) * 0x01000193) & 0xFFFFFFFF
    return value % shards
