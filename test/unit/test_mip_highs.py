"""The HiGHS MILP against the evaluator, exhaustive enumeration and CP-SAT."""

import random
import sys
from pathlib import Path

import highspy
import pytest

from miredo.solver.backend_cpsat import solve_cpsat
from miredo.solver.backend_highs import solve_highs
from miredo.solver.evaluator import evaluate
from miredo.solver.factorization import flexible_factorization
from miredo.solver.hardware import Arch, load_arch
from miredo.solver.mapping import Mapping
from miredo.solver.mip import solve_layer
from miredo.solver.mip_milp import HighsMiredo
from miredo.solver.mip_start import factor_space_start
from miredo.solver.validator import validate
from miredo.solver.workload import DIMS, OPERANDS, Layer

sys.path.insert(0, str(Path(__file__).parent))
from cp_model_fixed import fixed_cpsat_latency
from enumerate_mappings import db_candidates, operand_options, spatial_assignments
from test_mip import _random_layers

TINY = load_arch("tiny")
SMALL = load_arch("small")


def _rel(a: float, b: float) -> float:
    return abs(a - b) / max(abs(b), 1e-12)


def _random_mappings(layer: Layer, arch: Arch, k: int, seed: int) -> list[Mapping]:
    """``k`` distinct random valid mappings in the model's factor space."""
    rng = random.Random(seed)
    factors = {d: flexible_factorization(layer.dims[d]) for d in DIMS}
    splits = list(spatial_assignments(layer, arch, factors))
    out: set[Mapping] = set()
    for _ in range(50 * k):
        if len(out) >= k:
            break
        spatial, temporal = rng.choice(splits)
        order = list(temporal)
        rng.shuffle(order)
        combo = {
            op: rng.choice(operand_options(arch, op, len(order))) for op in OPERANDS
        }
        bypass = {op: c[0] for op, c in combo.items()}
        cands = db_candidates(arch, bypass)
        m = Mapping(
            spatial=spatial,
            temporal=tuple(order),
            level_of={op: c[1] for op, c in combo.items()},
            bypass=bypass,
            double_buffer=frozenset(p for p in cands if rng.random() < 0.5),
        )
        if not validate(layer, arch, m):
            out.add(m)
    return sorted(out, key=str)


FIXED = [
    (TINY, Layer("k4c2", {"K": 4, "C": 2})),  # two identical K2 factors
    (TINY, Layer("p3r3s2", {"P": 3, "R": 3}, stride=(2, 1))),  # clamped halo
    (
        SMALL,
        Layer.conv("conv_s2", k=4, c=2, in_hw=(7, 7), r=3, s=3, stride=2, padding=1),
    ),
]


@pytest.mark.parametrize("objective", ["latency", "energy"])
@pytest.mark.parametrize(("arch", "layer"), FIXED, ids=lambda x: x.name)
def test_fixed_mapping_lp_equals_evaluator(
    arch: Arch, layer: Layer, objective: str
) -> None:
    """Integers fixed to a mapping, the LP optimum (and CP-SAT's latency) is
    exactly the evaluator's value.

    Random valid mappings with bypass, double buffering, spatial unrolling and
    halos: this checks every row family against the evaluator point by point.
    """
    model = HighsMiredo(layer, arch, objective=objective)
    mappings = _random_mappings(layer, arch, 12, seed=3)
    assert len(mappings) >= 8
    for m in mappings:
        model.unfix()
        assert model.fix_mapping(m)
        model.h.run()
        assert model.h.getModelStatus() == highspy.HighsModelStatus.kOptimal, str(m)
        want = evaluate(layer, arch, m).objective(objective)
        got = model.h.getInfo().objective_function_value
        assert _rel(got, want) < 1e-7, (str(m), got, want)
        if objective == "latency":
            assert fixed_cpsat_latency(layer, arch, m) == want, str(m)


ENUM = _random_layers(20)[:6]


@pytest.mark.parametrize("layer", ENUM, ids=lambda lay: lay.name)
def test_highs_optimum_equals_enumeration_and_cpsat(layer: Layer) -> None:
    """Proven HiGHS optimum == brute force == CP-SAT optimum on tiny layers."""
    from enumerate_mappings import best_by_enumeration

    objective = "latency" if int(layer.name[1:]) % 2 == 0 else "energy"
    _, best = best_by_enumeration(
        layer, TINY, objective, allow_bypass=False, allow_double_buffer=False
    )
    want = best.objective(objective)
    kw = {"allow_bypass": False, "allow_double_buffer": False}
    res = solve_highs(
        layer, TINY, objective=objective, time_limit=20, gap_limit=0.0, **kw
    )
    assert res.status == "optimal" and res.mapping is not None
    assert validate(layer, TINY, res.mapping) == []
    assert _rel(evaluate(layer, TINY, res.mapping).objective(objective), want) < 1e-9
    assert _rel(res.objective, want) < 1e-6
    cp = solve_cpsat(layer, TINY, objective=objective, time_limit=20, gap_limit=0, **kw)
    assert cp.status == "optimal" and cp.mapping is not None
    cp_value = evaluate(layer, TINY, cp.mapping).objective(objective)
    assert _rel(cp_value, want) < 1e-9


