"""Hardware variants of a description: the what-if designs of the benchmark's Fig. 5.

Each variant changes one thing of a base `Arch` and keeps everything else:

* **macro shape** (`with_macro_shape`): ``rows x cols`` of the macro. The rows
  axis is the array axis that unrolls a reduction dim (C, R or S), the cols axis
  the other one; both take the new sizes. What is sized by the array follows it:
  the macro level's capacity and the macro activation energy scale with the cell
  count, the macro's write port with ``cols`` (one row of weights per cycle), and
  a register level that holds only I (the input vector of one MVM) or only O (the
  partial sums of one MVM) scales its capacity and port with ``rows`` or ``cols``.
  The default shapes keep ``rows x cols``: half the rows and twice the columns,
  the base, twice the rows and half the columns (``table4``: 64x64, 128x32,
  256x16).
* **core count** (`with_cores`): the size of the ``cores`` axis. The chip's
  leakage is given per chip, not per core, and is kept.
* **local buffers** (`with_local_buffers`): the capacity of every per-core level
  that is neither an operand's innermost level nor the macro (``table4``: the
  256 KB ``LB``), times a factor. Energies per bit are kept, so the variant
  isolates the effect of capacity on the mapping.

A variant whose parameters equal the base's is the base itself (same name), so a
sweep can run it once. Every variant is validated like a loaded file
(`arch_from_dict`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from miredo.errors import MiredoError
from miredo.solver.hardware import Arch, arch_from_dict

REDUCTION_DIMS = frozenset({"C", "R", "S"})
"""Dims whose unrolling makes an array axis the macro's rows (wordlines)."""

DEFAULT_CORES: tuple[int, ...] = (2, 4, 8, 16)
"""Core counts of the default sweep."""

DEFAULT_BUFFER_SCALES: tuple[Fraction, ...] = (Fraction(1, 4), Fraction(1), Fraction(4))
"""Local-buffer capacity factors of the default sweep."""


@dataclass(frozen=True)
class Variant:
    """One point of a hardware sweep."""

    family: str
    """``macro``, ``cores`` or ``local buffer``."""
    label: str
    """What distinguishes it within its family, e.g. ``64x64``, ``16 cores``."""
    arch: Arch
    """The description (the base itself when nothing changes)."""


def _derive(base: Arch, raw: dict[str, Any], name: str) -> Arch:
    raw["name"] = name
    return arch_from_dict(raw, f"<{name}>")


def _scale_int(value: int, factor: Fraction, what: str) -> int:
    scaled = value * factor
    if scaled.denominator != 1 or scaled < 1:
        raise MiredoError(
            f"{what} of {value} scaled by {factor} is not a whole number >= 1; "
            "choose another factor",
            "hardware variant",
        )
    return int(scaled)


def _array_axes(arch: Arch) -> tuple[str, str]:
    axes = arch.array_axes
    rows = [a.name for a in axes if set(a.dims) & REDUCTION_DIMS]
    cols = [a.name for a in axes if not set(a.dims) & REDUCTION_DIMS]
    if len(axes) != 2 or len(rows) != 1 or len(cols) != 1:
        raise MiredoError(
            "macro-shape variants need exactly two array axes, one unrolling a "
            f"reduction dim (C, R, S) and one not; '{arch.name}' has "
            f"{', '.join(a.name for a in axes)}",
            "hardware variant",
        )
    return rows[0], cols[0]


