"""Physical lower bounds on a layer's latency, valid for every mapping.

* compute: every MAC happens in some macro cell, each macro activation takes
  ``t_mvm`` cycles, and at most ``cores × rows × cols`` cells work at once;
* DRAM: every weight, every input element the layer actually touches and every
  output crosses the off-chip port once, at its precision.

The evaluator never goes below ``physical_bound`` (tested), and the MIP may use
both bounds as cuts. Results are exact fractions of cycles.
"""

from __future__ import annotations

import math
from fractions import Fraction
from typing import TYPE_CHECKING

from miredo.solver.hardware import Arch
from miredo.solver.workload import Layer

if TYPE_CHECKING:
    from miredo.solver.evaluator import Cost


def compute_bound(layer: Layer, arch: Arch) -> Fraction:
    """``MACs · t_mvm / (cores · rows · cols)`` cycles."""
    cells = arch.n_cores * arch.macro.rows * arch.macro.cols
    return Fraction(layer.macs * arch.t_mvm, cells)


def dram_bound(layer: Layer, arch: Arch) -> Fraction:
    """``(|W|·w + |I touched|·i + |O|·o) / BW_DRAM`` cycles.

    The input count is the exact set of input positions the nest touches (halo
    arithmetic of :meth:`Layer.in_rows`), so a 1x1 stride-2 convolution counts a
    quarter of its input.
    """
    p = arch.precision
    bits = (
        layer.full_volume("W") * p.weight
        + layer.full_volume("I") * p.input
        + layer.full_volume("O") * p.output
    )
    return Fraction(bits, arch.levels[0].bw_bits_per_cycle)


def physical_bound(layer: Layer, arch: Arch) -> Fraction:
    """The larger of :func:`compute_bound` and :func:`dram_bound`."""
    return max(compute_bound(layer, arch), dram_bound(layer, arch))


def dynamic_energy_bound(layer: Layer, arch: Arch) -> float:
    """A lower bound on the dynamic energy in pJ of any mapping.

    Every weight and every touched input element leaves DRAM at least once,
    every output element is written to DRAM at least once at output precision,
    and the iteration space needs at least ``MACs / (rows · cols)`` macro
    activations.
    """
    p = arch.precision
    dram = arch.levels[0]
    read_bits = layer.full_volume("W") * p.weight + layer.full_volume("I") * p.input
    write_bits = layer.full_volume("O") * p.output
    n_mvm = -(-layer.macs // (arch.macro.rows * arch.macro.cols))
    return (
        read_bits * dram.read_pj_per_bit
        + write_bits * dram.write_pj_per_bit
        + n_mvm * arch.macro.mvm_energy_pj
    )


def energy_bound(layer: Layer, arch: Arch) -> float:
    """Dynamic energy bound plus leakage over the physical latency bound, in pJ."""
    return dynamic_energy_bound(layer, arch) + arch.leakage_pj_per_cycle * float(
        physical_bound(layer, arch)
    )


def latency_limit(objective: str, value: float, e0: float, leak: float) -> float:
    """The largest latency L at which a mapping spending at least ``e0`` plus
    leakage ``leak·L`` can reach ``value`` on ``objective``: ``value``
    (latency), ``e0 + leak·L ≤ value`` (energy) or ``L·(e0 + leak·L) ≤ value``
    (EDP); ``inf`` when nothing bounds it."""
    if objective == "latency":
        return value
    if objective == "energy":
        return (value - e0) / leak if leak > 0 else math.inf
    if leak > 0:
        return (-e0 + math.sqrt(e0 * e0 + 4 * leak * value)) / (2 * leak)
    return value / e0 if e0 > 0 else math.inf


def latency_cap(
    layer: Layer, arch: Arch, objective: str, incumbent: Cost
) -> int | None:
    """The largest latency of any mapping that may beat ``incumbent`` on
    ``objective`` (``None``: no such bound, energy without leakage).

    Every mapping spends at least ``e0`` = :func:`dynamic_energy_bound` plus
    leakage over its latency (:func:`latency_limit`). The incumbent itself
    always satisfies its own cap."""
    if objective == "latency":
        return math.ceil(incumbent.latency)
    root = latency_limit(
        objective,
        incumbent.objective(objective),
        dynamic_energy_bound(layer, arch),
        arch.leakage_pj_per_cycle,
    )
    return None if math.isinf(root) else math.ceil(root * (1 + 1e-9))
