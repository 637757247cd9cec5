"""Hardware model of a multi-core CIM accelerator (paper §III, Fig. 1), read from YAML.

An :class:`Arch` is the hardware part of the constants S_c of the MIREDO model:

* the memory levels, outermost first, each with its capacity (CA), port width (BW),
  per-bit read/write energy, the operands it may hold (the paper's C^M), whether it is
  replicated per core, whether it may be double-buffered and whether operands may
  bypass it;
* the spatial axes with the dims each may unroll (the paper's C^X): exactly one
  ``cores`` axis (it replicates the per-core levels) and the ``array`` axes (rows and
  columns of the CIM macro, counted in every level's tile);
* the macro (array size, bit-serial input rate, the weight-write/compute mode-switch
  stall, energy per activation), the precisions, the SIMD unit and leakage.

:func:`load_arch` accepts a packaged name (``table4``, ``miredo-ref``, ``small``,
``tiny``) or a path. Every problem in the file is reported as one
:class:`~miredo.errors.MiredoError` with ``where = "<file>: <yaml.field.path>"``.
"""

from __future__ import annotations

import hashlib
import json
import math
from functools import cached_property
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, StrictBool, ValidationError

from miredo.errors import MiredoError
from miredo.solver.workload import OPERANDS

Operand = Literal["I", "W", "O"]
Dim = Literal["N", "G", "K", "C", "P", "Q", "R", "S"]
PosInt = Annotated[int, Field(strict=True, gt=0)]
NonNegFloat = Annotated[float, Field(ge=0)]
PosFloat = Annotated[float, Field(gt=0)]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Precision(_Frozen):
    """Operand precisions in bits."""

    input: PosInt
    """Input activations."""
    weight: PosInt
    """Weights."""
    psum: PosInt
    """Partial sums (accumulator width)."""
    output: PosInt
    """Final outputs, after requantisation."""


class Macro(_Frozen):
    """The CIM macro of one core."""

    level: str
    """Name of the memory level that is the macro's weight array (W's innermost)."""
    rows: PosInt
    """Wordlines: the reduction side of one MVM."""
    cols: PosInt
    """Bitline groups: the output side of one MVM."""
    input_bits_per_cycle: PosInt
    """Bit-serial input rate: one MVM takes ``ceil(input_bits / this)`` cycles."""
    weight_write_blocks_compute: StrictBool
    """Memory mode and compute mode share peripherals (paper Fig. 2a): when true the
    macro level can never be double-buffered for W."""
    mvm_energy_pj: NonNegFloat
    """Energy of one activation of one macro (all cells, all bit-serial cycles)."""


class Simd(_Frozen):
    """The SIMD post-processing unit."""

    lanes: PosInt
    """Elements processed per cycle."""
    energy_pj_per_op: NonNegFloat
    """Energy per element operation."""


class Level(_Frozen):
    """One memory level."""

    name: str
    """Unique name."""
    capacity_bits: PosInt | None
    """Capacity of one instance in bits (``null`` = unbounded, outermost only)."""
    bw_bits_per_cycle: PosInt
    """Port width of one instance."""
    read_pj_per_bit: NonNegFloat
    """Read energy."""
    write_pj_per_bit: NonNegFloat
    """Write energy."""
    operands: tuple[Operand, ...]
    """Operands the level may hold (C^M)."""
    per_core: StrictBool
    """Replicated once per core (else one shared instance)."""
    double_buffer: StrictBool
    """Whether double buffering is allowed here."""
    bypass: StrictBool
    """Whether operands may skip this level."""


class SpatialAxis(_Frozen):
    """One spatial unrolling axis."""

    name: str
    """Unique name (``cores``, ``rows``, ``cols``, ...)."""
    size: PosInt
    """Number of instances along the axis."""
    dims: tuple[Dim, ...]
    """Dims that may be unrolled on it (C^X)."""
    kind: Literal["cores", "array"]
    """``cores`` replicates the per-core levels; ``array`` is a macro axis."""


