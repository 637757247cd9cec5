"""Evaluator-driven local search: the primal heuristic that seeds the MIREDO MIP.

CP-SAT starts from the best mapping it is given and, on 3x3 convs, improves it
slowly: its LNS works on a model of 2-3k variables whose relaxation says little.
The closed-form evaluator scores a mapping in about 0.2 ms, so a search over
mappings themselves finds better MIP starts in the same seconds.

The search stays in the model's factor space: one temporal loop per
Flexible-Factorization factor (:func:`~miredo.solver.factor_space.model_factors`),
spatial axes holding factors. Every mapping it returns is therefore a point of
the MIP's space (a usable hint), passes the validator, and is scored by the
evaluator. It is simulated annealing over these moves:

* **swap** two temporal loops, each operand keeping its level boundaries;
* **reorder**: swap two loops and re-allocate bottom-up
  (:func:`~miredo.solver.heuristic.allocate`);
* **boundary**: move one loop of one operand to the next level out or in;
* **bypass** / **double buffer**: toggle one (operand, level) and re-allocate;
* **unroll**: move one factor between the temporal nest and a spatial axis, or
  between two axes.

A worse candidate is accepted with probability ``exp(-(v/v_cur - 1)/t)``, the
temperature ``t`` cooling geometrically from :data:`T_START` to :data:`T_END`
over the budget. Seeded and, with a step budget, deterministic.
"""

from __future__ import annotations

import itertools
import math
import random
import time
from collections.abc import Callable

from miredo.solver.evaluator import Cost, evaluate
from miredo.solver.factor_space import assignment_mapping, match_mapping, model_factors
from miredo.solver.hardware import Arch
from miredo.solver.heuristic import allocate
from miredo.solver.mapping import Loop, Mapping
from miredo.solver.spatial_bounds import SpatialBound, mirror_key, promising
from miredo.solver.validator import validate
from miredo.solver.workload import DIMS, OPERANDS, Layer

T_START = 0.05
T_END = 0.002
STEPS_PER_SECOND = 2500
"""Steps a budget of one (deterministic) second buys: about what this machine
runs per wall-clock second on ResNet-18 convs on table4."""
FIRST_NODE = 0.3
"""Share of :func:`unrolling_search`'s budget spent searching from its start."""
NODE_STEPS = 1250
"""Steps spent within each promising spatial unrolling (about 0.5 s)."""
NODE_PATIENCE = 4
"""The search over unrollings ends after this many nodes in a row without a
better mapping; the time left goes to the MIP. On ResNet-18 (table4, EDP,
3 s) the nodes that improved were among the first four after the first
search, or came after at most three misses; layer4.0.downsample searched
eight more in vain, and the branch and bound needs that time to prove it."""
PATIENCE = 2 * NODE_STEPS
"""A search ends after this many steps without a better mapping: small spaces
are exhausted long before the budget, which then goes to the MIP."""

Move = Callable[[Mapping, random.Random], Mapping | None]


def local_search(
    layer: Layer,
    arch: Arch,
    start: Mapping,
    objective: str,
    *,
    seconds: float | None = None,
    steps: int | None = None,
    seed: int = 0,
    stop_at: float = 0.0,
    unroll: bool = True,
    hoist: bool = False,
) -> tuple[Mapping, Cost] | None:
    """The best mapping found from ``start`` within ``seconds`` or ``steps``
    (or the first one whose objective is at most ``stop_at``, or when
    :data:`PATIENCE` steps in a row found nothing better); without
    ``unroll``, only among mappings with ``start``'s spatial unrolling; with
    ``hoist``, :meth:`_Moves.hoist` among the moves.

    ``None`` when no valid point of the model's factor space is near ``start``
    (see :func:`into_factor_space`)."""
    first = into_factor_space(layer, arch, start)
    if first is None or validate(layer, arch, first):
        return None
    moves = _Moves(layer, arch)
    if not unroll:
        moves.all = [mv for mv in moves.all if mv != moves.unroll]
    if hoist:
        moves.all.append(moves.hoist)
    rng = random.Random(seed)
    seen: dict[Mapping, float] = {}

    def score(m: Mapping | None) -> float:
        if m is None:
            return math.inf
        if m not in seen:
            valid = not validate(layer, arch, m)
            seen[m] = (
                evaluate(layer, arch, m).objective(objective) if valid else math.inf
            )
        return seen[m]

    cur, cur_v = first, score(first)
    best, best_v = cur, cur_v
    t0 = time.perf_counter()
    step = last = 0  # ``last``: the step that found ``best``
    while True:
        if steps is not None:
            progress = step / steps if steps > 0 else 1.0
        elif seconds is not None and seconds > 0:
            progress = (time.perf_counter() - t0) / seconds
        else:
            progress = 1.0
        if progress >= 1.0 or best_v <= stop_at or step - last > PATIENCE:
            break
        step += 1
        temp = T_START * (T_END / T_START) ** progress
        v = score(cand := rng.choice(moves.all)(cur, rng))
        if v == math.inf:
            continue
        if v <= cur_v or rng.random() < math.exp(-(v / cur_v - 1) / temp):
            cur, cur_v = cand, v
            if v < best_v:
                best, best_v, last = cand, v, step
    return best, evaluate(layer, arch, best)


