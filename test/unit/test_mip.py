"""The MIREDO MIP against the closed-form evaluator and exhaustive enumeration."""

import random
import sys
from pathlib import Path

import pytest

from miredo.solver.backend_cpsat import solve_cpsat
from miredo.solver.evaluator import evaluate
from miredo.solver.hardware import load_arch
from miredo.solver.heuristic import heuristic_mapping
from miredo.solver.local_search import STEPS_PER_SECOND, unrolling_search
from miredo.solver.mapping import Mapping
from miredo.solver.mip import solve_layer, weight_stationary
from miredo.solver.spatial_bounds import layer_bound
from miredo.solver.validator import validate
from miredo.solver.workload import Layer

sys.path.insert(0, str(Path(__file__).parent))
from enumerate_mappings import best_by_enumeration

TINY = load_arch("tiny")
SMALL = load_arch("small")


def _rel(a: float, b: float) -> float:
    return abs(a - b) / max(abs(b), 1e-12)


LAYERS = [
    Layer.conv("conv3x3", k=8, c=4, in_hw=(6, 6), r=3, s=3, padding=1),
    Layer.conv("conv_s2", k=4, c=2, in_hw=(7, 7), r=3, s=3, stride=2, padding=1),
    Layer.conv("dw", k=1, c=1, g=4, in_hw=(6, 6), r=3, s=3, padding=1),
    Layer.gemm("fc", m=1, k=36, n=6),
]


@pytest.mark.parametrize("objective", ["latency", "energy", "edp"])
@pytest.mark.parametrize("layer", LAYERS, ids=lambda lay: lay.name)
def test_mip_objective_equals_evaluator(layer: Layer, objective: str) -> None:
    hint, _ = heuristic_mapping(layer, SMALL, objective)
    res = solve_cpsat(
        layer, SMALL, objective=objective, time_limit=3, workers=2, hint=hint
    )
    assert res.mapping is not None, res.status
    assert validate(layer, SMALL, res.mapping) == []
    value = evaluate(layer, SMALL, res.mapping).objective(objective)
    if objective == "latency":
        assert res.objective == value
    else:  # energy coefficients are integers in 1e-4 pJ; EDP is coarsened too
        assert _rel(res.objective, value) < 5e-3, (res.objective, value)
    assert res.bound is not None and res.bound <= res.objective + 1e-9


def _random_layers(n: int) -> list[Layer]:
    rng = random.Random(7)
    out = []
    while len(out) < n:
        dims = {d: 1 for d in "NGKCPQRS"}
        for d in rng.sample(["K", "C", "P", "Q", "R"], k=2):
            dims[d] = rng.choice([2, 3])
        stride = rng.choice([1, 2]) if dims["R"] > 1 else 1
        layer = Layer(
            f"r{len(out)}",
            dims,
            stride=(stride, 1),
        )
        out.append(layer)
    return out


@pytest.mark.parametrize("layer", _random_layers(20), ids=lambda lay: lay.name)
def test_mip_optimum_equals_enumeration(layer: Layer) -> None:
    """On tiny layers the proven MIP optimum equals brute force over the same space."""
    objective = "latency" if int(layer.name[1:]) % 2 == 0 else "energy"
    _, best = best_by_enumeration(
        layer, TINY, objective, allow_bypass=False, allow_double_buffer=False
    )
    res = solve_cpsat(
        layer,
        TINY,
        objective=objective,
        time_limit=30,
        workers=2,
        allow_bypass=False,
        allow_double_buffer=False,
        gap_limit=0,
    )
    assert res.status == "optimal"
    assert res.mapping is not None
    found = evaluate(layer, TINY, res.mapping).objective(objective)
    assert _rel(found, best.objective(objective)) < 1e-3
    assert _rel(res.objective, best.objective(objective)) < 1e-3