@pytest.mark.parametrize(
    ("arch", "layer"),
    [
        (SMALL, Layer.gemm("fc", m=1, k=36, n=6)),
        (TINY, Layer("k2q3", {"K": 2, "Q": 3})),
    ],
    ids=["small-fc", "tiny-k2q3"],
)
def test_objective_equals_evaluator(arch: Arch, layer: Layer) -> None:
    """Full space (bypass, double buffering): the proven optimum is the evaluator's."""
    for objective in ("latency", "energy"):
        res = solve_highs(layer, arch, objective=objective, time_limit=30, gap_limit=0)
        assert res.status == "optimal" and res.mapping is not None
        assert validate(layer, arch, res.mapping) == []
        value = evaluate(layer, arch, res.mapping).objective(objective)
        assert _rel(res.objective, value) < 1e-6, (objective, res.objective, value)
        assert res.bound is not None and res.bound <= res.objective * (1 + 1e-6)


def test_time_limited_incumbent_is_valid_and_not_below_evaluator() -> None:
    """Lower-bound-only rows: a time-limited incumbent never under-reports."""
    layer = Layer.conv("conv3x3", k=8, c=4, in_hw=(6, 6), r=3, s=3, padding=1)
    res = solve_highs(layer, SMALL, objective="latency", time_limit=2)
    assert res.mapping is not None and validate(layer, SMALL, res.mapping) == []
    value = evaluate(layer, SMALL, res.mapping).latency
    assert res.objective is not None and res.objective >= value * (1 - 1e-7)
    start = factor_space_start(layer, SMALL, "latency")
    assert start is not None and value <= start[1].latency


def test_edp_outer_loop_never_worse_than_start() -> None:
    layer = Layer.gemm("fc", m=1, k=36, n=6)
    start = factor_space_start(layer, SMALL, "edp")
    assert start is not None
    res = solve_highs(layer, SMALL, objective="edp", time_limit=4)
    assert res.mapping is not None and validate(layer, SMALL, res.mapping) == []
    assert res.status == "feasible" and res.gap == 1.0 and res.bound is None
    value = evaluate(layer, SMALL, res.mapping).edp
    assert _rel(res.objective, value) < 1e-12
    assert value <= start[1].edp


def test_solve_layer_dispatches_to_highs() -> None:
    layer = Layer.conv("conv_s2", k=4, c=2, in_hw=(7, 7), r=3, s=3, stride=2, padding=1)
    sol = solve_layer(layer, SMALL, objective="latency", solver="highs", time_limit=3)
    heur = solve_layer(layer, SMALL, objective="latency", mapper="heuristic")
    assert sol.solver == "highs" and sol.variables > 0 and sol.constraints > 0
    assert sol.cost.latency <= heur.cost.latency


def _port_bound_mappings() -> list[tuple[Layer, Mapping]]:
    """Random valid mappings whose latency is set by a port's busy + idle time."""
    out = []
    layers = [
        Layer.gemm("fc", m=1, k=32, n=8),
        Layer("kc", {"K": 8, "C": 8}),
        Layer.conv("pw3", k=4, c=16, in_hw=(2, 2), r=1, s=1),
        Layer("kcp", {"K": 4, "C": 4, "P": 4}),
    ]
    for layer in layers:
        for seed in range(12):
            for m in _random_mappings(layer, TINY, 30, seed=seed):
                c = evaluate(layer, TINY, m)
                if c.latency > c.boot + max([c.lat0, *c.port_busy.values()]) + c.tail:
                    out.append((layer, m))
    return out


def test_port_idle_term_matches_evaluator() -> None:
    """A port-bound mapping ends one innermost body after its port: both backends,
    fixed to such mappings, give the evaluator's latency."""
    cases = _port_bound_mappings()
    assert len(cases) >= 8
    for layer, m in cases:
        want = evaluate(layer, TINY, m).latency
        model = HighsMiredo(layer, TINY, objective="latency")
        assert model.fix_mapping(m)
        model.h.run()
        assert model.h.getModelStatus() == highspy.HighsModelStatus.kOptimal
        got = model.h.getInfo().objective_function_value
        assert _rel(got, want) < 1e-7, (str(m), got, want)
        assert fixed_cpsat_latency(layer, TINY, m) == want, str(m)
