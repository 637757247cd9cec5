"""The ``heuristic`` baseline: a ZigZag-LOMA-like mapper scored by the evaluator.

The search, all deterministic (a seeded ``random.Random``):

1. **Spatial unrolling**, greedy for utilization: per axis (array axes first, then
   the cores axis) every assignment of exact divisors of the remaining bounds to
   the axis' dims that fits the axis; a beam keeps the best partial products of
   axis utilizations. The top ``n_spatial`` complete candidates (diversified over
   the dims put on the cores) are searched, and a no-unrolling candidate is the
   fallback when none of them fits.
2. **Temporal loops** are the Flexible-Factorization factors of the remaining
   bounds (merged prime factors, :mod:`miredo.solver.factorization`).
3. **Loop orders**: all distinct orders when there are at most ``budget`` of them,
   else ``budget`` distinct seeded random orders (shared across spatial
   candidates).
4. **Memory allocation, bottom-up per operand** (LOMA style): levels are visited
   innermost first; at each level every operand that uses it grows its block
   outwards one loop at a time, round-robin, while the level's occupancy
   (double-buffered tiles counted twice) stays within its capacity. Operands
   end up with different blocks (uneven mapping). A bypassable level that cannot
   even hold the blocks placed inside it is bypassed. Left-over loops go to the
   outermost level.
5. Each order is scored with every operand using every level, and with every
   bypassable level bypassed; the best ``refine`` candidates are then improved by
   greedy per-(operand, level) bypass toggles and greedy double-buffer toggles
   (each re-allocates and re-scores).

The best mapping under the objective (ties: lower latency, then energy) that
passes :func:`~miredo.solver.validator.validate` is returned with its cost.
"""

from __future__ import annotations

import itertools
import math
import random
from collections import Counter
from collections.abc import Callable, Iterator

from miredo.errors import MiredoError
from miredo.solver.evaluator import Cost, evaluate
from miredo.solver.factorization import flexible_factorization
from miredo.solver.hardware import Arch, SpatialAxis
from miredo.solver.mapping import Loop, Mapping
from miredo.solver.validator import validate
from miredo.solver.workload import DIMS, OPERANDS, Layer

Spatial = dict[str, tuple[Loop, ...]]


def heuristic_mapping(
    layer: Layer,
    arch: Arch,
    objective: str = "edp",
    budget: int = 300,
    *,
    n_spatial: int = 3,
    refine: int = 4,
    seed: int = 0,
) -> tuple[Mapping, Cost]:
    """Best mapping found for ``layer`` on ``arch`` under ``objective``.

    ``budget`` bounds the loop orders tried per spatial candidate. Raises a
    :class:`MiredoError` naming the layer and the binding level when the layer
    does not fit even with minimal tiles.
    """
    rng = random.Random(seed)
    candidates = spatial_candidates(layer, arch, n_spatial)
    scored: list[tuple[tuple[float, float, float], int, Mapping, Cost]] = []
    serial = itertools.count()

    seen: dict[Mapping, Cost] = {}

    def score(m: Mapping) -> Cost:
        if m in seen:
            return seen[m]
        c = seen[m] = evaluate(layer, arch, m)
        scored.append(
            ((c.objective(objective), float(c.latency), c.energy), next(serial), m, c)
        )
        return c

    bypass_all = {
        op: frozenset(lv for lv in arch.levels_for(op)[1:-1] if arch.level(lv).bypass)
        for op in OPERANDS
    }
    no_bypass: dict[str, frozenset[str]] = {op: frozenset() for op in OPERANDS}
    fallback = [{ax.name: () for ax in arch.spatial}]
    for group in (candidates, fallback):
        for spatial in group:
            loops = temporal_loops(layer, spatial)
            for order in loop_orders(loops, budget, rng):
                for bypass in (no_bypass, bypass_all):
                    m, _ = allocate(layer, arch, spatial, order, bypass, frozenset())
                    if m is None:  # a level overflowed: see ``infeasible``
                        continue
                    score(m)
        if scored:
            break
    if not scored:
        # the greedy allocation can overfill inner levels when an outer one is
        # smaller; the smallest tiles are the last resort
        minimal = minimal_mapping(layer, arch)
        if validate(layer, arch, minimal):
            raise infeasible(layer, arch)
        score(minimal)

    # refine the best few: bypass toggles, then double-buffer toggles
    scored.sort(key=lambda t: (t[0], t[1]))
    seeds = [t[2] for t in scored[:refine]]
    for m0 in seeds:
        _refine(layer, arch, m0, score, objective)

    scored.sort(key=lambda t: (t[0], t[1]))
    for _, _, m, c in scored:
        if not validate(layer, arch, m):
            return m, c
    raise infeasible(layer, arch)