def with_macro_shape(base: Arch, rows: int, cols: int) -> Arch:
    """``base`` with a ``rows x cols`` macro (see the module docstring)."""
    if rows < 1 or cols < 1:
        raise MiredoError(
            f"macro shape {rows}x{cols}: sizes must be >= 1", "hardware variant"
        )
    m = base.macro
    if (rows, cols) == (m.rows, m.cols):
        return base
    row_axis, col_axis = _array_axes(base)
    fr, fc = Fraction(rows, m.rows), Fraction(cols, m.cols)
    raw = base.model_dump(mode="json")
    raw["macro"].update(
        rows=rows, cols=cols, mvm_energy_pj=m.mvm_energy_pj * float(fr * fc)
    )
    for ax in raw["spatial"]:
        if ax["name"] == row_axis:
            ax["size"] = rows
        elif ax["name"] == col_axis:
            ax["size"] = cols
    for lv in raw["levels"]:
        scale = None
        if lv["name"] == m.level:
            lv["capacity_bits"] = _scale_int(
                lv["capacity_bits"], fr * fc, f"{lv['name']} capacity"
            )
            scale = fc
        elif lv["per_core"] and lv["operands"] == ["I"]:
            scale = fr
            lv["capacity_bits"] = _scale_int(
                lv["capacity_bits"], fr, f"{lv['name']} capacity"
            )
        elif lv["per_core"] and lv["operands"] == ["O"]:
            scale = fc
            lv["capacity_bits"] = _scale_int(
                lv["capacity_bits"], fc, f"{lv['name']} capacity"
            )
        if scale is not None:
            lv["bw_bits_per_cycle"] = max(
                1, math.floor(lv["bw_bits_per_cycle"] * scale)
            )
    return _derive(base, raw, f"{base.name}-macro{rows}x{cols}")


def with_cores(base: Arch, cores: int) -> Arch:
    """``base`` with ``cores`` cores."""
    if cores < 1:
        raise MiredoError(f"core count {cores} must be >= 1", "hardware variant")
    if cores == base.n_cores:
        return base
    raw = base.model_dump(mode="json")
    for ax in raw["spatial"]:
        if ax["kind"] == "cores":
            ax["size"] = cores
    return _derive(base, raw, f"{base.name}-cores{cores}")


def local_buffers(arch: Arch) -> list[str]:
    """The per-core levels that are neither an operand's innermost level nor the
    macro: the ones `with_local_buffers` scales."""
    inner = {arch.innermost(op) for op in ("I", "W", "O")} | {arch.macro.level}
    return [lv.name for lv in arch.levels if lv.per_core and lv.name not in inner]


def with_local_buffers(base: Arch, factor: Fraction) -> Arch:
    """``base`` with every local buffer's capacity times ``factor``."""
    factor = Fraction(factor)
    if factor == 1:
        return base
    names = local_buffers(base)
    if not names:
        raise MiredoError(
            f"'{base.name}' has no local buffer to scale (a per-core level that is "
            "not an operand's innermost level)",
            "hardware variant",
        )
    raw = base.model_dump(mode="json")
    for lv in raw["levels"]:
        if lv["name"] in names:
            lv["capacity_bits"] = _scale_int(
                lv["capacity_bits"], factor, f"{lv['name']} capacity"
            )
    return _derive(base, raw, f"{base.name}-lb{float(factor):g}x")


def default_macro_shapes(arch: Arch) -> list[tuple[int, int]]:
    """Half the rows and twice the cols, the base, twice the rows and half the
    cols (those that stay whole)."""
    r, c = arch.macro.rows, arch.macro.cols
    shapes = []
    if r % 2 == 0:
        shapes.append((r // 2, c * 2))
    shapes.append((r, c))
    if c % 2 == 0:
        shapes.append((r * 2, c // 2))
    return shapes


def _kib(bits: int) -> str:
    kib = Fraction(bits, 8 * 1024)
    return f"{float(kib):g} KB"


def hardware_variants(
    base: Arch,
    *,
    macro_shapes: Sequence[tuple[int, int]] | None = None,
    cores: Sequence[int] = DEFAULT_CORES,
    buffer_scales: Sequence[Fraction] = DEFAULT_BUFFER_SCALES,
) -> list[Variant]:
    """The sweep: every macro shape, core count and local-buffer factor, in that
    order (the base may appear once per family)."""
    out: list[Variant] = []
    for r, c in default_macro_shapes(base) if macro_shapes is None else macro_shapes:
        out.append(Variant("macro", f"{r}x{c}", with_macro_shape(base, r, c)))
    for n in cores:
        out.append(Variant("cores", f"{n} cores", with_cores(base, n)))
    lbs = local_buffers(base) if buffer_scales else []
    for f in buffer_scales:
        arch = with_local_buffers(base, Fraction(f))
        label = f"x{Fraction(f)}"
        if len(lbs) == 1:
            label = f"{lbs[0]} {_kib(arch.level(lbs[0]).capacity_bits or 0)}"
        out.append(Variant("local buffer", label, arch))
    return out
