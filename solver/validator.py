"""Independent legality check of a mapping (DESIGN §4 "Validator").

:func:`validate` returns one message per broken rule (empty = valid); :func:`check`
raises a :class:`~miredo.errors.MiredoError` instead. The rules:

1. well-formed: known dims, factors >= 1, known spatial axes, one level per
   temporal loop for each operand;
2. for every dim, the product of its spatial and temporal factors equals its bound;
3. the product of the factors on each spatial axis is at most the axis size;
4. only the dims the axis allows (C^X) are unrolled on it;
5. every loop's level exists and may hold the operand (C^M);
6. each operand's level sequence is monotone (never outer inside inner);
7. no loop is assigned to a level the operand bypasses;
8. bypass is legal: the level may hold the operand, is not the outermost, not the
   operand's innermost and is marked ``bypass: true``;
9. double buffering only on a used (level, operand) pair of a level that allows
   it, and never W on the macro when weight writes block compute;
10. capacities: per level instance, the operands' tiles (×2 when double-buffered)
    fit;
11. macro geometry: the weight tile the macro keeps is ``blocks`` blocks of
    ``ru x cu`` cells (``ru``, ``cu``: the array factors of the reduction dims and of
    the other dims; ``blocks``: the weight-relevant temporal factors at the macro
    level), placed on a grid, so ``blocks <= floor(rows / ru) * floor(cols / cu)``.
    The capacity in bits (rule 10) alone would accept tiles no placement can hold.

This module deliberately shares no code with the evaluator beyond the
:class:`Layer` and :class:`Arch` accessors, so that it checks the evaluator's tile
arithmetic rather than repeating it.
"""

from __future__ import annotations

from dataclasses import dataclass

from miredo.errors import MiredoError
from miredo.solver.hardware import Arch
from miredo.solver.mapping import Mapping
from miredo.solver.workload import DIMS, OPERANDS, Layer


def validate(layer: Layer, arch: Arch, mapping: Mapping) -> list[str]:
    """All rule violations of ``mapping`` (empty when it is valid)."""
    problems: list[str] = []
    axes = {ax.name: ax for ax in arch.spatial}
    level_names = [lv.name for lv in arch.levels]
    n = len(mapping.temporal)

    # 1. well-formed
    for lp in mapping.temporal:
        if lp.dim not in DIMS or lp.factor < 1:
            problems.append(
                f"temporal loop {lp.dim}{lp.factor}: unknown dim or factor < 1"
            )
    for ax, loops in mapping.spatial.items():
        if ax not in axes:
            problems.append(f"spatial axis '{ax}' does not exist in arch {arch.name}")
        for lp in loops:
            if lp.dim not in DIMS or lp.factor < 1:
                problems.append(
                    f"spatial loop {lp.dim}{lp.factor} on {ax}: unknown dim or factor < 1"
                )
    for op in OPERANDS:
        if len(mapping.level_of.get(op, ())) != n:
            problems.append(
                f"{op}: {len(mapping.level_of.get(op, ()))} levels given for {n} temporal loops"
            )
    if problems:
        return problems

    # 2. factor products
    for d in DIMS:
        prod = 1
        for lp in mapping.temporal:
            if lp.dim == d:
                prod *= lp.factor
        for loops in mapping.spatial.values():
            for lp in loops:
                if lp.dim == d:
                    prod *= lp.factor
        if prod != layer.dims[d]:
            problems.append(
                f"dim {d}: factors multiply to {prod}, bound is {layer.dims[d]}"
            )

    # 3./4. spatial limits and allowed dims
    for ax, loops in mapping.spatial.items():
        size = 1
        for lp in loops:
            size *= lp.factor
            if lp.dim not in axes[ax].dims and lp.factor > 1:
                problems.append(
                    f"axis {ax} cannot unroll dim {lp.dim} (allowed: {''.join(axes[ax].dims)})"
                )
        if size > axes[ax].size:
            problems.append(f"axis {ax}: unrolled {size} > size {axes[ax].size}")

    # 5.-8. levels and bypass
    position = {name: k for k, name in enumerate(level_names)}
    for op in OPERANDS:
        admissible = [lv.name for lv in arch.levels if op in lv.operands]
        skipped = mapping.bypass.get(op, frozenset())
        for name in sorted(skipped):
            if name not in admissible:
                problems.append(
                    f"{op}: bypassed level '{name}' is not a level that holds {op}"
                )
            elif name == level_names[0]:
                problems.append(f"{op}: the outermost level {name} cannot be bypassed")
            elif name == admissible[-1]:
                problems.append(f"{op}: its innermost level {name} cannot be bypassed")
            elif not arch.levels[position[name]].bypass:
                problems.append(f"{op}: level {name} does not allow bypass")
        last = -1
        for k, name in enumerate(mapping.level_of[op]):
            if name not in position:
                problems.append(f"{op}: loop {k} at unknown level '{name}'")
                continue
            if name not in admissible:
                problems.append(
                    f"{op}: loop {k} at level {name}, which cannot hold {op}"
                )
                continue
            if name in skipped:
                problems.append(f"{op}: loop {k} at level {name}, which {op} bypasses")
            if position[name] < last:
                problems.append(
                    f"{op}: loop {k} at level {name} is inside an inner level (levels must be monotone)"
                )
            last = max(last, position[name])

    # 9. double buffering
    for name, op in sorted(mapping.double_buffer):
        if name not in position or op not in OPERANDS:
            problems.append(f"double buffer ({name}, {op}): unknown level or operand")
            continue
        lv = arch.levels[position[name]]
        if op not in lv.operands or name in mapping.bypass.get(op, frozenset()):
            problems.append(f"double buffer ({name}, {op}): {op} does not use {name}")
        elif not lv.double_buffer:
            problems.append(
                f"double buffer ({name}, {op}): {name} does not allow double buffering"
            )
        elif (
            op == "W"
            and name == arch.macro.level
            and arch.macro.weight_write_blocks_compute
        ):
            problems.append(
                f"double buffer ({name}, W): weight writes block compute on the macro"
            )
    if problems:
        return problems

    # 10. capacities
    for name, need in _occupancy(layer, arch, mapping).items():
        cap = arch.levels[position[name]].capacity_bits
        if cap is not None and need > cap:
            problems.append(
                f"level {name}: needs {need} bits per instance, capacity {cap}"
            )
    # 11. macro geometry
    g = macro_grid(layer, arch, mapping)
    if g.blocks > g.grid_rows * g.grid_cols:
        problems.append(
            f"macro: {g.blocks} weight blocks of {g.block_rows}x{g.block_cols} do not "
            f"fit its {arch.macro.rows}x{arch.macro.cols} array "
            f"({g.grid_rows}x{g.grid_cols} blocks)"
        )
    return problems


