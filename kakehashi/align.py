"""Plan stage, side-by-side view: which blocks of two languages of a section face each other.

`align_blocks(first, second)` takes the `ParallelBlock`s of a section in two languages and
gives its `Row`s, in reading order: a block beside its translation (1–1), a block that one
language has and the other does not on a row of its own (1–0, 0–1), and a paragraph that
the translation split in two beside both halves (2–1, 1–2). Every block appears in exactly
one row, in order; the local footnotes of both languages share the last row.

It is a sequence alignment (Needleman–Wunsch, scored as Gale–Church weighs lengths) in two
passes. Headings are the anchors: they are aligned first, each scored by its level, label,
names and figures and by what the blocks under it cite, and a heading faces only a heading.
Then the blocks between two facing headings are aligned, scored by what survives
translation: the kind of block, the keys cited, the figures mentioned, Latin names, labels,
and the length (Japanese characters weighted, `parallel.WIDE_WEIGHT`). Both passes fill
only a band around the diagonal, so time grows with the number of blocks, not its square.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from .parallel import ParallelBlock

BAND = 24  # cells either side of the diagonal: how far one language may run ahead locally
GAP = -1.0  # a block on a row of its own
MERGE = -1.5  # two blocks beside one, on top of the score of the pair they make
PAIR, MERGES, GAPS = ((1, 1),), ((2, 1), (1, 2)), ((1, 0), (0, 1))


@dataclass(frozen=True)
class Row:
    """One row of the side-by-side page: blocks of the first and of the second language."""

    first: tuple[int, ...]  # indices into the first language's blocks; () when it has none here
    second: tuple[int, ...]  # the same for the second language


@dataclass(frozen=True)
class Signals:
    """What a block (or two merged blocks) shows of its sense in any language."""

    kind: str
    keys: frozenset
    values: frozenset
    names: frozenset
    labels: frozenset
    length: float

    def __add__(self, other: Signals) -> Signals:
        kind = self.kind if self.kind == other.kind else "mixed"
        return Signals(kind, self.keys | other.keys, self.values | other.values,
                       self.names | other.names, self.labels | other.labels,
                       self.length + other.length)


def signals_of(block: ParallelBlock) -> Signals:
    """A block's signals."""
    return Signals(block.kind, frozenset(block.keys), frozenset(block.values),
                   frozenset(block.names), frozenset(block.labels), block.length)


def align_blocks(first: Sequence[ParallelBlock], second: Sequence[ParallelBlock]) -> tuple[Row, ...]:
    """The rows of the side-by-side page of one section."""
    body = ([i for i, block in enumerate(first) if block.kind != "notes"],
            [j for j, block in enumerate(second) if block.kind != "notes"])
    signals = ([signals_of(block) for block in first], [signals_of(block) for block in second])
    headings = tuple([i for i in indices if is_heading(blocks[i])]
                     for indices, blocks in zip(body, (first, second)))
    parts = tuple(part_signals(indices, blocks, sigs)
                  for indices, blocks, sigs in zip(body, (first, second), signals))

    def heading_score(i: int, di: int, j: int, dj: int) -> float | None:
        a, b = headings[0][i], headings[1][j]
        return score_headings(signals[0][a], signals[1][b], parts[0][a], parts[1][b])

    position = ({index: place for place, index in enumerate(body[0])},
                {index: place for place, index in enumerate(body[1])})
    rows: list[Row] = []
    start = (0, 0)  # positions in body[0], body[1] where the current stretch begins
    anchors = [(headings[0][i], headings[1][j]) for (i, j), (di, dj)
               in walk(len(headings[0]), len(headings[1]), heading_score, PAIR) if di and dj]
    for a, b in [*anchors, (None, None)]:
        end = (position[0][a] if a is not None else len(body[0]),
               position[1][b] if b is not None else len(body[1]))
        rows += align_stretch(body[0][start[0]:end[0]], body[1][start[1]:end[1]], signals)
        if a is not None:
            rows.append(Row((a,), (b,)))
            start = (end[0] + 1, end[1] + 1)
    notes = ([i for i, block in enumerate(first) if block.kind == "notes"],
             [j for j, block in enumerate(second) if block.kind == "notes"])
    if notes[0] or notes[1]:
        rows.append(Row(tuple(notes[0]), tuple(notes[1])))
    return tuple(rows)


def align_stretch(left: list[int], right: list[int],
                  signals: tuple[list[Signals], list[Signals]]) -> list[Row]:
    """The rows of the blocks between two facing headings (unpaired headings stand alone)."""
    def score(i: int, di: int, j: int, dj: int) -> float | None:
        a = merged([signals[0][k] for k in left[i:i + di]])
        b = merged([signals[1][k] for k in right[j:j + dj]])
        if a is None or b is None:
            return None
        value = score_blocks(a, b)
        return None if value is None else value + (MERGE if di + dj > 2 else 0.0)
    return [Row(tuple(left[i:i + di]), tuple(right[j:j + dj]))
            for (i, j), (di, dj) in walk(len(left), len(right), score, PAIR + MERGES)]