def unrolling_search(
    layer: Layer,
    arch: Arch,
    start: Mapping,
    objective: str,
    bounds: list[SpatialBound],
    *,
    seconds: float | None = None,
    steps: int | None = None,
    seed: int = 0,
    stop_at: float = 0.0,
) -> tuple[Mapping, Cost] | None:
    """Branch over spatial unrollings, a local search at each node.

    The search from ``start`` (all moves) takes :data:`FIRST_NODE` of the
    budget. Then, best refined bound first (:func:`promising`, one of each
    mirrored pair on a square layer), every unrolling whose bound is below the
    incumbent gets :data:`NODE_STEPS` of search within it, from a start laid out
    like the incumbent, until the budget is spent or :data:`NODE_PATIENCE`
    nodes in a row found nothing better. A node whose bound reaches the
    incumbent is pruned: no mapping with that unrolling is better."""
    t0 = time.perf_counter()
    total = steps if steps is not None else (seconds or 0.0) * STEPS_PER_SECOND

    def left() -> float:
        """Steps of the budget left."""
        if steps is not None:
            return total - used
        return (t0 + (seconds or 0.0) - time.perf_counter()) * STEPS_PER_SECOND

    def search(m: Mapping, budget: float, unroll: bool):
        n = max(0, int(min(budget, left())))
        found = local_search(
            layer,
            arch,
            m,
            objective,
            **(
                {"steps": n} if steps is not None else {"seconds": n / STEPS_PER_SECOND}
            ),
            seed=seed,
            stop_at=stop_at,
            unroll=unroll,
        )
        return found, n

    used = 0.0
    best, n = search(start, FIRST_NODE * total, True)
    used += n
    if best is None:
        return None
    seen: set[tuple[tuple[str, tuple[tuple[str, int], ...]], ...]] = set()
    misses = 0  # nodes searched in a row without a better mapping
    for node in sorted(
        promising(layer, arch, objective, best[1].objective(objective), bounds)[1],
        key=lambda b: b.objective(objective),
    ):
        value = best[1].objective(objective)
        if left() < 1 or value <= stop_at or node.objective(objective) >= value:
            break
        key = mirror_key(layer, node)
        if key in seen:
            continue
        seen.add(key)
        first = unrolling_start(layer, arch, node, best[0])
        if first is None or validate(layer, arch, first):
            continue
        found, n = search(first, NODE_STEPS, False)
        used += n
        if found is not None and found[1].objective(objective) < value:
            best, misses = found, 0
        elif (misses := misses + 1) >= NODE_PATIENCE:
            break
    return best


def node_search(
    layer: Layer,
    arch: Arch,
    node: SpatialBound,
    like: Mapping,
    objective: str,
    *,
    seconds: float | None = None,
    steps: int | None = None,
    seed: int = 0,
    stop_at: float = 0.0,
) -> tuple[Mapping, Cost] | None:
    """:func:`local_search` within ``node``'s spatial unrolling (with
    :meth:`_Moves.hoist`), from a start laid out like ``like``
    (:func:`unrolling_start`; ``None`` without one)."""
    first = unrolling_start(layer, arch, node, like)
    if first is None or validate(layer, arch, first):
        return None
    return local_search(
        layer,
        arch,
        first,
        objective,
        seconds=seconds,
        steps=steps,
        seed=seed,
        stop_at=stop_at,
        unroll=False,
        hoist=True,
    )


