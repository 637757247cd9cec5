"""The evaluator-driven local search that seeds the MIP."""

import pytest

from miredo.solver.evaluator import evaluate
from miredo.solver.factor_space import match_mapping, model_factors
from miredo.solver.hardware import load_arch
from miredo.solver.heuristic import heuristic_mapping
from miredo.solver.local_search import (
    FIRST_NODE,
    NODE_PATIENCE,
    into_factor_space,
    local_search,
    unrolling_search,
    unrolling_start,
)
from miredo.solver.mapping import Mapping
from miredo.solver.spatial_bounds import promising, spatial_bounds
from miredo.solver.validator import validate
from miredo.solver.workload import Layer

SMALL = load_arch("small")
LAYERS = [
    Layer.conv("conv3x3", k=16, c=16, in_hw=(8, 8), r=3, s=3, padding=1),
    Layer.conv("conv_s2", k=16, c=8, in_hw=(14, 14), r=3, s=3, stride=2, padding=1),
    Layer.gemm("fc", m=1, k=256, n=256),
]


def _in_factor_space(layer: Layer, m: Mapping) -> bool:
    """``m`` has one loop per model factor."""
    factors = model_factors(layer)
    loops = [*m.temporal, *(lp for lps in m.spatial.values() for lp in lps)]
    return len(loops) == len(factors) and match_mapping(factors, m) is not None


@pytest.mark.parametrize("layer", LAYERS, ids=lambda lay: lay.name)
def test_local_search_improves_within_the_model_space(layer: Layer) -> None:
    start, _ = heuristic_mapping(layer, SMALL, "edp")
    found = local_search(layer, SMALL, start, "edp", steps=1500, seed=1)
    assert found is not None
    m, cost = found
    assert not validate(layer, SMALL, m)
    assert _in_factor_space(layer, m)
    assert cost == evaluate(layer, SMALL, m)
    first = into_factor_space(layer, SMALL, start)
    assert first is not None
    assert cost.edp <= evaluate(layer, SMALL, first).edp
    # seeded and step-bounded: the same search again finds the same mapping
    assert local_search(layer, SMALL, start, "edp", steps=1500, seed=1) == found


def test_a_mapping_of_other_factors_is_moved_into_the_model_space() -> None:
    """The heuristic unrolls K8 and loops K2 K2 on a 32-wide K, whose Flexible
    Factorization is 2·4·4: not a point of the model's space. Its projection keeps
    the unrolling, loops over the other factors and is valid."""
    layer = Layer.conv("c", k=32, c=8, in_hw=(14, 14), r=3, s=3, padding=1)
    start, _ = heuristic_mapping(layer, SMALL, "edp")
    assert match_mapping(model_factors(layer), start, None) is None
    first = into_factor_space(layer, SMALL, start)
    assert first is not None and not validate(layer, SMALL, first)
    assert _in_factor_space(layer, first)
    for ax in SMALL.spatial:
        for d in "KCPQRS":
            assert first.spatial_factor(ax.name, d) == start.spatial_factor(ax.name, d)


def test_local_search_stops_at_its_target() -> None:
    layer = LAYERS[0]
    start, _ = heuristic_mapping(layer, SMALL, "edp")
    # any mapping at least as good as the start's factor-level form ends the search
    first = into_factor_space(layer, SMALL, start)
    assert first is not None
    target = evaluate(layer, SMALL, first).edp
    found = local_search(layer, SMALL, start, "edp", steps=10**6, stop_at=target)
    assert found is not None and found[0] == first


def test_unrolling_start_has_the_nodes_unrolling() -> None:
    layer = LAYERS[0]
    start, cost = heuristic_mapping(layer, SMALL, "edp")
    _, nodes = promising(layer, SMALL, "edp", cost.edp)
    assert len(nodes) > 3
    for node in nodes[:8]:
        m = unrolling_start(layer, SMALL, node, start)
        assert m is not None and not validate(layer, SMALL, m)
        assert _in_factor_space(layer, m)
        for ax in SMALL.spatial:
            for d in "KCPQRS":
                want = node.spatial.get(ax.name, {}).get(d, 1)
                assert m.spatial_factor(ax.name, d) == want