@pytest.mark.parametrize(
    ("dims", "bypass"),
    [({"P": 3}, False), ({"K": 2}, True)],
    ids=["P3-db", "K2-db-bypass"],
)
def test_mip_with_buffering_matches_enumeration(
    dims: dict[str, int], bypass: bool
) -> None:
    """Double buffering (and bypass) choices included: ~5-15 s of enumeration each."""
    layer = Layer("x", dims)
    _, best = best_by_enumeration(layer, TINY, "latency", allow_bypass=bypass)
    res = solve_cpsat(
        layer,
        TINY,
        objective="latency",
        time_limit=30,
        allow_bypass=bypass,
        gap_limit=0,
    )
    assert res.status == "optimal" and res.objective == best.latency


@pytest.mark.parametrize("objective", ["latency", "edp"])
def test_solve_layer_never_worse_than_baselines(objective: str) -> None:
    layer = LAYERS[0]
    miredo = solve_layer(layer, SMALL, objective=objective, time_limit=5)
    heur = solve_layer(layer, SMALL, objective=objective, mapper="heuristic")
    assert miredo.cost.objective(objective) <= heur.cost.objective(objective)
    if miredo.variables == 0:  # no model built: the heuristic start is proven
        assert miredo.status == "optimal" and miredo.gap <= 0.01
        assert miredo.mapping == heur.mapping
    else:
        assert miredo.constraints > 0


def test_solve_layer_stops_once_the_layer_bound_proves_the_incumbent(
    monkeypatch,
) -> None:
    """A mapping within the gap limit of the layer bound ends the solve, although
    CP-SAT's own bound may not prove it: a DRAM-bound fc's heuristic start needs
    no search at all; a smaller fc's local search ends it, or without the local
    search the local search within a node of the branch and bound over
    unrollings, or without that the node's solve (which lifts the bound), or
    without the branch and bound the weight-stationary stage."""
    import miredo.solver.backend_cpsat as backend
    import miredo.solver.mip as mip

    calls: list[bool | str] = []

    def recording(*args, **kw):
        calls.append("node" if kw.get("unrollings") else kw.get("ws", False))
        return solve_cpsat(*args, **kw)

    monkeypatch.setattr(backend, "solve_cpsat", recording)
    fc, fc2 = Layer.gemm("fc", m=1, k=512, n=1000), Layer.gemm("fc2", m=1, k=256, n=256)
    bb, polish = mip.UNROLLING_BB, mip.NODE_SEARCH
    for layer, objective, local, nodes, searches, stages in [
        (fc, "latency", mip.LOCAL_SEARCH, bb, polish, []),
        (fc2, "edp", mip.LOCAL_SEARCH, bb, polish, []),
        (fc2, "edp", 0.0, bb, polish, []),
        (fc2, "edp", 0.0, bb, 0, ["node"]),
        (fc2, "edp", 0.0, 0.0, polish, [True]),
    ]:
        monkeypatch.setattr(mip, "LOCAL_SEARCH", local)
        monkeypatch.setattr(mip, "UNROLLING_BB", nodes)
        monkeypatch.setattr(mip, "NODE_SEARCH", searches)
        calls.clear()
        res = solve_layer(layer, SMALL, objective=objective, time_limit=30)
        low = 1 - layer_bound(layer, SMALL, objective) / res.cost.objective(objective)
        assert calls == stages
        assert res.status == "optimal"
        if "node" in stages:  # a node solve's bound lifts the layer bound
            assert res.gap <= low + 1e-12
        else:
            assert res.gap == pytest.approx(low)
        assert res.gap <= 0.01
        assert (res.variables > 0) == bool(stages)
        heuristic = heuristic_mapping(layer, SMALL, objective)[0]
        assert (res.mapping == heuristic) == (layer is fc)