def minimal_mapping(layer: Layer, arch: Arch) -> Mapping:
    """The smallest tiles there are: no unrolling, every loop at the outermost
    level, nothing bypassed or double-buffered (each on-chip level holds one
    element of each operand it may hold)."""
    loops = tuple(Loop(d, layer.dims[d]) for d in DIMS if layer.dims[d] > 1)
    return Mapping(
        spatial={},
        temporal=loops,
        level_of={op: (arch.outermost,) * len(loops) for op in OPERANDS},
        bypass={},
        double_buffer=frozenset(),
    )


def infeasible(layer: Layer, arch: Arch) -> MiredoError:
    """The error for a layer no mapping fits, naming the binding capacity."""
    problems = validate(layer, arch, minimal_mapping(layer, arch))
    why = problems[0] if problems else "no mapping passes the validator"
    return MiredoError(
        f"cannot be mapped onto '{arch.name}' even with the smallest tiles: {why}",
        f"layer {layer.name}",
    )


def _refine(
    layer: Layer,
    arch: Arch,
    m0: Mapping,
    score: Callable[[Mapping], Cost],
    objective: str,
) -> None:
    """Greedy bypass toggles, then greedy double-buffer toggles, from ``m0``."""
    spatial, order = m0.spatial, m0.temporal
    bypass = dict(m0.bypass)
    db: frozenset[tuple[str, str]] = frozenset()
    best = score(m0).objective(objective)
    for op in OPERANDS:
        for lv in arch.levels_for(op)[1:-1]:
            if not arch.level(lv).bypass:
                continue
            trial = {**bypass, op: bypass[op] ^ {lv}}
            m, _ = allocate(layer, arch, spatial, order, trial, db)
            if m is not None and (v := score(m).objective(objective)) < best:
                best, bypass = v, trial
    for level in arch.levels[1:]:
        for op in OPERANDS:
            if (
                op not in level.operands
                or level.name in bypass[op]
                or not level.double_buffer
                or (
                    op == "W"
                    and level.name == arch.macro.level
                    and arch.macro.weight_write_blocks_compute
                )
            ):
                continue
            trial_db = db | {(level.name, op)}
            m, _ = allocate(layer, arch, spatial, order, bypass, trial_db)
            if m is not None and (v := score(m).objective(objective)) < best:
                best, db = v, trial_db


# ----------------------------------------------------------------------- spatial
def _axis_options(axis: SpatialAxis, rem: dict[str, int]) -> list[dict[str, int]]:
    """Every divisor assignment of ``axis.dims`` whose product fits the axis."""
    out: list[dict[str, int]] = []
    dims = [d for d in axis.dims if rem[d] > 1]

    def rec(k: int, used: int, cur: dict[str, int]) -> None:
        if k == len(dims):
            out.append(dict(cur))
            return
        d = dims[k]
        for f in _divisors(rem[d]):
            if used * f > axis.size:
                break
            cur[d] = f
            rec(k + 1, used * f, cur)
        cur.pop(d, None)

    rec(0, 1, {})
    return out


