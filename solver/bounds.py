"""Physical lower bounds on a layer's latency, valid for every mapping.

* compute: every MAC happens in some macro cell, each macro activation takes
  ``t_mvm`` cycles, and at most ``cores × rows × cols`` cells work at once;
* DRAM: every weight, every input element the layer actually touches and every
  output crosses the off-chip port once, at its precision.

The evaluator never goes below ``physical_bound`` (tested), and the MIP may use
both bounds as cuts. Results are exact fractions of cycles.
"""

from __future__ import annotations

from fractions import Fraction

from miredo.solver.hardware import Arch
from miredo.solver.workload import Layer


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