def test_miredo_stages_hand_on_their_incumbents(monkeypatch) -> None:
    """miredo runs the unrolling search for ``LOCAL_SEARCH`` of its budget, again
    from its best mapping for ``RESTART`` of the rest, the WS subspace for
    ``WS_STAGE`` of what is left, then the full model; each stage starts from
    the best mapping so far."""
    import miredo.solver.backend_cpsat as backend
    import miredo.solver.mip as mip
    from miredo.solver.mip import LOCAL_SEARCH, RESTART, WS_STAGE

    calls: list[tuple[bool, float, object, object]] = []
    searched: list[tuple[object, object, int, int]] = []

    def recording(*args, **kw):
        res = solve_cpsat(*args, **kw)
        calls.append((kw["ws"], kw["time_limit"], kw["hint"], res.mapping))
        return res

    def searching(*args, **kw):
        found = unrolling_search(*args, **kw)
        searched.append((args[2], found, kw["steps"], kw["seed"]))
        return found

    monkeypatch.setattr(backend, "solve_cpsat", recording)
    monkeypatch.setattr(mip, "unrolling_search", searching)
    monkeypatch.setattr(mip, "UNROLLING_BB", 0.0)  # its own test below
    layer, budget = Layer.conv("pw", k=16, c=16, in_hw=(7, 7)), 1.0
    # at the default 1 % gap the local search's mapping is proven (0.35 %)
    miredo = solve_layer(
        layer, SMALL, time_limit=budget, deterministic=True, gap_limit=0.0
    )
    h_map, h_cost = heuristic_mapping(layer, SMALL, "edp")
    [(start, found, steps, seed), (again_start, again, again_steps, again_seed)] = (
        searched
    )
    assert start == h_map and seed == 0
    assert steps == int(budget * LOCAL_SEARCH * STEPS_PER_SECOND)
    assert found is not None and again is not None
    assert found[1].edp < h_cost.edp  # this layer's local search beats the heuristic
    assert again_start == found[0] and again_seed == 1
    left = budget * (1 - LOCAL_SEARCH)
    assert again_steps == int(left * RESTART * STEPS_PER_SECOND)
    ls_map, ls_cost = again if again[1].edp < found[1].edp else found
    (ws, t_ws, ws_hint, ws_map), (full, t_full, hint, _) = calls
    assert ws and not full
    left *= 1 - RESTART
    assert t_ws == pytest.approx(left * WS_STAGE)
    assert t_full == pytest.approx(left * (1 - WS_STAGE))
    assert ws_hint == (ls_map if weight_stationary(layer, ls_map) else h_map)
    ws_edp = evaluate(layer, SMALL, ws_map).edp if ws_map else float("inf")
    assert hint == (ws_map if ws_edp < ls_cost.edp else ls_map)
    assert miredo.cost.edp <= min(ws_edp, ls_cost.edp)


@pytest.mark.parametrize("layer", _random_layers(20)[:6], ids=lambda lay: lay.name)
def test_mip_over_promising_unrollings_keeps_the_optimum(layer: Layer) -> None:
    """Restricted to the unrollings whose bound does not exceed an incumbent (here
    the optimum itself, the tightest case), with their bounds as cuts, the MIP
    still reaches the optimum."""
    from miredo.solver.spatial_bounds import promising

    objective = "latency"
    _, best = best_by_enumeration(
        layer, TINY, objective, allow_bypass=False, allow_double_buffer=False
    )
    low, keep = promising(layer, TINY, objective, best.latency)
    assert keep and low <= best.latency
    res = solve_cpsat(
        layer,
        TINY,
        objective=objective,
        time_limit=30,
        allow_bypass=False,
        allow_double_buffer=False,
        gap_limit=0,
        unrollings=keep,
    )
    assert res.status == "optimal" and res.mapping is not None
    assert evaluate(layer, TINY, res.mapping).latency == best.latency


@pytest.mark.parametrize("layer", LAYERS[:2], ids=lambda lay: lay.name)
def test_weight_stationary_agrees_with_the_ws_model(layer: Layer) -> None:
    """The ws MIP's mappings pass the check; the same loops with a W-irrelevant
    loop moved outermost (over a W-relevant one) do not."""
    res = solve_cpsat(layer, SMALL, objective="edp", ws=True, time_limit=10)
    assert res.mapping is not None and weight_stationary(layer, res.mapping)
    m = res.mapping
    relevant = [i for i, lp in enumerate(m.temporal) if lp.dim in layer.relevant["W"]]
    irrelevant = [i for i, lp in enumerate(m.temporal) if i not in relevant]
    assert relevant and irrelevant
    order = list(m.temporal)
    i, j = relevant[0], irrelevant[-1]
    order[i], order[j] = order[j], order[i]
    swapped = Mapping(m.spatial, order, m.level_of, m.bypass, m.double_buffer)
    assert not weight_stationary(layer, swapped)