def spatial_candidates(layer: Layer, arch: Arch, top: int = 3) -> list[Spatial]:
    """The ``top`` spatial unrollings with the best product of axis utilizations."""
    axes = [*arch.array_axes, arch.cores_axis]
    beam: list[tuple[float, dict[str, dict[str, int]], dict[str, int]]] = [
        (1.0, {}, dict(layer.dims))
    ]
    width = max(8, 4 * top)
    for ax in axes:
        nxt = []
        for util, chosen, rem in beam:
            for opt in _axis_options(ax, rem):
                used = math.prod(opt.values())
                new_rem = dict(rem)
                for d, f in opt.items():
                    new_rem[d] //= f
                nxt.append((util * used / ax.size, {**chosen, ax.name: opt}, new_rem))
        nxt.sort(key=lambda t: (-t[0], _sig(t[1])))
        beam = nxt[:width]
    picked: list[dict[str, dict[str, int]]] = []
    seen: set[tuple[str, ...]] = set()
    for _, chosen, _ in beam:  # first pass: one per set of dims on the cores
        key = tuple(sorted(d for d, f in chosen[arch.cores_axis.name].items() if f > 1))
        if key not in seen and len(picked) < top:
            seen.add(key)
            picked.append(chosen)
    for _, chosen, _ in beam:
        if len(picked) >= top:
            break
        if chosen not in picked:
            picked.append(chosen)
    return [
        {
            ax: tuple(Loop(d, f) for d, f in sorted(opt.items()) if f > 1)
            for ax, opt in chosen.items()
        }
        for chosen in picked
    ]


def _sig(chosen: dict[str, dict[str, int]]) -> str:
    return repr(sorted((ax, sorted(o.items())) for ax, o in chosen.items()))


def _divisors(n: int) -> list[int]:
    return [d for d in range(1, n + 1) if n % d == 0]


# ---------------------------------------------------------------------- temporal
def temporal_loops(layer: Layer, spatial: Spatial) -> list[Loop]:
    """Flexible-Factorization loops of the bounds left after ``spatial``."""
    rem = dict(layer.dims)
    for loops in spatial.values():
        for lp in loops:
            rem[lp.dim] //= lp.factor
    return [Loop(d, f) for d in DIMS for f in flexible_factorization(rem[d])]


def loop_orders(
    loops: list[Loop], budget: int, rng: random.Random
) -> Iterator[tuple[Loop, ...]]:
    """All distinct orders if there are at most ``budget``, else ``budget`` sampled."""
    counts = Counter(loops)
    total = math.factorial(len(loops))
    for c in counts.values():
        total //= math.factorial(c)
    if total <= budget:
        yield from multiset_permutations(
            sorted(loops, key=lambda lp: (lp.dim, lp.factor))
        )
        return
    seen: set[tuple[Loop, ...]] = set()
    base = list(loops)
    tries = 0
    while len(seen) < budget and tries < 20 * budget:
        tries += 1
        rng.shuffle(base)
        order = tuple(base)
        if order not in seen:
            seen.add(order)
            yield order


def multiset_permutations(items: list[Loop]) -> Iterator[tuple[Loop, ...]]:
    """Every distinct order of a multiset of loops."""
    counts = Counter(items)
    keys = list(dict.fromkeys(items))
    n = len(items)
    cur: list[Loop] = []

    def rec() -> Iterator[tuple[Loop, ...]]:
        if len(cur) == n:
            yield tuple(cur)
            return
        for k in keys:
            if counts[k]:
                counts[k] -= 1
                cur.append(k)
                yield from rec()
                cur.pop()
                counts[k] += 1

    yield from rec()


