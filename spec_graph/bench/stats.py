"""Small statistics for reports: AUROC (with a bootstrap interval), percentiles."""

from __future__ import annotations

import math
import random
from collections.abc import Hashable, Sequence

__all__ = ["auroc", "auroc_interval", "percentile"]


def auroc(scores: Sequence[float], labels: Sequence[bool]) -> float | None:
    """Area under the ROC curve: P(score of a good item > score of a bad one), ties count half.

    The Mann-Whitney form, exact for any number of ties (judge scores are mostly ties: a
    greedy 0-9 judge gives few distinct values). None when either class is empty.
    """
    if len(scores) != len(labels):
        raise ValueError("scores and labels differ in length")
    n_good = sum(1 for y in labels if y)
    n_bad = len(labels) - n_good
    if not n_good or not n_bad:
        return None
    # rank-sum form (average ranks for ties): O(n log n), so a bootstrap stays cheap
    order = sorted(range(len(scores)), key=lambda i: scores[i])
    ranks = [0.0] * len(scores)
    start = 0
    while start < len(order):
        end = start
        while end + 1 < len(order) and scores[order[end + 1]] == scores[order[start]]:
            end += 1
        for k in range(start, end + 1):
            ranks[order[k]] = (start + end) / 2 + 1
        start = end + 1
    rank_sum = sum(r for r, y in zip(ranks, labels, strict=True) if y)
    return (rank_sum - n_good * (n_good + 1) / 2) / (n_good * n_bad)


def auroc_interval(
    scores: Sequence[float],
    labels: Sequence[bool],
    groups: Sequence[Hashable] | None = None,
    *,
    level: float = 0.95,
    resamples: int = 2000,
    seed: int = 0,
) -> tuple[float, float] | None:
    """A percentile bootstrap interval for `auroc`, resampling whole ``groups``.

    Steps of one question share its label (the question's correctness) and its difficulty,
    so they are not independent: resampling questions (``groups``), not steps, gives an
    honest interval. Without ``groups`` each item is its own group. None when the AUROC is
    undefined or fewer than two groups exist.
    """
    if groups is not None and len(groups) != len(scores):
        raise ValueError("groups and scores differ in length")
    if auroc(scores, labels) is None:
        return None
    keys = list(range(len(scores))) if groups is None else list(groups)
    members: dict[Hashable, list[int]] = {}
    for i, key in enumerate(keys):
        members.setdefault(key, []).append(i)
    clusters = list(members.values())
    if len(clusters) < 2:
        return None
    rng = random.Random(seed)
    values: list[float] = []
    for _ in range(resamples):
        picked = [i for _ in clusters for i in rng.choice(clusters)]
        value = auroc([scores[i] for i in picked], [labels[i] for i in picked])
        if value is not None:
            values.append(value)
    if not values:
        return None
    tail = (1 - level) / 2 * 100
    return percentile(values, tail), percentile(values, 100 - tail)


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0-100) with linear interpolation, like numpy's default."""
    if not values:
        raise ValueError("percentile of no values")
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100.0
    low, high = math.floor(rank), math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)