@pytest.mark.parametrize("layer", LAYERS[:2], ids=lambda lay: lay.name)
def test_unrolling_search_is_at_least_its_first_node(layer: Layer) -> None:
    """The search from the start is the first node (same seed and steps); the
    nodes after it can only improve on it. Seeded and step-bounded, the whole
    search is reproducible."""
    start, _ = heuristic_mapping(layer, SMALL, "edp")
    bounds = spatial_bounds(layer, SMALL)
    found = unrolling_search(layer, SMALL, start, "edp", bounds, steps=4000, seed=3)
    first = local_search(
        layer, SMALL, start, "edp", steps=int(FIRST_NODE * 4000), seed=3
    )
    assert found is not None and first is not None
    assert found[1].edp <= first[1].edp
    assert not validate(layer, SMALL, found[0]) and _in_factor_space(layer, found[0])
    again = unrolling_search(layer, SMALL, start, "edp", bounds, steps=4000, seed=3)
    assert again == found


def test_unrolling_search_stops_after_vain_nodes(monkeypatch) -> None:
    """Once ``NODE_PATIENCE`` unrollings in a row found nothing better, the
    search over unrollings ends, its budget unspent."""
    import miredo.solver.local_search as ls

    layer = LAYERS[0]
    start, _ = heuristic_mapping(layer, SMALL, "edp")
    bounds = spatial_bounds(layer, SMALL)
    first = local_search(layer, SMALL, start, "edp", steps=1)
    assert first is not None
    calls: list[bool] = []

    def vain(*args, **kw):  # the first search's mapping, then nothing better
        calls.append(kw["unroll"])
        return first

    monkeypatch.setattr(ls, "local_search", vain)
    # a start worse than every unrolling's bound: no node is pruned
    _, keep = promising(layer, SMALL, "edp", first[1].edp, bounds)
    assert len(keep) > NODE_PATIENCE + 1
    found = unrolling_search(layer, SMALL, start, "edp", bounds, steps=10**6)
    assert found == first
    assert calls == [True] + [False] * NODE_PATIENCE


@pytest.mark.parametrize("budget", [{"steps": 0}, {"seconds": 0.0}, {"seconds": -1.0}])
def test_an_empty_budget_returns_the_start(budget: dict[str, float]) -> None:
    """No budget left (a solve's time already spent) searches nothing."""
    layer = LAYERS[0]
    start, _ = heuristic_mapping(layer, SMALL, "edp")
    first = into_factor_space(layer, SMALL, start)
    found = local_search(layer, SMALL, start, "edp", **budget)
    assert found is not None and found[0] == first
    bounds = spatial_bounds(layer, SMALL)
    found = unrolling_search(layer, SMALL, start, "edp", bounds, **budget)
    assert found is not None and found[0] == first


def test_hoist_moves_a_loop_outermost_at_each_operands_top_level() -> None:
    """The hoisted loop leads the order, at the level of each operand's former
    outermost loop; the other loops keep their order and levels."""
    import random

    from miredo.solver.local_search import _Moves

    layer = LAYERS[0]
    start, _ = heuristic_mapping(layer, SMALL, "edp")
    m = into_factor_space(layer, SMALL, start)
    assert m is not None and len(m.temporal) >= 3
    moves, rng = _Moves(layer, SMALL), random.Random(0)
    for _ in range(20):
        h = moves.hoist(m, rng)
        assert h is not None and h.spatial == m.spatial
        i = m.temporal.index(h.temporal[0], 1)
        assert h.temporal[1:] == m.temporal[:i] + m.temporal[i + 1 :]
        for op, lv in m.level_of.items():
            assert h.level_of[op] == (lv[0], *lv[:i], *lv[i + 1 :])
