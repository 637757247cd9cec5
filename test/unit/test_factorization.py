"""Flexible Factorization (Alg. 1) against hand-worked cases.

Notation: F is the factor multiset, P_k the distinct sorted product tuples of the
partitions of F into k non-empty parts, score = 1*|P1| + .5*|P2| + .25*|P3|, and a
merge's loss is (score(F) - score(F merged)) / score(prime factors).
"""

from __future__ import annotations

import math

import pytest

from miredo.solver.factorization import (
    flex_score,
    flexible_factorization,
    partition_products,
    prime_factors,
)


def test_prime_factors() -> None:
    assert prime_factors(1) == []
    assert prime_factors(7) == [7]
    assert prime_factors(56) == [2, 2, 2, 7]
    assert prime_factors(1000) == [2, 2, 2, 5, 5, 5]
    with pytest.raises(ValueError):
        prime_factors(0)


def test_partition_products_56() -> None:
    # F = [2,2,2,7]: 2-way splits {2|28, 4|14, 8|7} (the other subsets repeat
    # these), 3-way: one part holds two factors: {2,2}->(2,4,7), {2,7}->(2,2,14).
    f = (2, 2, 2, 7)
    assert partition_products(f, 1) == {(56,)}
    assert partition_products(f, 2) == {(2, 28), (4, 14), (7, 8)}
    assert partition_products(f, 3) == {(2, 4, 7), (2, 2, 14)}
    assert flex_score(f) == 1 + 0.5 * 3 + 0.25 * 2  # = 3.0


def test_one_and_primes() -> None:
    # N = 1 has no factors (no loop); a prime has one, which is <= k_min.
    assert flexible_factorization(1) == []
    for p in (2, 3, 7, 13, 997):
        assert flexible_factorization(p) == [p]
    # two primes: length 2 = k_min, returned as they are
    assert flexible_factorization(49) == [7, 7]


def test_12() -> None:
    # F = [2,2,3]: P1 {12}, P2 {(2,6),(3,4)}, P3 {(2,2,3)}: score 2.25.
    # merge 2*2 -> [3,4]: 1 + .5 = 1.5, loss .75/2.25 = 1/3; merge 2*3 -> [2,6]:
    # also 1/3. Best loss 1/3 > alpha = .1: stop at the primes.
    assert flex_score([2, 2, 3]) == 2.25
    assert flexible_factorization(12) == [2, 2, 3]
    # with alpha = .5 the first of the tied merges (the smallest pair 2*2) wins,
    # and then length 2 = k_min stops.
    assert flexible_factorization(12, alpha=0.5) == [3, 4]


def test_16() -> None:
    # F = [2,2,2,2]: P2 {(2,8),(4,4)}, P3 {(2,2,4)}: score 2.25.
    # merge 2*2 -> [2,2,4]: P2 {(2,8),(4,4)}, P3 {(2,2,4)}: 2.25, loss 0 -> take.
    # [2,2,4]: merge 2*2 -> [4,4]: 1.5, loss 1/3; 2*4 -> [2,8]: 1.5: stop.
    assert flexible_factorization(16) == [2, 2, 4]


def test_56() -> None:
    # score([2,2,2,7]) = 3.0 (see above). Merges: 2*2 -> [2,4,7]: P2 {(2,28),
    # (4,14),(7,8)}, P3 {(2,4,7)}: 2.75, loss .25/3 = .083 <= .1 -> take;
    # 2*7 -> [2,2,14]: 2.25, loss .25. Then [2,4,7]: every merge leaves two
    # factors (score 1.5), loss 1.25/3 = .42 > .1: stop.
    assert flexible_factorization(56) == [2, 4, 7]


def test_64() -> None:
    # 2^6: P2 {2|32, 4|16, 8|8}, P3 exponent triples {114, 123, 222}: 3.25.
    # [2,2,2,2,2,2] -> merge 2*2 -> [2,2,2,2,4] (exponents 11112 still reach
    # every 2- and 3-split): loss 0. Then 2*2 -> [2,2,4,4] (1122): loss 0.
    # Then: 2*2 -> [4,4,4]: 1.75 (loss .46), 2*4 -> [2,4,8]: 2.75 (loss
    # .5/3.25 = .154), 4*4 -> [2,2,16]: 2.25: best .154 > .1: stop.
    assert flex_score([2, 2, 4, 4]) == 3.25
    assert flex_score([2, 4, 8]) == 2.75
    assert flexible_factorization(64) == [2, 2, 4, 4]


def test_k_min_and_alpha_one() -> None:
    # alpha = 1 merges until k_min factors are left.
    assert len(flexible_factorization(64, alpha=1.0)) == 2
    assert len(flexible_factorization(64, k_min=3, alpha=1.0)) == 3


@pytest.mark.parametrize("n", [1, 2, 6, 9, 12, 28, 56, 64, 100, 112, 224, 512, 1000])
def test_product_and_order(n: int) -> None:
    f = flexible_factorization(n)
    assert math.prod(f) == n
    assert f == sorted(f)
