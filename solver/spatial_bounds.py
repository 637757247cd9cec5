"""Lower bounds per spatial unrolling: the bound a solver's relaxation misses.

The LP and propagation bounds of both MIP backends stay near the physical bound
on 3×3 convolutions, because which loop is innermost and which registers can be
double-buffered stay fractional. Both are settled, per spatial unrolling *s*, by
arithmetic alone, so this module enumerates every *s* of the model's factor space
(each factor F_{d,f} on an axis that allows d, or temporal; the axis sizes
respected) and bounds every mapping with that *s* from below (in the evaluator's
semantics, ``solver/evaluator.py``):

* **innermost slot.** With ``n_iter`` = Π of the temporal factors, the
  recursion gives ``Lat_0 ≥ n_iter · max(t_mvm + S_{n−1}, D_{n−1})`` and the
  port of the register edges is busy ``n_iter × Σ τ`` (``W_i ≥ f_i · W_{i+1}``).
  The innermost loop has some dim d. Every operand λ relevant to d whose
  register cannot hold the tile grown by d's smallest temporal factor (its
  capacity) reloads its register on every iteration: one transfer of at least
  its per-MVM vector. It is charged as single-buffered when the register cannot
  hold two vectors (or the level forbids double buffering); as double-buffered
  otherwise, which never costs more. The bound takes the cheapest d.
* **physical.** The DRAM-compulsory bound of :mod:`miredo.solver.bounds`.
* **energy.** ``n_mvm(s)`` = ``n_iter`` × active cores MVMs, each with the
  macro activation and the register accesses of the evaluator's compute energy
  (exact for *s*); every weight, touched input and output crosses DRAM once;
  leakage over the latency bound.

The layer's bound is the minimum over *s*. It is valid for every mapping of the
model's space (tested against exhaustive enumeration).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass

from miredo.solver.bounds import dram_bound
from miredo.solver.factor_space import model_factors
from miredo.solver.hardware import Arch, Level
from miredo.solver.workload import DIMS, OPERANDS, Layer


@dataclass(frozen=True)
class SpatialBound:
    """Lower bounds of every mapping with one spatial unrolling."""

    spatial: dict[str, dict[str, int]]
    """Axis -> dim -> unrolled factor product."""
    n_iter: int
    """Temporal iterations per core (Π temporal factors)."""
    latency: float
    energy: float

    @property
    def edp(self) -> float:
        return self.latency * self.energy

    def objective(self, name: str) -> float:
        return {"latency": self.latency, "energy": self.energy, "edp": self.edp}[name]


def spatial_unrollings(
    layer: Layer, arch: Arch, factors: dict[str, list[int]]
) -> Iterator[tuple[dict[str, dict[str, int]], dict[str, list[int]]]]:
    """Every distinct (axis -> dim -> product, dim -> temporal factors) split."""
    axes = list(arch.spatial)
    # per dim: the distinct ways to send its factors to axes or keep them temporal
    per_dim: dict[str, dict[tuple[int, ...], list[int]]] = {}
    for d in DIMS:
        states: dict[tuple[int, ...], list[int]] = {tuple(1 for _ in axes): []}
        for f in factors.get(d, []):
            nxt: dict[tuple[int, ...], list[int]] = {}
            for prods, temporal in states.items():
                nxt.setdefault(prods, sorted([*temporal, f]))
                for u, ax in enumerate(axes):
                    if d in ax.dims and prods[u] * f <= ax.size:
                        p = list(prods)
                        p[u] *= f
                        nxt.setdefault(tuple(p), temporal)
            states = nxt
        per_dim[d] = states
    # combine dims, keeping every axis within its size
    combos: list[tuple[tuple[int, ...], dict[str, tuple[int, ...]]]] = [
        (tuple(1 for _ in axes), {})
    ]
    for d in DIMS:
        out = []
        for used, chosen in combos:
            for prods in per_dim[d]:
                total = tuple(a * b for a, b in zip(used, prods, strict=True))
                if all(t <= ax.size for t, ax in zip(total, axes, strict=True)):
                    out.append((total, {**chosen, d: prods}))
        combos = out
    for _, chosen in combos:
        spatial = {
            ax.name: {d: chosen[d][u] for d in DIMS if chosen[d][u] > 1}
            for u, ax in enumerate(axes)
        }
        temporal = {d: per_dim[d][chosen[d]] for d in DIMS}
        yield spatial, temporal


def _parents(arch: Arch, op: str, child: Level) -> list[Level]:
    """Levels that may feed ``child`` for ``op``: outwards to the first non-bypassable."""
    names = list(arch.levels_for(op))
    above = [arch.level(name) for name in names[: names.index(child.name)]]
    out: list[Level] = []
    for lv in reversed(above):
        out.append(lv)
        if not lv.bypass:
            break
    return out


def bound_for(
    layer: Layer,
    arch: Arch,
    spatial: dict[str, dict[str, int]],
    temporal: dict[str, list[int]],
) -> SpatialBound:
    """Latency and energy bounds of every mapping with this spatial unrolling."""
    cores = arch.cores_axis.name
    arr = {d: 1 for d in DIMS}
    core = {d: 1 for d in DIMS}
    for ax, dims in spatial.items():
        for d, v in dims.items():
            (core if ax == cores else arr)[d] *= v
    n_iter = math.prod(f for fs in temporal.values() for f in fs)
    active = math.prod(core.values())
    prec = arch.precision
    red = math.prod(f for d in layer.reduction for f in temporal.get(d, []))

    reg: dict[str, tuple[Level, int, int]] = {}  # op -> (register, vector elems, bits)
    for op in OPERANDS:
        lv = arch.level(arch.innermost(op))
        ext = {d: arr[d] * (1 if lv.per_core else core[d]) for d in DIMS}
        bits = {"I": prec.input, "W": prec.weight, "O": prec.psum}[op]
        reg[op] = (lv, layer.volume(op, ext), bits)

    def fits_grown(op: str, d: str, f: int) -> bool:
        lv, _, bits = reg[op]
        ext = {x: arr[x] * (1 if lv.per_core else core[x]) for x in DIMS}
        ext[d] *= f
        return layer.volume(op, ext) * bits <= (lv.capacity_bits or math.inf)

    def single_only(op: str) -> bool:
        lv, elems, bits = reg[op]
        blocked = op == "W" and arch.macro.weight_write_blocks_compute
        cap = lv.capacity_bits or math.inf
        return not lv.double_buffer or blocked or 2 * elems * bits > cap

    def tau(op: str) -> int:
        lv, elems, bits = reg[op]
        bw = max(
            min(p.bw_bits_per_cycle, lv.bw_bits_per_cycle)
            for p in _parents(arch, op, lv)
        )
        p_bits = prec.psum if (op == "O" and red > 1) else bits
        if op == "O" and red == 1:
            p_bits = prec.output
        return max(-(-elems * p_bits // bw), -(-elems * bits // lv.bw_bits_per_cycle))

    ports = {op: {p.name for p in _parents(arch, op, reg[op][0])} for op in OPERANDS}
    one_port = len(set().union(*ports.values())) == 1
    t_mvm = arch.t_mvm
    best = math.inf if n_iter > 1 else float(t_mvm)
    for d in DIMS:
        if not temporal.get(d):
            continue
        f_min = min(temporal[d])
        single: list[float] = []
        double: list[float] = []
        busy = 0.0
        for op in OPERANDS:
            if (
                d not in layer.relevant[op]
                or reg[op][0].bypass
                or fits_grown(op, d, f_min)
            ):
                continue
            t = tau(op)
            charge = 2 * t if op == "O" and red > 1 else t
            busy += t * (2 - 1 / red) if op == "O" and red > 1 else t
            (single if single_only(op) else double).append(charge)
        if one_port:
            cost = max(t_mvm + sum(single), sum(double), busy)
        else:
            cost = max(t_mvm + max(single, default=0), max(double, default=0))
        best = min(best, cost)
    latency = max(float(dram_bound(layer, arch)), n_iter * best)

    dram = arch.levels[0]
    n_mvm = n_iter * active
    i_vec = layer.volume("I", arr) * prec.input
    o_vec = layer.volume("O", arr) * prec.psum
    ireg, oreg = reg["I"][0], reg["O"][0]
    energy = (
        (layer.full_volume("W") * prec.weight + layer.full_volume("I") * prec.input)
        * dram.read_pj_per_bit
        + layer.full_volume("O") * prec.output * dram.write_pj_per_bit
        + n_mvm
        * (
            arch.macro.mvm_energy_pj
            + i_vec * ireg.read_pj_per_bit
            + o_vec * (oreg.read_pj_per_bit + oreg.write_pj_per_bit)
        )
        + arch.leakage_pj_per_cycle * latency
    )
    return SpatialBound(spatial, n_iter, latency, energy)


def spatial_bounds(
    layer: Layer, arch: Arch, k_min: int = 2, alpha: float = 0.1
) -> list[SpatialBound]:
    """The bound of every spatial unrolling of the model's factor space."""
    factors: dict[str, list[int]] = {d: [] for d in DIMS}
    for f in model_factors(layer, None, k_min, alpha):
        factors[f.dim].append(f.value)
    return [
        bound_for(layer, arch, sp, tm)
        for sp, tm in spatial_unrollings(layer, arch, factors)
    ]


def layer_bound(layer: Layer, arch: Arch, objective: str) -> float:
    """min over spatial unrollings: a lower bound on ``objective`` of any mapping."""
    return min(b.objective(objective) for b in spatial_bounds(layer, arch))