def merged(parts: list[Signals]) -> Signals | None:
    """One block's signals, or two merged; None where headings would merge."""
    if len(parts) == 1:
        return parts[0]
    if any(is_heading(part) for part in parts):
        return None
    return parts[0] + parts[1]


def walk(n: int, m: int, score: Callable[[int, int, int, int], float | None],
         moves: tuple[tuple[int, int], ...]) -> list[tuple[tuple[int, int], tuple[int, int]]]:
    """The best path through a banded alignment table, as (start, move) steps in order.

    A move (di, dj) takes di items of the first sequence and dj of the second; one with a 0
    is a gap, scored GAP per item; the others ask `score(i, di, j, dj)` (None: forbidden).
    Ties go to the earlier move in PAIR, MERGES, GAPS order, so equal scores pair blocks.
    """
    all_moves = moves + GAPS
    best: dict[tuple[int, int], tuple[float, int, tuple[int, int]]] = {(0, 0): (0.0, 0, (0, 0))}
    for i in range(n + 1):
        for j in band(i, n, m):
            if i == j == 0:
                continue
            found = None
            for rank, (di, dj) in enumerate(all_moves):
                before = best.get((i - di, j - dj))
                if before is None:
                    continue
                step = GAP * (di + dj) if not (di and dj) else score(i - di, di, j - dj, dj)
                if step is None:
                    continue
                total = before[0] + step
                if found is None or total > found[0] + 1e-9:
                    found = (total, rank, (di, dj))
            if found is not None:
                best[i, j] = found
    path = []
    cell = (n, m)
    while cell != (0, 0):
        di, dj = best[cell][2]
        cell = (cell[0] - di, cell[1] - dj)
        path.append((cell, (di, dj)))
    return path[::-1]


def band(i: int, n: int, m: int) -> range:
    """The cells of row `i` worth filling: around the diagonal from (0, 0) to (n, m)."""
    if n == 0:
        return range(0, m + 1)
    low = max(0, math.floor((i - 1) * m / n) - BAND)
    high = min(m, math.ceil((i + 1) * m / n) + BAND)
    return range(low, high + 1)


def is_heading(block) -> bool:
    """Whether a block (or its signals) is a heading."""
    return block.kind[:1] == "h" and block.kind[1:].isdigit()


def part_signals(indices: list[int], blocks: Sequence[ParallelBlock],
                 signals: list[Signals]) -> dict[int, Signals]:
    """For each heading, what the blocks under it (up to the next heading) show together."""
    parts: dict[int, Signals] = {}
    current = None
    for index in indices:
        if is_heading(blocks[index]):
            current = index
            parts[current] = Signals("part", frozenset(), frozenset(), frozenset(), frozenset(), 0.0)
        elif current is not None:
            parts[current] = parts[current] + signals[index]
    return parts


def dice(a: frozenset, b: frozenset) -> float:
    """How much two sets share, 0–1 (0 when both are empty)."""
    return 2 * len(a & b) / (len(a) + len(b)) if a or b else 0.0


def containment(a: frozenset, b: frozenset) -> float:
    """How much of the smaller set the larger holds, 0–1."""
    return len(a & b) / min(len(a), len(b)) if a and b else 0.0


def length_gap(a: float, b: float) -> float:
    """How far apart two lengths are, on a log scale; short blocks are smoothed."""
    return min(abs(math.log((a + 20) / (b + 20))), 3.0)


def score_blocks(a: Signals, b: Signals) -> float | None:
    """How well two blocks (or merged pairs) translate each other; None: a heading faces only
    a heading."""
    if is_heading(a) != is_heading(b):
        return None
    value = 1.0 if a.kind == b.kind else -1.0
    value += 3.0 * dice(a.keys, b.keys) - (1.5 if a.keys and b.keys and not a.keys & b.keys else 0)
    value += 1.5 * dice(a.values, b.values) - (0.5 if a.values and b.values
                                                 and not a.values & b.values else 0)
    value += containment(a.names, b.names)
    value += 3.0 * dice(a.labels, b.labels) - (2.0 if a.labels and b.labels
                                                 and not a.labels & b.labels else 0)
    return value - 1.5 * length_gap(a.length, b.length)


def score_headings(a: Signals, b: Signals, under_a: Signals | None,
                   under_b: Signals | None) -> float:
    """How well two headings face each other: their own signals and what follows them."""
    value = 1.0 + (1.5 if a.kind == b.kind else -0.5)
    value += 4.0 * dice(a.labels, b.labels) - (2.0 if a.labels and b.labels
                                                 and not a.labels & b.labels else 0)
    value += containment(a.names, b.names) + dice(a.values, b.values)
    if under_a is not None and under_b is not None:
        value += 2.0 * dice(under_a.keys, under_b.keys) + dice(under_a.values, under_b.values)
        value += 0.5 * containment(under_a.names, under_b.names)
        value -= 0.5 * length_gap(under_a.length, under_b.length)
    return value