@dataclass(frozen=True)
class MacroGrid:
    """How the weight tile kept in the macro is laid out (rule 11)."""

    blocks: int
    """Weight-relevant temporal factors held at the macro level, multiplied."""
    block_rows: int
    """Array factors of the reduction dims (macro rows one MVM uses)."""
    block_cols: int
    """Array factors of the other dims (macro columns one MVM uses)."""
    grid_rows: int
    """``floor(macro rows / block_rows)``."""
    grid_cols: int
    """``floor(macro cols / block_cols)``."""


def macro_grid(layer: Layer, arch: Arch, mapping: Mapping) -> MacroGrid:
    """The block grid of the macro for ``mapping`` (see rule 11)."""
    cores_axis = next(ax.name for ax in arch.spatial if ax.kind == "cores")
    ru = cu = 1
    for ax, loops in mapping.spatial.items():
        if ax == cores_axis:
            continue
        for lp in loops:
            if lp.dim in layer.reduction:
                ru *= lp.factor
            else:
                cu *= lp.factor
    blocks = 1
    for lp, at in zip(mapping.temporal, mapping.level_of["W"], strict=True):
        if at == arch.macro.level and lp.dim in layer.relevant["W"]:
            blocks *= lp.factor
    return MacroGrid(
        blocks, ru, cu, max(arch.macro.rows // ru, 0), max(arch.macro.cols // cu, 0)
    )


def check(layer: Layer, arch: Arch, mapping: Mapping) -> None:
    """Raise a :class:`MiredoError` naming the first broken rule, if any."""
    problems = validate(layer, arch, mapping)
    if problems:
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        raise MiredoError(
            f"invalid mapping: {problems[0]}{more}", f"layer {layer.name}"
        )


def _occupancy(layer: Layer, arch: Arch, mapping: Mapping) -> dict[str, int]:
    """Bits per instance of every level: Σ operands' tiles, doubled when double-buffered."""
    position = {lv.name: k for k, lv in enumerate(arch.levels)}
    cores_axis = next(ax.name for ax in arch.spatial if ax.kind == "cores")
    # spatial factors, split into the cores axis and the macro axes
    on_cores = dict.fromkeys(DIMS, 1)
    on_array = dict.fromkeys(DIMS, 1)
    for ax, loops in mapping.spatial.items():
        for lp in loops:
            (on_cores if ax == cores_axis else on_array)[lp.dim] *= lp.factor
    # O holds partial sums at a level when a reduction loop sits there or outside
    reductions = [
        position[mapping.level_of["O"][k]]
        for k, lp in enumerate(mapping.temporal)
        if lp.dim in layer.reduction and lp.factor > 1
    ]
    need = {lv.name: 0 for lv in arch.levels}
    for op in OPERANDS:
        skipped = mapping.bypass.get(op, frozenset())
        holders = [
            lv for lv in arch.levels if op in lv.operands and lv.name not in skipped
        ]
        for lv in holders:
            here = position[lv.name]
            extent = {}
            for d in DIMS:
                e = on_array[d] * (1 if lv.per_core else on_cores[d])
                for lp, at in zip(mapping.temporal, mapping.level_of[op], strict=True):
                    if lp.dim == d and position[at] >= here:
                        e *= lp.factor
                extent[d] = e
            elems = layer.volume(op, extent)
            if op == "I":
                bits = arch.precision.input
            elif op == "W":
                bits = arch.precision.weight
            elif lv is holders[-1] or any(r <= here for r in reductions):
                bits = arch.precision.psum
            else:
                bits = arch.precision.output
            copies = 2 if (lv.name, op) in mapping.double_buffer else 1
            need[lv.name] += elems * bits * copies
    return need