# -------------------------------------------------------------------- allocation
def allocate(
    layer: Layer,
    arch: Arch,
    spatial: Spatial,
    order: tuple[Loop, ...],
    bypass: dict[str, frozenset[str]],
    double_buffer: frozenset[tuple[str, str]],
) -> tuple[Mapping | None, str | None]:
    """Bottom-up per-operand loop blocks for a fixed order.

    A bypassable level that cannot hold the blocks already placed inside it is
    bypassed by the operands concerned. Returns ``(None, level)`` when a level
    that cannot be bypassed overflows before it takes any loop.
    """
    n = len(order)
    cores = arch.cores_axis.name
    arr = dict.fromkeys(DIMS, 1)
    core = dict.fromkeys(DIMS, 1)
    for ax, loops in spatial.items():
        for lp in loops:
            (core if ax == cores else arr)[lp.dim] *= lp.factor
    red = layer.reduction
    prec = arch.precision
    skipped = {op: frozenset(bypass.get(op, ())) for op in OPERANDS}
    used = {
        op: [lv for lv in arch.levels_for(op) if lv not in skipped[op]]
        for op in OPERANDS
    }
    pos = dict.fromkeys(OPERANDS, n)  # loops [pos, n) are already placed inner
    inner = {op: dict.fromkeys(DIMS, 1) for op in OPERANDS}  # their extents
    level_of = {op: [arch.outermost] * n for op in OPERANDS}
    red_before = [False] * (n + 1)  # red_before[k]: a reduction loop among 0..k-1
    for i, lp in enumerate(order):
        red_before[i + 1] = red_before[i] or (lp.factor > 1 and lp.dim in red)

    # the macro keeps whole ru x cu weight blocks on a grid (validator rule 11)
    ru = math.prod(arr[d] for d in DIMS if d in red)
    cu = math.prod(arr[d] for d in DIMS if d not in red)
    grid = (arch.macro.rows // ru) * (arch.macro.cols // cu)
    blocks = 1

    for lv in reversed(arch.levels[1:]):
        ops = [op for op in OPERANDS if lv.name in used[op]]
        if not ops:
            continue
        spread = arr if lv.per_core else {d: arr[d] * core[d] for d in DIMS}

        def tile(op: str, ext: dict[str, int], spread: dict[str, int] = spread) -> int:
            return layer.volume(op, {d: ext[d] * spread[d] for d in DIMS})

        weight: dict[str, int] = {}  # bits per element x copies
        for op in ops:
            if op == "I":
                bits = prec.input
            elif op == "W":
                bits = prec.weight
            elif lv.name == arch.innermost("O") or red_before[pos[op]]:
                bits = prec.psum
            else:
                bits = prec.output
            weight[op] = bits * (2 if (lv.name, op) in double_buffer else 1)
        cap = lv.capacity_bits
        start = dict(pos)
        cur = {op: tile(op, inner[op]) * weight[op] for op in ops}
        total = sum(cur.values())
        if cap is not None and total > cap and lv.bypass:
            # the inner blocks do not fit here: skip this level where allowed
            for op in [op for op in ops if lv.name != arch.innermost(op)]:
                skipped[op] = skipped[op] | {lv.name}
                total -= cur.pop(op)
                ops.remove(op)
        if cap is not None and total > cap:
            return None, lv.name
        active = list(ops)
        while active:
            for op in list(active):
                if pos[op] == 0:
                    active.remove(op)
                    continue
                lp = order[pos[op] - 1]
                ext = dict(inner[op])
                ext[lp.dim] *= lp.factor
                new = tile(op, ext) * weight[op]
                grows_macro = (
                    op == "W"
                    and lv.name == arch.macro.level
                    and lp.dim in layer.relevant["W"]
                )
                if grows_macro and blocks * lp.factor > grid:
                    active.remove(op)
                    continue
                if cap is None or total - cur[op] + new <= cap:
                    if grows_macro:
                        blocks *= lp.factor
                    total += new - cur[op]
                    cur[op], inner[op] = new, ext
                    pos[op] -= 1
                else:  # occupancy only grows: this operand is done here
                    active.remove(op)
        for op in ops:
            for i in range(pos[op], start[op]):
                level_of[op][i] = lv.name
    mapping = Mapping(
        spatial=dict(spatial),
        temporal=tuple(order),
        level_of={op: tuple(v) for op, v in level_of.items()},
        bypass=skipped,
        double_buffer=frozenset(
            (lv, op) for lv, op in double_buffer if lv not in skipped[op]
        ),
    )
    return mapping, None