@pytest.mark.parametrize("layer", LAYERS[:2], ids=lambda lay: lay.name)
def test_completed_hint_is_the_hinted_mappings_solution(layer: Layer) -> None:
    """The hint of the decision variables, completed to every variable, is a
    solution of the model whose objective is the evaluator's value of the
    mapping: fixed to it, CP-SAT returns that mapping at once."""
    from ortools.sat.python import cp_model

    from miredo.solver.bounds import latency_cap
    from miredo.solver.mip_cpsat import CpSatMiredo

    start, _ = heuristic_mapping(layer, SMALL, "edp")
    found = unrolling_search(layer, SMALL, start, "edp", [], steps=400)
    assert found is not None
    mapping, cost = found
    model = CpSatMiredo(
        layer,
        SMALL,
        objective="edp",
        latency_cap=latency_cap(layer, SMALL, "edp", cost),
    )
    assert model.add_hint(mapping)
    partial = len(model.m.proto.solution_hint.vars)
    assert model.complete_hint(5.0)
    n_vars = len(model.m.proto.variables)
    assert partial < n_vars == len(model.m.proto.solution_hint.vars)
    solver = cp_model.CpSolver()
    solver.parameters.fix_variables_to_their_hinted_value = True
    solver.parameters.num_workers = 1
    assert solver.solve(model.model) == cp_model.OPTIMAL
    assert model.decode(solver) == mapping
    value = solver.objective_value * model.objective_scale()
    assert _rel(value, cost.edp) < 5e-3, (value, cost.edp)


def test_solution_carries_the_evaluators_value_of_the_mips_incumbent() -> None:
    """``solver_objective`` is the MIP's objective for its own incumbent and
    ``solver_value`` the evaluator's value of that incumbent (a deterministic
    solve, so the MIP runs and finds one whatever the machine's load)."""
    layer = LAYERS[0]
    sol = solve_layer(
        layer, SMALL, mapper="ws", time_limit=3, workers=1, deterministic=True
    )
    assert sol.solver_objective is not None and sol.solver_value is not None
    assert _rel(sol.solver_objective, sol.solver_value) < 5e-3
    if sol.status != "heuristic":  # the returned mapping is the MIP's
        assert sol.solver_value == pytest.approx(sol.cost.edp)


@pytest.mark.parametrize("objective", ["latency", "energy", "edp"])
def test_latency_cap_keeps_every_better_mapping(objective: str) -> None:
    """Every mapping that beats the incumbent (here the median of a tiny layer's
    whole space) has a latency within the incumbent's cap, and so has the
    incumbent itself."""
    from enumerate_mappings import enumerate_all

    from miredo.solver.bounds import latency_cap

    layer = _random_layers(20)[1]
    space = enumerate_all(layer, TINY, allow_bypass=False, allow_double_buffer=False)
    costs = sorted(
        (evaluate(layer, TINY, m) for m in space), key=lambda c: c.objective(objective)
    )
    incumbent = costs[len(costs) // 2]
    cap = latency_cap(layer, TINY, objective, incumbent)
    assert cap is not None and incumbent.latency <= cap
    better = [
        c for c in costs if c.objective(objective) < incumbent.objective(objective)
    ]
    assert better and all(c.latency <= cap for c in better)


def test_edp_model_without_a_cap_still_ranks_by_energy() -> None:
    """The EDP product coarsens energy by the latency's upper bound; with no cap
    given, the model's safe bound would coarsen every energy of a ResNet-18
    layer to 0 and make the objective a constant. The backend caps it by a
    start of its own space instead."""
    layer = Layer.conv("ds", k=512, c=256, in_hw=(14, 14), stride=2)
    arch = load_arch("table4")
    res = solve_cpsat(layer, arch, objective="edp", time_limit=3, workers=2)
    assert res.mapping is not None and res.objective is not None
    value = evaluate(layer, arch, res.mapping).edp
    assert _rel(res.objective, value) < 5e-3, (res.objective, value)