def into_factor_space(layer: Layer, arch: Arch, m: Mapping) -> Mapping | None:
    """``m`` as a point of the model's factor space, or the nearest such point.

    A mapping made of other factors (the heuristic's merged factors can split a
    dim differently from Flexible Factorization) keeps, per axis and dim, the
    largest product of model factors not above its own unrolling; the other
    factors become temporal loops (:func:`_allocated`)."""
    factors = model_factors(layer)
    at = match_mapping(factors, m, [a.name for a in arch.spatial])
    if at is not None:
        return assignment_mapping(at)
    pool = {d: sorted(f.value for f in factors if f.dim == d) for d in DIMS}
    spatial: dict[str, tuple[Loop, ...]] = {}
    for ax in arch.spatial:
        loops: list[Loop] = []
        for d in DIMS:
            want = m.spatial_factor(ax.name, d)
            picked = _largest_product(pool[d], want) if want > 1 else []
            for v in picked:
                pool[d].remove(v)
                loops.append(Loop(d, v))
        if loops:
            spatial[ax.name] = tuple(loops)
    return _allocated(layer, arch, spatial, pool, m)


def unrolling_start(
    layer: Layer, arch: Arch, bound: SpatialBound, like: Mapping
) -> Mapping | None:
    """A mapping with ``bound``'s spatial unrolling, its temporal factors ordered
    and allocated as in ``like`` (see :func:`into_factor_space`)."""
    spatial: dict[str, tuple[Loop, ...]] = {}
    for d in DIMS:
        pool = sorted(f.value for f in model_factors(layer) if f.dim == d)
        for v in bound.temporal.get(d, []):
            pool.remove(v)
        for ax, dims in bound.spatial.items():
            picked = _largest_product(pool, dims.get(d, 1))
            for v in picked:
                pool.remove(v)
            spatial[ax] = spatial.get(ax, ()) + tuple(Loop(d, v) for v in picked)
    return _allocated(
        layer,
        arch,
        {ax: loops for ax, loops in spatial.items() if loops},
        {d: list(bound.temporal.get(d, [])) for d in DIMS},
        like,
    )


def _allocated(
    layer: Layer,
    arch: Arch,
    spatial: dict[str, tuple[Loop, ...]],
    pool: dict[str, list[int]],
    like: Mapping,
) -> Mapping | None:
    """Temporal loops over ``pool``'s factors, ordered by where ``like`` first
    loops over their dim (larger factors outside), allocated bottom-up with
    ``like``'s bypass and double buffering (without the latter if they do not
    fit)."""
    first = {lp.dim: i for i, lp in reversed(list(enumerate(like.temporal)))}
    order = sorted(
        (Loop(d, v) for d in DIMS for v in pool[d]),
        key=lambda lp: (first.get(lp.dim, len(first)), -lp.factor),
    )
    for db in (like.double_buffer, frozenset()):
        out, _ = allocate(layer, arch, spatial, tuple(order), like.bypass, db)
        if out is not None:
            return out
    return None


def _largest_product(values: list[int], limit: int) -> list[int]:
    """The sub-multiset of ``values`` with the largest product not above ``limit``."""
    best: list[int] = []
    best_p = 1
    for k in range(1, len(values) + 1):
        for combo in itertools.combinations(values, k):
            p = math.prod(combo)
            if best_p < p <= limit:
                best, best_p = list(combo), p
    return best


