"""Flexible Factorization (paper Algorithm 1).

A loop bound N is split into a short list of factors; each factor becomes one
temporal loop slot of the MIP. Starting from the prime factors, the pair whose
merge loses the least *FlexScore* is merged, until ``k_min`` factors remain or the
best merge would lose more than ``alpha`` of the score of the full prime list.

``FlexScore(F) = mu_1 |P_1| + mu_2 |P_2| + mu_3 |P_3|``, where ``P_k`` is the set of
distinct sorted tuples of subset products over all partitions of the multiset F
into exactly k non-empty subsets.

Tie-breaking (deterministic): candidate pairs are visited in index order
``(i, j), i < j`` over the ascending factor list, and a later pair replaces the
best one only if its loss is *strictly* smaller; so among equal losses the pair of
smallest factors wins. ``N = 1`` gives ``[]`` (no loop).
"""

from __future__ import annotations

import itertools
import math
from collections import Counter
from functools import cache


def prime_factors(n: int) -> list[int]:
    """Prime factors of ``n`` in ascending order, with multiplicity."""
    if n < 1:
        raise ValueError(f"cannot factorize {n}")
    out: list[int] = []
    p = 2
    while p * p <= n:
        while n % p == 0:
            out.append(p)
            n //= p
        p += 1
    if n > 1:
        out.append(n)
    return out


def _sub_multisets(items: tuple[int, ...]) -> list[tuple[int, ...]]:
    """All sub-multisets of a sorted multiset, as sorted tuples (incl. empty and all)."""
    counts = sorted(Counter(items).items())
    out: list[tuple[int, ...]] = []
    for choice in itertools.product(*(range(c + 1) for _, c in counts)):
        sub: list[int] = []
        for (value, _), k in zip(counts, choice, strict=True):
            sub.extend([value] * k)
        out.append(tuple(sub))
    return out


def _minus(items: tuple[int, ...], sub: tuple[int, ...]) -> tuple[int, ...]:
    rest = Counter(items)
    rest.subtract(sub)
    return tuple(sorted(rest.elements()))


@cache
def partition_products(factors: tuple[int, ...], k: int) -> frozenset[tuple[int, ...]]:
    """``P_k``: distinct sorted product tuples of partitions into ``k`` non-empty parts."""
    factors = tuple(sorted(factors))
    if k == 1:
        return frozenset({(math.prod(factors),)}) if factors else frozenset()
    out: set[tuple[int, ...]] = set()
    for first in _sub_multisets(factors):
        if not first or len(first) > len(factors) - (k - 1):
            continue
        rest = _minus(factors, first)
        for tail in partition_products(rest, k - 1):
            out.add(tuple(sorted((math.prod(first), *tail))))
    return frozenset(out)


def flex_score(
    factors: tuple[int, ...] | list[int], mu: tuple[float, ...] = (1.0, 0.5, 0.25)
) -> float:
    """Weighted number of distinct 1-, 2- and 3-way partitions (Alg. 1 FlexScore)."""
    f = tuple(sorted(factors))
    return sum(w * len(partition_products(f, k)) for k, w in enumerate(mu, start=1))


def flexible_factorization(
    n: int,
    k_min: int = 2,
    alpha: float = 0.1,
    mu: tuple[float, ...] = (1.0, 0.5, 0.25),
) -> list[int]:
    """Algorithm 1: a short ascending factor list whose product is ``n``."""
    factors = prime_factors(n)
    if len(factors) <= k_min:
        return factors
    full = flex_score(factors, mu)
    while len(factors) > k_min:
        base = flex_score(factors, mu)
        best_delta, best = math.inf, factors
        for i, j in itertools.combinations(range(len(factors)), 2):
            merged = sorted(
                [x for k, x in enumerate(factors) if k not in (i, j)]
                + [factors[i] * factors[j]]
            )
            delta = (base - flex_score(merged, mu)) / full
            if delta < best_delta:
                best_delta, best = delta, merged
        if best_delta > alpha:
            break
        factors = best
    return factors