class Arch(_Frozen):
    """A whole accelerator."""

    name: str
    """Name of the configuration."""
    clock_mhz: PosFloat
    """Clock frequency."""
    leakage_pj_per_cycle: NonNegFloat
    """Leakage energy of the whole chip per cycle."""
    precision: Precision
    """Operand precisions."""
    macro: Macro
    """The CIM macro."""
    simd: Simd
    """The SIMD unit."""
    levels: tuple[Level, ...] = Field(min_length=1)
    """Memory levels, outermost first."""
    spatial: tuple[SpatialAxis, ...] = Field(min_length=1)
    """Spatial axes."""

    # ------------------------------------------------------------------ accessors
    @cached_property
    def level_index(self) -> dict[str, int]:
        """Position of each level, 0 = outermost."""
        return {lv.name: i for i, lv in enumerate(self.levels)}

    def level(self, name: str) -> Level:
        """The level called ``name``."""
        return self.levels[self.level_index[name]]

    @cached_property
    def _levels_for(self) -> dict[str, tuple[str, ...]]:
        return {
            op: tuple(lv.name for lv in self.levels if op in lv.operands)
            for op in OPERANDS
        }

    def levels_for(self, operand: str) -> tuple[str, ...]:
        """Levels admissible for ``operand``, outermost first."""
        return self._levels_for[operand]

    def innermost(self, operand: str) -> str:
        """The innermost level of ``operand`` (never bypassable)."""
        return self._levels_for[operand][-1]

    @property
    def outermost(self) -> str:
        """The outermost level (never bypassable)."""
        return self.levels[0].name

    @cached_property
    def cores_axis(self) -> SpatialAxis:
        """The one ``cores`` axis."""
        return next(a for a in self.spatial if a.kind == "cores")

    @cached_property
    def array_axes(self) -> tuple[SpatialAxis, ...]:
        """The macro axes."""
        return tuple(a for a in self.spatial if a.kind == "array")

    def axis(self, name: str) -> SpatialAxis:
        """The spatial axis called ``name``."""
        return next(a for a in self.spatial if a.name == name)

    @property
    def n_cores(self) -> int:
        """Number of cores."""
        return self.cores_axis.size

    @property
    def t_mvm(self) -> int:
        """Cycles of one bit-serial MVM: ``ceil(input_bits / input_bits_per_cycle)``."""
        return -(-self.precision.input // self.macro.input_bits_per_cycle)

    def precision_of(self, operand: str) -> int:
        """Fixed precision of I or W (O depends on the level; see the evaluator)."""
        return {"I": self.precision.input, "W": self.precision.weight}[operand]

    @cached_property
    def content_hash(self) -> str:
        """sha256 of the canonical JSON of the whole description (cache key)."""
        text = json.dumps(
            self.model_dump(mode="json"), sort_keys=True, separators=(",", ":")
        )
        return hashlib.sha256(text.encode()).hexdigest()

    def peak_macs_per_cycle(self) -> float:
        """Peak MAC throughput of the chip."""
        return self.n_cores * self.macro.rows * self.macro.cols / self.t_mvm


# ----------------------------------------------------------------------- loading
PACKAGED = ("table4", "miredo-ref", "small", "tiny")
"""Names of the hardware files shipped in ``miredo.arch``."""


def load_arch(name_or_path: str | Path = "table4") -> Arch:
    """Load a packaged hardware description by name, or a YAML file by path."""
    text, where = _read(name_or_path)
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        line = f":{mark.line + 1}" if mark is not None else ""
        problem = getattr(e, "problem", None) or str(e).splitlines()[0]
        raise MiredoError(
            f"invalid YAML syntax: {problem}; fix the file's syntax", f"{where}{line}"
        ) from None
    return arch_from_dict(raw, where)


def arch_from_dict(raw: Any, where: str = "<arch>") -> Arch:
    """Validate a parsed description; errors name ``<where>: <field.path>``."""
    if not isinstance(raw, dict):
        raise MiredoError(
            "expected a mapping with fields name, clock_mhz, leakage_pj_per_cycle, "
            "precision, macro, simd, levels, spatial",
            f"{where}: <top>",
        )
    try:
        arch = Arch.model_validate(raw)
    except ValidationError as e:
        err = e.errors()[0]
        raise MiredoError(_message(err), f"{where}: {_path(err['loc'])}") from None
    _check(arch, where)
    return arch


def _read(name_or_path: str | Path) -> tuple[str, str]:
    s = str(name_or_path)
    if s in PACKAGED:
        res = resources.files("miredo.arch").joinpath(f"{s}.yaml")
        return res.read_text(), f"{s}.yaml"
    path = Path(s)
    if not path.is_file():
        raise MiredoError(
            f"no hardware file '{s}'; give a path or one of {', '.join(PACKAGED)}",
            s,
        )
    return path.read_text(), str(path)


def _path(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out or "<top>"


def _message(err: dict[str, Any]) -> str:
    kind = err["type"]
    if kind == "missing":
        return f"missing required field '{err['loc'][-1]}'"
    if kind == "extra_forbidden":
        return f"unknown field '{err['loc'][-1]}'; remove it or fix its spelling"
    got = err.get("input")
    msg = err["msg"]
    msg = msg[0].lower() + msg[1:]
    return f"invalid value {got!r}: {msg}"


def _check(arch: Arch, where: str) -> None:
    """Cross-field checks pydantic cannot express."""

    def fail(path: str, message: str) -> None:
        raise MiredoError(message, f"{where}: {path}")

    seen: dict[str, int] = {}
    for i, lv in enumerate(arch.levels):
        if lv.name in seen:
            fail(
                f"levels[{i}].name",
                f"duplicate level name '{lv.name}'; names must be unique",
            )
        seen[lv.name] = i
        if len(set(lv.operands)) != len(lv.operands):
            fail(f"levels[{i}].operands", "an operand is listed twice")
        if not lv.operands:
            fail(f"levels[{i}].operands", "expected at least one of I, W, O")
        if lv.capacity_bits is None and i > 0:
            fail(
                f"levels[{i}].capacity_bits",
                "only the outermost level may be unbounded (null); give a size in bits",
            )
    first = arch.levels[0]
    if set(first.operands) != set(OPERANDS):
        fail("levels[0].operands", "the outermost level must hold I, W and O")
    if first.bypass:
        fail("levels[0].bypass", "the outermost level can never be bypassed; set false")
    if first.per_core:
        fail("levels[0].per_core", "the outermost level must be shared; set false")
    in_core = False
    for i, lv in enumerate(arch.levels):
        if in_core and not lv.per_core:
            fail(
                f"levels[{i}].per_core",
                "levels inside a per-core level must be per-core too; set true",
            )
        in_core = in_core or lv.per_core
    names: set[str] = set()
    for u, ax in enumerate(arch.spatial):
        if ax.name in names:
            fail(f"spatial[{u}].name", f"duplicate axis name '{ax.name}'")
        names.add(ax.name)
        if len(set(ax.dims)) != len(ax.dims):
            fail(f"spatial[{u}].dims", "a dim is listed twice")
    n_cores = sum(ax.kind == "cores" for ax in arch.spatial)
    if n_cores != 1:
        fail("spatial", f"expected exactly one axis of kind 'cores', found {n_cores}")
    array = math.prod(ax.size for ax in arch.spatial if ax.kind == "array")
    if array != arch.macro.rows * arch.macro.cols:
        fail(
            "spatial",
            f"the array axes span {array} cells but the macro has "
            f"{arch.macro.rows}x{arch.macro.cols}; make the sizes agree",
        )
    if arch.macro.level not in seen:
        fail(
            "macro.level",
            f"unknown level '{arch.macro.level}'; expected one of {', '.join(seen)}",
        )
    w_levels = [lv.name for lv in arch.levels if "W" in lv.operands]
    if w_levels[-1] != arch.macro.level:
        fail(
            "macro.level",
            f"the macro level must be the innermost level holding W ('{w_levels[-1]}')",
        )
    for op in OPERANDS:
        inner = [lv for lv in arch.levels if op in lv.operands][-1]
        if not inner.per_core and arch.n_cores > 1:
            fail(
                f"levels[{seen[inner.name]}].per_core",
                f"'{inner.name}' is the innermost level of {op} and feeds the macros: "
                "it must be per-core",
            )