class _Moves:
    """The neighbourhood of a mapping; each move returns a candidate or ``None``."""

    def __init__(self, layer: Layer, arch: Arch) -> None:
        self.layer, self.arch = layer, arch
        self.bypassable = [
            (op, lv)
            for op in OPERANDS
            for lv in arch.levels_for(op)[1:-1]
            if arch.level(lv).bypass
        ]
        self.bufferable = [
            (lv.name, op)
            for lv in arch.levels[1:]
            for op in OPERANDS
            if op in lv.operands
            and lv.double_buffer
            and not (
                op == "W"
                and lv.name == arch.macro.level
                and arch.macro.weight_write_blocks_compute
            )
        ]
        self.all: list[Move] = [
            self.swap,
            self.reorder,
            self.reorder,
            self.boundary,
            self.boundary,
            self.bypass,
            self.double_buffer,
            self.unroll,
        ]

    def _allocate(
        self,
        m: Mapping,
        spatial: dict[str, tuple[Loop, ...]] | None = None,
        order: tuple[Loop, ...] | None = None,
        bypass: dict[str, frozenset[str]] | None = None,
        db: frozenset[tuple[str, str]] | None = None,
    ) -> Mapping | None:
        return allocate(
            self.layer,
            self.arch,
            m.spatial if spatial is None else spatial,
            m.temporal if order is None else order,
            m.bypass if bypass is None else bypass,
            m.double_buffer if db is None else db,
        )[0]

    def swap(self, m: Mapping, rng: random.Random) -> Mapping | None:
        if len(m.temporal) < 2:
            return None
        i, j = rng.sample(range(len(m.temporal)), 2)
        order = list(m.temporal)
        order[i], order[j] = order[j], order[i]
        return Mapping(m.spatial, order, m.level_of, m.bypass, m.double_buffer)

    def reorder(self, m: Mapping, rng: random.Random) -> Mapping | None:
        swapped = self.swap(m, rng)
        return None if swapped is None else self._allocate(swapped)

    def boundary(self, m: Mapping, rng: random.Random) -> Mapping | None:
        """One loop of one operand to the next level out or in (of those it uses),
        the loops staying sorted outermost level first."""
        if not m.temporal:
            return None
        op = rng.choice(OPERANDS)
        used = [lv for lv in self.arch.levels_for(op) if lv not in m.bypass[op]]
        lv = list(m.level_of[op])
        i = rng.randrange(len(lv))
        q = used.index(lv[i]) + rng.choice((-1, 1))
        if not 0 <= q < len(used):
            return None
        lv[i] = used[q]
        rank = [used.index(x) for x in lv]
        if any(a > b for a, b in itertools.pairwise(rank)):
            return None
        return Mapping(
            m.spatial,
            m.temporal,
            {**m.level_of, op: tuple(lv)},
            m.bypass,
            m.double_buffer,
        )

    def hoist(self, m: Mapping, rng: random.Random) -> Mapping | None:
        """One loop to the outermost position, at each operand's outermost
        level: an off-chip tile shrinks by that loop, refetched once per
        iteration of it (a swap moves it past one loop at a time, through
        worse mappings)."""
        if len(m.temporal) < 2:
            return None
        i = rng.randrange(1, len(m.temporal))
        order = (m.temporal[i], *m.temporal[:i], *m.temporal[i + 1 :])
        level_of = {op: (lv[0], *lv[:i], *lv[i + 1 :]) for op, lv in m.level_of.items()}
        return Mapping(m.spatial, order, level_of, m.bypass, m.double_buffer)

    def bypass(self, m: Mapping, rng: random.Random) -> Mapping | None:
        op, lv = rng.choice(self.bypassable) if self.bypassable else (None, None)
        if op is None:
            return None
        return self._allocate(m, bypass={**m.bypass, op: m.bypass[op] ^ {lv}})

    def double_buffer(self, m: Mapping, rng: random.Random) -> Mapping | None:
        if not self.bufferable:
            return None
        return self._allocate(m, db=m.double_buffer ^ {rng.choice(self.bufferable)})

    def unroll(self, m: Mapping, rng: random.Random) -> Mapping | None:
        """Move one factor: temporal → axis, axis → temporal, or axis → axis."""
        spatial = {a.name: list(m.spatial.get(a.name, ())) for a in self.arch.spatial}
        order = list(m.temporal)
        sources = [("t", i) for i in range(len(order))] + [
            (ax, k) for ax, lps in spatial.items() for k in range(len(lps))
        ]
        src, k = rng.choice(sources)
        loop = order[k] if src == "t" else spatial[src][k]
        targets = [
            a.name
            for a in self.arch.spatial
            if a.name != src
            and loop.dim in a.dims
            and math.prod(lp.factor for lp in spatial[a.name]) * loop.factor <= a.size
        ]
        if src != "t":
            targets.append("t")
        if not targets:
            return None
        dst = rng.choice(targets)
        if src == "t":
            del order[k]
        else:
            del spatial[src][k]
        if dst == "t":
            order.insert(rng.randrange(len(order) + 1), loop)
        else:
            spatial[dst].append(loop)
        sp = {ax: tuple(lps) for ax, lps in spatial.items() if lps}
        return self._allocate(m, spatial=sp, order=tuple(order))
