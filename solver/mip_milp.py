"""The MIREDO mixed-integer program (paper §IV-C/D) as a *linear* MILP for HiGHS.

The model encodes exactly the semantics of :mod:`miredo.solver.evaluator` (the same
semantics :mod:`miredo.solver.mip_cpsat` encodes with native products), but every
row is linear. One method per constraint family, named after the paper's equation:

* ``eq2_factor_placement``  every factor F_{d,f} is one temporal slot or one spatial axis;
* ``eq3_spatial_limits``    C^X and the axis sizes, in the log domain;
* ``eq4_loop_levels``       loop → level per operand (X^Z as a staircase), ψ^L, ψ^U;
* ``eq5_transfer_paths``    X^N: the next used level of every operand (bypass paths);
* ``eq6_tile_bounds``       B^S: log loop bound of every relevant dim at every level;
* ``eq7_8_data_sizes``      log Size_{m,λ} (one-hot V over the halo table of I);
* ``eq9_capacity``          capacities, doubled under double buffering (ψ^DM);
* ``eq10_11_transfers``     the transfer slot of every edge and its time T (ceil exact);
* ``eq12_buffering``        ψ^DL: single- versus double-buffered charges per slot and port;
* ``port_work``             each port's work in one iteration of every slot (Q_i, Q⁰_i);
* ``table3_latency``        the latency recursion of Table III (steady state, first visits);
* ``port_bandwidth``        port busy and idle time, boot and tail;
* ``energy``                access, MVM and leakage energy (built for energy / EDP only);
* ``physical_cuts``         compute and DRAM bounds (valid cuts);
* ``eq14_objective``        latency, energy, or E + λ·L (the EDP outer loop's weighting).

Linearisation devices
---------------------
*Products of factor choices* (tile sizes, port volumes, n_MVM): the log of such a
product is a linear sum (paper eq. 6) ``x = Σ_k ln(φ_k)·[factor k counts]``, and it
takes only finitely many values: the logs of the pre-enumerated achievable sizes H
(eqs. 7-8). ``y ≥ exp(x)`` is imposed by one *secant* row through each pair of
consecutive achievable points. Every achievable point lies on the convex curve, so
the maximum of the secants equals ``exp`` at each of them: exact at every integer
point, and it is the LP hull of the paper's one-hot selection V^S. (Supersets of
the achievable values are harmless; a value cap adds the point ``cap + 1`` so that
any larger integer size is cut off.) The input tile's sliding-window halo is not
multiplicative: a one-hot V over the (p, r) extent pairs selects ``ln rows(p, r)``.

*ceil()* of a transfer time: τ is an integer variable with ``τ·BW ≥ bits − ½``
(bits and BW are integers, so this is ``τ ≥ ceil(bits / BW)``).

*max()*: lower bounds only; every objective increases with every latency and
energy term, so at an optimum each bounded variable sits at its exact value. An
incumbent's *reported* objective may lie above the evaluator's value; the optimum
equals it.

*Products of a loop bound with a continuous quantity* (Table III's
``(N_i − 1)·max(…)``, and Π_{i≤j} N_i · τ for counts of transfers) are
disaggregated over the factor values v the slot may hold:
``q = Σ_g Z_{i,g}``, ``Z_{i,g} ≤ (cap / v_g)·y_{i,g}`` with y_{i,g} the one-hot
"slot i holds a factor of group g", and the product is ``Σ_g v_g·Z_{i,g}``. The
bounds come from the latency (or energy) cap: a loop with N_i = v never has a
body above cap / v. Counts of transfers are never formed: Σ_edges T·τ is the
recursion ``A_i = N_i·(A_{i+1} + X_i)`` (X_i: the τ triggered at slot i), and the
partial-sum read-backs Σ (T − D)·τ of the output are the companion recursion
``E_i = E_{i+1} + (N_i − 1)·(E_{i+1} if slot i is O-relevant else U_i if it is a
reduction loop)``, with ``U_i = A_{i+1} + X_i`` of the output-only chain; both
disaggregate over (value, O-relevance) groups. Energy uses the same recursions with
per-transfer energies instead of τ.

*Transfer slot*: the monotone OR-chain a_i ("an operand-relevant loop above the
child sits at slot ≥ i") is exact with four rows per slot; the edge triggers at
slot i iff ``a_i − a_{i+1} = 1``.

Valid cuts: Lat_0 ≥ t_MVM·Π N_i (secants), latency ≥ the DRAM bound, and (energy
objectives) dynamic energy ≥ the compulsory energy of moving every operand's
whole tensor across the outermost port once. Without the last one the energy LP
bound is about 1 % of the optimum even on tiny layers.

Unlike the CP-SAT model, this one builds the energy rows only for the ``energy``
and ``edp`` objectives (latency does not depend on them).
"""

from __future__ import annotations

import math
import os
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field

import highspy
import numpy as np

from miredo.solver.evaluator import psum_port_may_bind
from miredo.solver.factor_space import (
    Factor,
    ModelStats,
    assignment_mapping,
    decode_mapping,
    match_mapping,
    model_factors,
    subset_products,
)
from miredo.solver.hardware import Arch
from miredo.solver.mapping import Mapping
from miredo.solver.workload import DIMS, OPERANDS, Layer

INF = highspy.kHighsInf
LOG_TOL = 1e-7
"""Slack on log-domain comparisons (distinct integer sizes differ by far more)."""


# --------------------------------------------------------------------- expressions
class Lx:
    """A linear expression ``Σ coef·column + const`` over the model's columns."""

    __slots__ = ("const", "terms")

    def __init__(self, terms: dict[int, float] | None = None, const: float = 0.0):
        self.terms: dict[int, float] = terms if terms is not None else {}
        self.const = float(const)

    def copy(self) -> Lx:
        """A shallow copy."""
        return Lx(dict(self.terms), self.const)

    def iadd(self, other: Lx | float, coef: float = 1.0) -> Lx:
        """In place ``self += coef·other``; returns ``self``."""
        if isinstance(other, Lx):
            t = self.terms
            for k, v in other.terms.items():
                t[k] = t.get(k, 0.0) + coef * v
            self.const += coef * other.const
        else:
            self.const += coef * float(other)
        return self

    def __add__(self, other: Lx | float) -> Lx:
        return self.copy().iadd(other)

    __radd__ = __add__

    def __sub__(self, other: Lx | float) -> Lx:
        return self.copy().iadd(other, -1.0)

    def __rsub__(self, other: Lx | float) -> Lx:
        return (-self).iadd(other)

    def __neg__(self) -> Lx:
        return Lx({k: -v for k, v in self.terms.items()}, -self.const)

    def __mul__(self, c: float) -> Lx:
        return Lx({k: c * v for k, v in self.terms.items()}, c * self.const)

    __rmul__ = __mul__

    @property
    def col(self) -> int:
        """The column of a single-variable expression."""
        (k,) = self.terms
        return k

    def is_const(self) -> bool:
        """Whether no column has a non-zero coefficient."""
        return not any(self.terms.values())


Expr = Lx | float | int


def lsum(items: Iterable[Expr]) -> Lx:
    """Sum of expressions (linear time)."""
    acc = Lx()
    for x in items:
        acc.iadd(x)
    return acc


def quiet_highs() -> highspy.Highs:
    """A silent ``Highs`` instance.

    HiGHS prints its banner on the C-level stdout at the first construction in a
    process; that would corrupt IR written to stdout, so fd 1 points at the null
    device while the instance is created.
    """
    sys.stdout.flush()
    try:
        saved = os.dup(1)
    except OSError:  # pragma: no cover - no file descriptor 1
        saved = None
    try:
        if saved is not None:
            with open(os.devnull, "w") as null:
                os.dup2(null.fileno(), 1)
                h = highspy.Highs()
        else:  # pragma: no cover
            h = highspy.Highs()
    finally:
        if saved is not None:
            os.dup2(saved, 1)
            os.close(saved)
    h.setOptionValue("output_flag", False)
    return h


def _lx(x: Expr) -> Lx:
    return x if isinstance(x, Lx) else Lx(const=float(x))


def _products(sets: Iterable[Iterable[int]], limit: float | None = None) -> set[int]:
    """All products of one element of each set (values above ``limit`` dropped)."""
    out = {1}
    for s in sets:
        vals = set(s)
        out = {a * b for a in out for b in vals}
        if limit is not None:
            out = {v for v in out if v <= limit}
    return out


# ------------------------------------------------------------------------ model
@dataclass
class HighsMiredo:
    """Build the MIREDO model of one layer as a linear MILP for HiGHS.

    ``objective`` is ``latency``, ``energy`` or ``edp`` (for EDP both latency and
    energy are built and :meth:`set_weighted_objective` sets ``E + λ·L``); ``ws``
    adds the weight-stationary restriction; ``latency_cap`` bounds every latency
    quantity and is the big-M of the disaggregations; ``energy_cap`` likewise for
    the energy recursions (both must hold for every solution of interest).
    """

    layer: Layer
    arch: Arch
    objective: str = "latency"
    ws: bool = False
    latency_cap: int | None = None
    energy_cap: float | None = None
    factors_of: dict[str, list[int]] | None = None
    k_min: int = 2
    alpha: float = 0.1
    allow_bypass: bool = True
    allow_double_buffer: bool = True
    h: highspy.Highs = field(default_factory=quiet_highs)

    # ------------------------------------------------------------------ set-up
    def __post_init__(self) -> None:
        if self.objective not in ("latency", "energy", "edp"):
            raise ValueError(f"unknown objective {self.objective!r}")
        self.factors = model_factors(
            self.layer, self.factors_of, self.k_min, self.alpha
        )
        self.n = len(self.factors)
        self.slots = range(self.n)
        self.levels = list(self.arch.levels)
        self.axes = list(self.arch.spatial)
        self.core_axis = self.arch.cores_axis
        self.array_axes = list(self.arch.array_axes)
        self.lv: dict[str, list[int]] = {
            op: [i for i, lvl in enumerate(self.levels) if op in lvl.operands]
            for op in OPERANDS
        }
        self.red_dims = self.layer.reduction
        self.lnf = {f.index: math.log(f.value) for f in self.factors}
        self.t_mvm = self.arch.t_mvm
        self.cap = float(self.latency_cap or self._safe_latency_bound())
        self.with_energy = self.objective in ("energy", "edp")
        self.e_cap = float(self.energy_cap or self._safe_energy_bound())
        # column and row store, flushed to HiGHS at the end of build()
        self._lb: list[float] = []
        self._ub: list[float] = []
        self._is_int: list[bool] = []
        self._names: list[str] = []
        self._rlo: list[float] = []
        self._rhi: list[float] = []
        self._ridx: list[list[int]] = []
        self._rval: list[list[float]] = []
        self._exp_cache: dict[tuple, Lx] = {}
        self.build()

    @property
    def macs(self) -> int:
        """Multiply-accumulates of the layer."""
        return self.layer.macs

    def _max_bits(self) -> int:
        p = self.arch.precision
        return max(p.input, p.weight, p.psum, p.output)

    def _safe_latency_bound(self) -> int:
        """Every MVM iteration waits for every edge's largest transfer (as CP-SAT)."""
        min_bw = min(lvl.bw_bits_per_cycle for lvl in self.levels)
        per_iter = self.t_mvm + sum(
            2
            * len(self.lv[op])
            * math.ceil(self.layer.full_volume(op) * self._max_bits() / min_bw)
            for op in OPERANDS
        )
        return 2 * self.macs * per_iter

    def _safe_energy_bound(self) -> float:
        """A generous bound on the dynamic energy of any mapping (pJ)."""
        big = 2 * self.macs * self.arch.n_cores * self._max_bits()
        pj = max(
            [lv.read_pj_per_bit for lv in self.levels]
            + [lv.write_pj_per_bit for lv in self.levels]
            + [self.arch.macro.mvm_energy_pj, 1.0]
        )
        edges = sum(len(self.lv[op]) for op in OPERANDS)
        return 8.0 * (edges + 3) * big * pj

    # ------------------------------------------------------------- primitives
    def _var(self, lb: float, ub: float, name: str, integer: bool = False) -> Lx:
        self._lb.append(float(lb))
        self._ub.append(float(max(lb, ub)))
        self._is_int.append(integer)
        self._names.append(name)
        return Lx({len(self._lb) - 1: 1.0})

    def _bin(self, name: str) -> Lx:
        return self._var(0, 1, name, integer=True)

    def _cont(self, name: str, ub: float = INF, lb: float = 0.0) -> Lx:
        return self._var(lb, ub, name)

    def _row(self, e: Lx, lo: float, hi: float) -> None:
        idx = [k for k, v in e.terms.items() if v != 0.0]
        if not idx:
            if lo - 1e-9 > e.const or e.const > hi + 1e-9:
                raise ValueError("constant row is infeasible")
            return
        self._ridx.append(idx)
        self._rval.append([e.terms[k] for k in idx])
        self._rlo.append(lo - e.const)
        self._rhi.append(hi - e.const)

    def _ge(self, a: Expr, b: Expr) -> None:
        """Row ``a ≥ b``."""
        self._row(_lx(a) - b, 0.0, INF)

    def _le(self, a: Expr, b: Expr) -> None:
        """Row ``a ≤ b``."""
        self._row(_lx(b) - a, 0.0, INF)

    def _eq(self, a: Expr, b: Expr) -> None:
        """Row ``a = b``."""
        self._row(_lx(a) - b, 0.0, 0.0)

    def _exp(
        self, key: tuple, x: Lx, values: Iterable[int], limit: float | None = None
    ) -> Lx:
        """A variable y with ``y ≥ exp(x)`` exact at every x = ln(v), v ∈ ``values``.

        ``values`` must contain every value ``exp(x)`` takes at integer points
        (a superset is fine). With ``limit``, y ≤ limit and every larger integer
        size is cut off by the secant to the extra point ``floor(limit) + 1``.
        """
        if key in self._exp_cache:
            return self._exp_cache[key]
        vals = sorted({int(v) for v in values if limit is None or v <= limit})
        if limit is not None:
            top = math.floor(limit) + 1
            if not vals or top > vals[-1]:
                vals.append(top)
        name = "exp_" + "_".join(map(str, key))
        if x.is_const():
            y = Lx(const=min(vals, key=lambda v: abs(math.log(v) - x.const)))
            self._exp_cache[key] = y
            self._exp_max[key] = y.const
            return y
        ub = float(limit) if limit is not None else INF
        y = self._cont(name, ub=ub, lb=min(float(vals[0]), ub))
        xv = self._cont(name + "_x", lb=-INF)
        self._eq(xv, x)
        xs = [math.log(v) for v in vals]
        for k in range(len(vals) - 1):
            slope = (vals[k + 1] - vals[k]) / (xs[k + 1] - xs[k])
            # y ≥ vals[k] + slope·(x − x_k)
            self._ge(y - slope * xv, vals[k] - slope * xs[k])
        self._exp_cache[key] = y
        self._exp_max[key] = float(limit) if limit is not None else float(vals[-1])
        return y

    # ------------------------------------------------------------------ build
    def build(self) -> None:
        """Build every family of rows, then hand the model to HiGHS."""
        self._exp_max: dict[tuple, float] = {}
        self.eq2_factor_placement()
        self.eq3_spatial_limits()
        self.eq4_loop_levels()
        self.eq5_transfer_paths()
        self.eq6_tile_bounds()
        self.eq7_8_data_sizes()
        self.eq9_capacity()
        self.macro_geometry()
        self.eq10_11_transfers()
        self.eq12_buffering()
        self.port_work()
        self.table3_latency()
        self.port_bandwidth()
        if self.with_energy:
            self.energy()
        self.physical_cuts()
        if self.ws:
            self.weight_stationary()
        self._flush()
        self.eq14_objective()

    def eq2_factor_placement(self) -> None:
        """Eq. (2): Σ_i X^L_{d,f,i} + Σ_u X^U_{d,f,u} = 1; at most one factor per slot.

        Empty slots are the outermost ones (eq. 13 symmetry), equal factors of
        one dim keep their order, and the one-hot y_{i,g} "slot i holds a factor
        of group g" (g = distinct value, or (value, O-relevance)) is derived.
        """
        self.xt = {
            (f.index, i): self._bin(f"xt_{f.index}_{i}")
            for f in self.factors
            for i in self.slots
        }
        self.xs = {
            (f.index, a.name): self._bin(f"xs_{f.index}_{a.name}")
            for f in self.factors
            for a in self.axes
            if f.dim in a.dims
        }
        for f in self.factors:
            self._eq(
                lsum(self.xt[f.index, i] for i in self.slots)
                + lsum(v for (k, _), v in self.xs.items() if k == f.index),
                1,
            )
        self.occ = [lsum(self.xt[f.index, i] for f in self.factors) for i in self.slots]
        for i in self.slots:
            self._le(self.occ[i], 1)
            if i + 1 < self.n:
                self._le(self.occ[i], self.occ[i + 1])
        rel = self.layer.relevant
        self.rel = {
            op: [
                lsum(self.xt[f.index, i] for f in self.factors if f.dim in rel[op])
                for i in self.slots
            ]
            for op in OPERANDS
        }
        self.red = [
            lsum(self.xt[f.index, i] for f in self.factors if f.dim in self.red_dims)
            for i in self.slots
        ]
        for a in self.factors:
            for b in self.factors:
                if a.index < b.index and a.dim == b.dim and a.value == b.value:
                    self._le(self._key(a), self._key(b))
        # disaggregation groups: by value, and by (value, relevant to O)
        self.g_val = sorted({(f.value, None) for f in self.factors})
        self.g_vo = sorted({(f.value, f.dim in rel["O"]) for f in self.factors})

        def y(i: int, g: tuple[int, bool | None]) -> Lx:
            v, ro = g
            return lsum(
                self.xt[f.index, i]
                for f in self.factors
                if f.value == v and (ro is None or (f.dim in rel["O"]) == ro)
            )

        self.y_val = [{g: y(i, g) for g in self.g_val} for i in self.slots]
        self.y_vo = [{g: y(i, g) for g in self.g_vo} for i in self.slots]

    def _key(self, f: Factor) -> Lx:
        return lsum((i + 1) * self.xt[f.index, i] for i in self.slots) + lsum(
            (self.n + 1 + u) * self.xs[f.index, a.name]
            for u, a in enumerate(self.axes)
            if (f.index, a.name) in self.xs
        )

    def eq3_spatial_limits(self) -> None:
        """Eq. (3): X^U ≤ C^X (by construction) and Σ ln(factors) ≤ ln |u|."""
        self.log_axis: dict[str, Lx] = {}
        for a in self.axes:
            e = lsum(
                self.lnf[f.index] * self.xs[f.index, a.name]
                for f in self.factors
                if (f.index, a.name) in self.xs
            )
            self._le(e, math.log(a.size) + 1e-9)
            self.log_axis[a.name] = e
        self.log_inst = self.log_axis[self.core_axis.name]
        core_fs = [f.value for f in self.factors if f.dim in self.core_axis.dims]
        self.inst_values = {
            v for v in subset_products(core_fs) if v <= self.core_axis.size
        }

    def eq4_loop_levels(self) -> None:
        """Eq. (4): loop → level per operand (monotone staircase), ψ^U (bypass)."""
        self.s: dict[tuple[str, int, int], Lx] = {}
        self.used: dict[tuple[str, int], Lx] = {}
        for op in OPERANDS:
            npos = len(self.lv[op])
            for i in self.slots:
                for q in range(1, npos):
                    self.s[op, i, q] = self._bin(f"s_{op}_{i}_{q}")
                    if q > 1:
                        self._le(self.s[op, i, q], self.s[op, i, q - 1])
                    if i > 0:
                        self._le(self.s[op, i - 1, q], self.s[op, i, q])
                if npos > 1:
                    self._le(self.s[op, i, 1], self.occ[i])
            for q, li in enumerate(self.lv[op]):
                lvl = self.levels[li]
                forced = (
                    q == 0 or q == npos - 1 or not lvl.bypass or not self.allow_bypass
                )
                u = Lx(const=1.0) if forced else self._bin(f"used_{op}_{q}")
                self.used[op, q] = u
                if not forced:
                    for i in self.slots:
                        self._le(self._at(op, i, q), u)

    def _ge_pos(self, op: str, i: int, q: int) -> Lx:
        """Slot i of op is at position ≥ q."""
        if q <= 0:
            return Lx(const=1.0)
        if q >= len(self.lv[op]):
            return Lx()
        return self.s[op, i, q]

    def _at(self, op: str, i: int, q: int) -> Lx:
        return self._ge_pos(op, i, q) - self._ge_pos(op, i, q + 1)

    def _forced(self, op: str, q: int) -> bool:
        u = self.used[op, q]
        return u.is_const() and u.const == 1.0

    def eq5_transfer_paths(self) -> None:
        """Eq. (5): X^N_{p,c,λ}: the parent of a used level is the next used level outward."""
        self.par: dict[tuple[str, int, int], Lx] = {}
        for op in OPERANDS:
            npos = len(self.lv[op])
            for c in range(1, npos):
                opts = [
                    p
                    for p in range(c)
                    if not any(self._forced(op, q) for q in range(p + 1, c))
                ]
                if len(opts) == 1 and self._forced(op, c) and self._forced(op, opts[0]):
                    self.par[op, c, opts[0]] = Lx(const=1.0)
                    continue
                vs = []
                for p in opts:
                    v = self._bin(f"par_{op}_{c}_{p}")
                    self._le(v, self.used[op, p])
                    self._le(v, self.used[op, c])
                    for q in range(p + 1, c):
                        self._le(v + self.used[op, q], 1)
                    self.par[op, c, p] = v
                    vs.append(v)
                self._eq(lsum(vs), self.used[op, c])

    def _parents(self, op: str, c: int) -> list[tuple[int, Lx]]:
        return [(p, v) for (o, cc, p), v in self.par.items() if o == op and cc == c]

    def eq6_tile_bounds(self) -> None:
        """Eq. (6): B^S_{m,λ,d} = Σ_f ln F_{d,f}·(temporal at ≥ m, or array, or cores).

        ``inT[k, op, q]`` ("factor k is a temporal loop at op-position ≥ q") is
        bounded below by the cumulative rows ``inT ≥ Σ_{i≥j} X^L_{k,i} + s_{j,q} − 1``
        (s is monotone in i). The core-axis factors count when the level is
        shared or for the union over cores (``union``).
        """
        self.inT: dict[tuple[int, str, int], Lx] = {}
        self.ext: dict[tuple[str, int, str, bool], Lx] = {}
        rel = self.layer.relevant
        for op in OPERANDS:
            for q, li in enumerate(self.lv[op]):
                lvl = self.levels[li]
                for f in self.factors:
                    if f.dim not in rel[op]:
                        continue
                    tot = lsum(self.xt[f.index, i] for i in self.slots)
                    if q == 0:
                        self.inT[f.index, op, q] = tot
                        continue
                    v = self._cont(f"inT_{f.index}_{op}_{q}", ub=1.0)
                    run = Lx()
                    for j in reversed(self.slots):
                        run = run + self.xt[f.index, j]
                        self._ge(v, run + self.s[op, j, q] - 1)
                    self._le(v, tot)
                    self.inT[f.index, op, q] = v
                for d in DIMS:
                    if d not in rel[op]:
                        continue
                    for union in (False, True):
                        if not union and not lvl.per_core:
                            continue
                        e = Lx()
                        for f in self.factors:
                            if f.dim != d:
                                continue
                            inc = self.inT[f.index, op, q] + lsum(
                                self.xs[f.index, a.name]
                                for a in self.array_axes
                                if (f.index, a.name) in self.xs
                            )
                            if (union or not lvl.per_core) and (
                                f.index,
                                self.core_axis.name,
                            ) in self.xs:
                                inc = inc + self.xs[f.index, self.core_axis.name]
                            e.iadd(inc, self.lnf[f.index])
                        self.ext[op, q, d, union] = e
                    if not lvl.per_core:
                        self.ext[op, q, d, False] = self.ext[op, q, d, True]

    def _sp(self, d: str) -> list[int]:
        return subset_products([f.value for f in self.factors if f.dim == d])

    def _halo(self, q: int, union: bool, axis: int) -> tuple[Lx, set[int]]:
        """ln of the input rows (axis 0) / columns (axis 1): one-hot V over (p, r) pairs."""
        o, k = ("P", "R") if axis == 0 else ("Q", "S")
        rel = self.layer.relevant["I"]
        fn = self.layer.in_rows if axis == 0 else self.layer.in_cols
        a_vals = self._sp(o) if o in rel else [1]
        b_vals = self._sp(k) if k in rel else [1]
        e_o = self.ext[("I", q, o, union)] if o in rel else Lx()
        e_k = self.ext[("I", q, k, union)] if k in rel else Lx()
        table = [(a, b, fn(a, b)) for a in a_vals for b in b_vals]
        values = {t[2] for t in table}
        if all(hv == a * b for a, b, hv in table):
            return e_o + e_k, values
        if len(table) == 1:
            return Lx(const=math.log(table[0][2])), values
        deltas = [
            self._bin(f"halo{axis}_{q}_{int(union)}_{a}_{b}") for a, b, _ in table
        ]
        self._eq(lsum(deltas), 1)
        self._ge(
            lsum(math.log(a) * dv for (a, _, _), dv in zip(table, deltas, strict=True)),
            e_o - LOG_TOL,
        )
        self._ge(
            lsum(math.log(b) * dv for (_, b, _), dv in zip(table, deltas, strict=True)),
            e_k - LOG_TOL,
        )
        self.halo_vars[q, union, axis] = (table, deltas)
        return (
            lsum(
                math.log(hv) * dv for (_, _, hv), dv in zip(table, deltas, strict=True)
            ),
            values,
        )

    def eq7_8_data_sizes(self) -> None:
        """Eqs. (7)-(8): ln Size_{m,λ} in elements and the achievable sizes H_λ.

        ``log_el[op, q, union]`` is linear (I's halo via the one-hot V); the set
        ``el_values[op]`` holds every element count a tile of op can have.
        """
        self.log_el: dict[tuple[str, int, bool], Lx] = {}
        self.halo_vars: dict[tuple[int, bool, int], tuple[list, list[Lx]]] = {}
        self.el_values: dict[str, set[int]] = {}
        rel = self.layer.relevant
        for op in OPERANDS:
            plain = [
                d for d in DIMS if d in rel[op] and not (op == "I" and d in "PQRS")
            ]
            hsets: list[set[int]] = []
            for q, li in enumerate(self.lv[op]):
                lvl = self.levels[li]
                for union in (False, True):
                    if not union and not lvl.per_core:
                        continue
                    if q == 0:
                        e = Lx(const=math.log(self.layer.full_volume(op)))
                    else:
                        e = lsum(self.ext[op, q, d, union] for d in plain)
                        if op == "I":
                            lh, hv = self._halo(q, union, 0)
                            lw, wv = self._halo(q, union, 1)
                            e = e + lh + lw
                            hsets = [hv, wv]
                    self.log_el[op, q, union] = e
                if not lvl.per_core:
                    self.log_el[op, q, False] = self.log_el[op, q, True]
            if op == "I" and not hsets:
                hsets = [
                    {
                        self.layer.in_rows(a, b)
                        for a in self._sp("P")
                        for b in self._sp("R")
                    },
                    {
                        self.layer.in_cols(a, b)
                        for a in self._sp("Q")
                        for b in self._sp("S")
                    },
                ]
            sets = [self._sp(d) for d in plain] + hsets
            self.el_values[op] = _products(sets) | {self.layer.full_volume(op)}

    def _prec(self, op: str, q: int) -> tuple[Lx, set[int]]:
        """ln(bits per element) of op at position q and its possible values."""
        p = self.arch.precision
        if op == "I":
            return Lx(const=math.log(p.input)), {p.input}
        if op == "W":
            return Lx(const=math.log(p.weight)), {p.weight}
        flag = self.o_psum[q]
        if flag.is_const():
            v = p.psum if flag.const else p.output
            return Lx(const=math.log(v)), {v}
        return Lx(const=math.log(p.output)) + math.log(p.psum / p.output) * flag, {
            p.output,
            p.psum,
        }

    def _elem_limit(self, op: str, q: int, union: bool) -> float | None:
        """Largest element count of op's tile at position q, if q is always used."""
        li = self.lv[op][q]
        lvl = self.levels[li]
        if lvl.capacity_bits is None or not self._forced(op, q):
            return None
        min_bits = min(self._prec(op, q)[1])
        per = lvl.capacity_bits // min_bits
        return float(per * (self.core_axis.size if union and lvl.per_core else 1))

    def _bits_var(
        self,
        op: str,
        q: int,
        union: bool,
        prec_q: int,
        with_inst: bool = False,
        db: Lx | None = None,
    ) -> tuple[Lx, float]:
        """y ≥ elements × bits (× instances) (× 2 if double-buffered), by secants.

        Returns y and the largest value it takes (its big-M).
        """
        px, pv = self._prec(op, prec_q)
        x = self.log_el[op, q, union] + px
        values: set[int] = _products([self.el_values[op], pv])
        limit = self._elem_limit(op, q, union)
        if with_inst:
            x = x + self.log_inst
            values = _products([values, self.inst_values])
            if limit is not None:
                limit *= self.core_axis.size
        has_db = db is not None and not db.is_const()
        if has_db:
            x = x + math.log(2) * db
            values = values | {2 * v for v in values}
            if limit is not None:
                limit *= 2
        if limit is not None:
            limit *= max(pv)
        key = (op, q, int(union), prec_q, int(with_inst), int(has_db))
        return self._exp(key, x, values, limit), self._exp_max[key]

    def eq9_capacity(self) -> None:
        """Eq. (9): Σ_λ (1 + ψ^DM_{m,λ})·Size_{m,λ} ≤ CA_m per instance.

        ``o_psum[q]``: O is held as partial sums at position q (a reduction loop
        at q or outer, or the innermost level), bounded below.
        """
        self.db: dict[tuple[str, int], Lx] = {}
        for op in OPERANDS:
            last = len(self.lv[op]) - 1
            for q, li in enumerate(self.lv[op]):
                allowed = (
                    self.allow_double_buffer and self.levels[li].double_buffer and q > 0
                )
                if (
                    op == "W"
                    and q == last
                    and self.arch.macro.weight_write_blocks_compute
                ):
                    allowed = False
                self.db[op, q] = self._bin(f"db_{op}_{q}") if allowed else Lx()
                if allowed and not self._forced(op, q):
                    self._le(self.db[op, q], self.used[op, q])
        last_o = len(self.lv["O"]) - 1
        self.o_psum: dict[int, Lx] = {last_o: Lx(const=1.0)}
        has_red = any(f.dim in self.red_dims for f in self.factors)
        for q in range(last_o):
            if not has_red:
                self.o_psum[q] = Lx()
                continue
            v = self._cont(f"opsum_{q}", ub=1.0)
            for i in self.slots:
                self._ge(v, self.red[i] - self._ge_pos("O", i, q + 1))
            self.o_psum[q] = v
        for li, lvl in enumerate(self.levels):
            if lvl.capacity_bits is None:
                continue
            terms = []
            for op in OPERANDS:
                if li not in self.lv[op]:
                    continue
                q = self.lv[op].index(li)
                y, big = self._bits_var(op, q, False, q, db=self.db[op, q])
                if not self._forced(op, q):
                    z = self._cont(f"stored_{op}_{q}", ub=big)
                    self._ge(z, y - big * (1 - self.used[op, q]))
                    y = z
                terms.append(y)
            self._le(lsum(terms), lvl.capacity_bits)

    def _port_union(self, op: str, p: int, c: int) -> bool:
        """Whether the parent's port moves the union over cores of c's tile."""
        lp = self.levels[self.lv[op][p]]
        lc = self.levels[self.lv[op][c]]
        return (not lp.per_core) or (not lc.per_core)

    def eq10_11_transfers(self) -> None:
        """Eqs. (10)-(11): transfer slot and time of every edge (parent p → child c).

        a[i] = OR_{j ≥ i} (relevant loop at j above c); the edge triggers at slot i
        iff a_i − a_{i+1} = 1, never if a_0 = 0 (a boot load / tail write-back).
        ``τ[op, c, p]·BW ≥ port bits − ½`` (integer τ: the exact ceil) when p is
        the parent.
        """
        self.a: dict[tuple[str, int], list[Lx]] = {}
        self.trig: dict[tuple[str, int, int], Lx] = {}
        self.has_psum: dict[int, Lx] = {}
        self.tau: dict[tuple[str, int, int], Lx] = {}
        self.tau_max: dict[tuple[str, int, int], float] = {}
        for op in OPERANDS:
            for c in range(1, len(self.lv[op])):
                a = [self._cont(f"a_{op}_{c}_{i}", ub=1.0) for i in self.slots] + [Lx()]
                for i in self.slots:
                    above = 1 - self._ge_pos(op, i, c)
                    rel = self.rel[op][i]
                    self._ge(a[i], a[i + 1])
                    self._ge(a[i], rel + above - 1)
                    self._le(a[i], a[i + 1] + rel)
                    self._le(a[i], a[i + 1] + above)
                    self.trig[op, c, i] = a[i] - a[i + 1]
                self.a[op, c] = a
                if op == "O":
                    h = self._cont(f"haspsum_{c}", ub=1.0)
                    for i in self.slots:
                        self._ge(h, a[i] + self.red[i] - 1)
                    self.has_psum[c] = h
                for p, par in self._parents(op, c):
                    union = self._port_union(op, p, c)
                    bits, bmax = self._bits_var(op, c, union, p)
                    lp, lc = self.levels[self.lv[op][p]], self.levels[self.lv[op][c]]
                    bw_c = lc.bw_bits_per_cycle
                    bw = min(lp.bw_bits_per_cycle, bw_c)
                    tmax = math.ceil(bmax / bw)
                    # the child's port streams its own width (wider partial sums)
                    child = op == "O" and psum_port_may_bind(self.arch, lp, lc)
                    if child:
                        cbits, cmax = self._bits_var(op, c, not lc.per_core, c)
                        tmax = max(tmax, math.ceil(cmax / bw_c))
                    tmax = min(tmax, self.cap)
                    t = self._var(0, tmax, f"tau_{op}_{c}_{p}", integer=True)
                    self._ge(bw * t, bits - 0.5 - bmax * (1 - par))
                    if child:
                        self._ge(bw_c * t, cbits - 0.5 - cmax * (1 - par))
                    self.tau[op, c, p] = t
                    self.tau_max[op, c, p] = float(tmax)

    def eq12_buffering(self) -> None:
        """Eq. (12): charge each edge at its transfer slot, single- or double-buffered.

        The charge is τ, plus τ again for O when partial sums are read back
        (T > D). ``cs``/``cd`` are the single/double-buffered charges per slot,
        ``cw`` the write part of O's (for the port busy time).
        """
        self.cs: dict[tuple[str, int, int, int], Lx] = {}
        self.cd: dict[tuple[str, int, int, int], Lx] = {}
        self.cw: dict[tuple[str, int, int, int], Lx] = {}
        # first visit: O reads no partial sums back (I and W as in cs, cd)
        self.cs0: dict[tuple[str, int, int, int], Lx] = {}
        self.cd0: dict[tuple[str, int, int, int], Lx] = {}
        for op in OPERANDS:
            for c in range(1, len(self.lv[op])):
                dbv = self.db[op, c]
                has_db = not dbv.is_const()
                for p, _ in self._parents(op, c):
                    t, tm = self.tau[op, c, p], self.tau_max[op, c, p]
                    if op == "O":
                        r = self._cont(f"taur_{c}_{p}", ub=tm)
                        self._ge(r, t - tm * (1 - self.has_psum[c]))
                        ct, cm = t + r, 2 * tm
                    else:
                        ct, cm = t, tm
                    for i in self.slots:
                        trig = self.trig[op, c, i]
                        key = (op, c, p, i)
                        name = f"_{op}_{c}_{p}_{i}"
                        s, d = self._split_charge(name, ct, cm, trig, dbv)
                        if op == "O":
                            w = self._cont(f"cw_{c}_{p}_{i}", ub=tm)
                            self._ge(w, t - tm * (1 - trig))
                            self.cw[key] = w
                            s0, d0 = self._split_charge(f"0{name}", t, tm, trig, dbv)
                        else:
                            s0, d0 = s, d
                        self.cs[key], self.cs0[key] = s, s0
                        if d is not None:
                            self.cd[key], self.cd0[key] = d, d0
                    # aggregated: the edge is charged once if it triggers anywhere
                    tot = lsum(self.cs[op, c, p, i] for i in self.slots)
                    if has_db:
                        tot.iadd(lsum(self.cd[op, c, p, i] for i in self.slots))
                    self._ge(tot, ct - cm * (1 - self.a[op, c][0]))

    def _split_charge(
        self, name: str, value: Lx, vmax: float, trig: Lx, dbv: Lx
    ) -> tuple[Lx, Lx | None]:
        """``value`` charged at a trigger slot, as its (single-, double-buffered)
        parts; no double part when the child cannot be double-buffered."""
        s = self._cont(f"cs{name}", ub=vmax)
        self._ge(s, value - vmax * (1 - trig) - vmax * dbv)
        if dbv.is_const():
            return s, None
        d = self._cont(f"cd{name}", ub=vmax)
        self._ge(d, value - vmax * (1 - trig) - vmax * (1 - dbv))
        return s, d

    def _port_sums(
        self, table: dict[tuple[str, int, int, int], Lx], i: int
    ) -> dict[int, Lx]:
        out: dict[int, Lx] = {}
        for (op, _c, p, ii), v in table.items():
            if ii == i:
                out.setdefault(self.lv[op][p], Lx()).iadd(v)
        return out

    def _serial_sums(
        self, table: dict[tuple[str, int, int, int], Lx], i: int
    ) -> dict[object, Lx]:
        """Port sums, and each multi-hop operand's sum (its hops are serial)."""
        out: dict[object, Lx] = dict(self._port_sums(table, i))
        for (op, _c, _p, ii), v in table.items():
            if ii == i and len(self.lv[op]) > 2:
                out.setdefault(("op", op), Lx()).iadd(v)
        return out

    def _port_max(self, sums: dict, name: str) -> Lx:
        if not sums:
            return Lx()
        v = self._cont(name, ub=self.cap)
        for e in sums.values():
            self._ge(v, e)
        return v

    def table3_latency(self) -> None:
        """Table III, pipelined: W_i = N_i·it_i, it_i = max(W_{i+1} + S_i, D_i, Q_i),
        and Lat_0 = W⁰_0 + Σ_i min(W_{i+1} + S_i, D_i) (``solver/evaluator.py``).

        The products are disaggregated over the factor values the slot may hold,
        with Z_{i,v} ≤ (cap / v)·y_{i,v}; empty slots pass latency through (eq.
        13). W⁰ (first visit, no partial sums read back) is disaggregated over
        (value, O-relevance): ``W⁰_i = it⁰_i + R_i`` at a reduction loop, with
        ``R_i ≥ W_i − it_i``, and ``N_i·it⁰_i`` elsewhere. The fill min(body, D)
        takes one binary per slot.
        """
        cap = self.cap
        lat_next: Lx = Lx(const=float(self.t_mvm))
        first_next: Lx = Lx(const=float(self.t_mvm))
        self.lat: list[Lx] = [Lx()] * self.n
        fill = Lx()
        self.body: list[Lx] = [Lx()] * self.n
        for i in reversed(self.slots):
            steady, body, D = self._iteration(
                self.cs, self.cd, i, lat_next, "", self.work[0][i]
            )
            self.body[i] = body
            if not D.is_const():
                fl = self._cont(f"fill_{i}", ub=cap)
                b = self._var(0, 1, f"fillb_{i}", integer=True)
                self._ge(fl, body - cap * b)
                self._ge(fl, D - cap * (1 - b))
                fill = fill + fl
            zs, z0 = self._disaggregate(
                f"zl_{i}", i, steady, cap, self.g_val, self.y_val
            )
            lat = self._cont(f"lat_{i}", ub=cap)
            self._ge(lat, lsum(g[0] * z for g, z in zs.items()) + z0)
            self.lat[i] = lat
            # first visit: N_i·it⁰_i, or it⁰_i + R_i at a reduction factor
            it0, _, _ = self._iteration(
                self.cs0, self.cd0, i, first_next, "0", self.work[1][i]
            )
            zs, z0 = self._disaggregate(f"zf_{i}", i, it0, cap, self.g_vo, self.y_vo)
            rest = self._cont(f"rf_{i}", ub=cap)
            self._ge(rest, lat - steady - cap * (1 - self.red[i]))
            first = self._cont(f"lat0_{i}", ub=cap)
            once = lsum((g[0] if g[1] else 1) * z for g, z in zs.items())
            self._ge(first, once + z0 + rest)
            lat_next, first_next = lat, first
        self.lat0 = first_next + fill

    def _iteration(
        self, cs: dict, cd: dict, i: int, inner: Lx, tag: str, work: list[Lx]
    ) -> tuple[Lx, Lx, Lx]:
        """``(it, body, D)`` of one iteration of slot i: it ≥ max(body, D, Q),
        body = inner + S, Q the ports' ``work`` (lower-bounded maxima)."""
        S = self._port_max(self._serial_sums(cs, i), f"S{tag}_{i}")
        D = self._port_max(self._port_sums(cd, i), f"D{tag}_{i}")
        it = self._cont(f"steady{tag}_{i}", ub=self.cap)
        body = inner + S
        self._ge(it, body)
        self._ge(it, D)
        for q in work:
            self._ge(it, q)
        return it, body, D

    def _disaggregate(
        self,
        name: str,
        i: int,
        x: Lx,
        cap: float,
        groups: list,
        ys: list[dict],
        empty: Lx | None = None,
    ) -> tuple[dict, Lx]:
        """Split ``x`` over the factor groups slot i may hold: Z_g ≤ (cap / v)·y_{i,g}
        for a group of value v, Z_0 ≤ cap·``empty`` (default: the slot is empty),
        Σ Z + Z_0 ≥ x; then N_i·x ≥ Σ v·Z_g + Z_0. Returns ({g: Z_g}, Z_0)."""
        zs = {}
        for g in groups:
            v = g[0]
            z = self._cont(f"{name}_{v}_{g[1]}", ub=cap / v)
            self._le(z, (cap / v) * ys[i][g])
            zs[g] = z
        z0 = self._cont(f"{name}_0", ub=cap)
        self._le(z0, cap * (1 - self.occ[i] if empty is None else empty))
        self._ge(lsum(zs.values()) + z0, x)
        return zs, z0

    def _chain(
        self, name: str, x: list[Lx], cap: float, groups: list, ys: list[dict]
    ) -> tuple[list[Lx], list[dict]]:
        """``A_i = N_i·(A_{i+1} + X_i)``, disaggregated; returns A_0 … A_n and the Z's."""
        nxt: Lx = Lx()
        out: list[Lx] = [Lx()] * (self.n + 1)
        zs_all: list[dict] = [{} for _ in self.slots]
        for i in reversed(self.slots):
            zs, z0 = self._disaggregate(f"{name}_z_{i}", i, nxt + x[i], cap, groups, ys)
            cur = self._cont(f"{name}_{i}", ub=cap)
            self._ge(cur, lsum(g[0] * z for g, z in zs.items()) + z0)
            zs_all[i] = zs
            out[i] = nxt = cur
        return out, zs_all

    def _e_chain(self, name: str, zu: list[dict], cap: float) -> list[Lx]:
        """Σ (T − D)·X over O edges: ``E_i = E_{i+1} + (N_i − 1)·(E_{i+1} | U_i)``;
        returns E_0 … E_n.

        For an O-relevant factor at slot i the read-backs so far multiply by N_i;
        for a reduction factor each of its N_i − 1 repeats reads back every
        transfer below (U_i, disaggregated as ``zu`` by the O chain).
        """
        nxt: Lx = Lx()
        out: list[Lx] = [Lx()] * (self.n + 1)
        rel_groups = [g for g in self.g_vo if g[1]]
        for i in reversed(self.slots):
            inc = Lx()
            for g, z in zu[i].items():
                if not g[1]:
                    inc.iadd(z, g[0] - 1)
            if not nxt.is_const():
                no_rel = 1 - lsum(self.y_vo[i][g] for g in rel_groups)
                zs, _ = self._disaggregate(
                    f"{name}_z_{i}", i, nxt, cap, rel_groups, self.y_vo, empty=no_rel
                )
                for g, z in zs.items():
                    inc.iadd(z, g[0] - 1)
            cur = self._cont(f"{name}_{i}", ub=cap)
            self._ge(cur, nxt + inc)
            out[i] = nxt = cur
        return out

    def port_work(self) -> None:
        """Each port's work: B_p, inner_p[i] (one first-visit iteration of slot
        i − 1, read-backs of the reduction loops inside) and, for the recursion,
        Q_i (every visit: ``X_i + A_{i+1}`` over the port's charges with
        ``A_i = N_i·(A_{i+1} + X_i)``) and Q⁰_i (``X⁰_i + inner[i + 1]``), less
        cap unless slot i − 1 is occupied (below the outermost loop only)."""
        cap = self.cap
        n = self.n
        ports = sorted({self.lv[op][p] for (op, _c, p) in self.par})
        self.busy: dict[int, Lx] = {}
        self.inner: dict[int, list[Lx]] = {}
        self.work: list[dict[int, list[Lx]]] = [
            {i: [] for i in self.slots} for _ in range(2)
        ]
        for port in ports:
            x_iw = [Lx() for _ in self.slots]
            x_o = [Lx() for _ in self.slots]
            x_s = [Lx() for _ in self.slots]  # every visit, own charges
            x_0 = [Lx() for _ in self.slots]  # first visit
            for key, v in self.cs.items():
                op, _c, p, i = key
                if self.lv[op][p] != port:
                    continue
                x_s[i].iadd(v)
                x_0[i].iadd(self.cs0[key])
                if key in self.cd:
                    x_s[i].iadd(self.cd[key])
                    x_0[i].iadd(self.cd0[key])
                if op == "O":
                    x_o[i].iadd(self.cw[key])
                else:
                    x_iw[i].iadd(v)
                    if key in self.cd:
                        x_iw[i].iadd(self.cd[key])
            # inner[i]: the port's work in one iteration of slot i − 1
            inner = [Lx() for _ in range(n + 1)]
            a_s = inner
            if any(not e.is_const() for e in x_iw):
                a_iw, _ = self._chain(f"biw{port}", x_iw, cap, self.g_val, self.y_val)
                inner = [u + v for u, v in zip(inner, a_iw, strict=True)]
                a_s = a_iw
            if any(not e.is_const() for e in x_o):
                a_o, zu = self._chain(f"bo{port}", x_o, cap, self.g_vo, self.y_vo)
                e_o = self._e_chain(f"be{port}", zu, cap)
                inner = [u + v + w for u, v, w in zip(inner, a_o, e_o, strict=True)]
                a_s, _ = self._chain(f"bq{port}", x_s, cap, self.g_val, self.y_val)
            self.busy[port] = inner[0]
            self.inner[port] = inner
            for i in self.slots[1:]:  # below the outermost loop only
                off = cap * (1 - self.occ[i - 1])
                self.work[0][i].append(x_s[i] + a_s[i + 1] - off)
                self.work[1][i].append(x_0[i] + inner[i + 1] - off)

    def port_bandwidth(self) -> None:
        """Port busy time B_p = Σ_edges on p (T·τ + (T − D)·τ), boot and tail.

        latency = boot + max(Lat_0, max_p (B_p + I_p)) + tail.
        """
        cap = self.cap
        boot, tail = Lx(), Lx()
        for op in OPERANDS:
            for c in range(1, len(self.lv[op])):
                for p, _ in self._parents(op, c):
                    t, tm = self.tau[op, c, p], self.tau_max[op, c, p]
                    v = self._cont(f"once_{op}_{c}_{p}", ub=tm)
                    self._ge(v, t - tm * self.a[op, c][0])
                    (tail if op == "O" else boot).iadd(v)
        core = self._cont("core", ub=cap)
        self._ge(core, self.lat0)
        idle = self._port_idle()
        for port, b in self.busy.items():
            self._ge(core, b + idle[port])
        self.latency = self._cont("latency", ub=cap)
        self._ge(self.latency, boot + core + tail)
        self.core = core

    def _port_idle(self) -> dict[int, Lx]:
        """I_q ≥ X_e − inner_q(j_e) for every edge e on port q, with X_e = body_j
        for a load triggered at slot j and W_{j+1} for an O write-back
        (``solver/evaluator.py``): ``I_q ≥ X_i − inner[i + 1] − cap·(1 − pt_{e,i})``
        with pt_{e,i} = par_e ∧ trig_{e,i}. inner comes from the port's busy
        chains, so raising it raises B_q at least as much: the rows are safe.
        """
        cap = self.cap
        nxt = [*self.lat[1:], Lx(const=float(self.t_mvm))]
        idle: dict[int, Lx] = {}
        for (op, c, p), par in self.par.items():
            port = self.lv[op][p]
            if port not in idle:
                idle[port] = self._cont(f"idle_{port}", ub=cap)
            inner = self.inner[port]
            for i in self.slots:
                trig = self.trig[op, c, i]
                if par.is_const():
                    pt = trig * par.const
                else:
                    pt = self._cont(f"pt_{op}_{c}_{p}_{i}", ub=1.0)
                    self._ge(pt, par + trig - 1)
                x = nxt[i] if op == "O" else self.body[i]
                self._ge(idle[port], x - inner[i + 1] - (1 - pt) * cap)
        for port in self.busy:
            idle.setdefault(port, Lx())
        return idle

    def energy(self) -> None:
        """Access energy per edge (T writes + (T − D) read-backs), MVM and leakage, in pJ.

        Per-transfer energies are linear in secant-bounded bit counts; counts of
        transfers enter through the same recursions as the port busy time.
        """
        cap = self.e_cap
        x_all = [Lx() for _ in self.slots]
        x_rd = [Lx() for _ in self.slots]
        once = Lx()
        for op in OPERANDS:
            for c in range(1, len(self.lv[op])):
                lc = self.levels[self.lv[op][c]]
                child, cmax = self._bits_var(op, c, False, c, with_inst=lc.per_core)
                units: list[tuple[Lx, Lx, float]] = []
                for p, par in self._parents(op, c):
                    lp = self.levels[self.lv[op][p]]
                    union = self._port_union(op, p, c)
                    parent, pmax = self._bits_var(
                        op, c, union, p, with_inst=lp.per_core
                    )
                    if op == "O":
                        uw = lc.read_pj_per_bit * child + lp.write_pj_per_bit * parent
                        ur = lp.read_pj_per_bit * parent + lc.write_pj_per_bit * child
                        mw = lc.read_pj_per_bit * cmax + lp.write_pj_per_bit * pmax
                        mr = lp.read_pj_per_bit * pmax + lc.write_pj_per_bit * cmax
                    else:
                        uw = lp.read_pj_per_bit * parent + lc.write_pj_per_bit * child
                        ur = Lx()
                        mw = lp.read_pj_per_bit * pmax + lc.write_pj_per_bit * cmax
                        mr = 0.0
                    units.append(
                        (uw - mw * (1 - par), ur - mr * (1 - par), max(mw, mr))
                    )
                big = max((m for _, _, m in units), default=0.0)
                if big <= 0:
                    continue
                uw_v = self._cont(f"eu_{op}_{c}", ub=big)
                for uw, _, _ in units:
                    self._ge(uw_v, uw)
                v = self._cont(f"eonce_{op}_{c}", ub=big)
                self._ge(v, uw_v - big * self.a[op, c][0])
                once.iadd(v)
                for i in self.slots:
                    z = self._cont(f"ex_{op}_{c}_{i}", ub=big)
                    self._ge(z, uw_v - big * (1 - self.trig[op, c, i]))
                    x_all[i].iadd(z)
                if op == "O":
                    ur_v = self._cont(f"eur_{c}", ub=big)
                    for _, ur, _ in units:
                        self._ge(ur_v, ur)
                    for i in self.slots:
                        z = self._cont(f"er_{c}_{i}", ub=big)
                        self._ge(z, ur_v - big * (1 - self.trig[op, c, i]))
                        x_rd[i].iadd(z)
        a_all = self._chain("ea", x_all, cap, self.g_val, self.y_val)[0][0]
        # only the disaggregation of the read chain feeds the read-back recursion
        _, zu = self._chain("er", x_rd, cap, self.g_vo, self.y_vo)
        reads = self._e_chain("ee", zu, cap)[0]
        # compute: one activation per MVM, plus the registers feeding it
        macs = self.macs
        rows_ax, cols_ax = self._rows_cols()
        arr_fs = [
            f.value
            for f in self.factors
            if any(f.dim in a.dims for a in self.array_axes)
        ]
        vals = {macs // d for d in subset_products(arr_fs) if macs % d == 0}
        log_all = math.log(macs)

        def off(axes: list[str]) -> Lx:
            return Lx(const=log_all) - lsum(self.log_axis[a] for a in axes)

        arr_names = [a.name for a in self.array_axes]
        n_mvm = self._exp(("nmvm",), off(arr_names), vals)
        mr = self._exp(("mvm_rows",), off([a for a in arr_names if a != rows_ax]), vals)
        mc = self._exp(("mvm_cols",), off([a for a in arr_names if a != cols_ax]), vals)
        p = self.arch.precision
        ireg = self.levels[self.lv["I"][-1]]
        oreg = self.levels[self.lv["O"][-1]]
        compute = (
            self.arch.macro.mvm_energy_pj * n_mvm
            + p.input * ireg.read_pj_per_bit * (mr if rows_ax else n_mvm)
            + p.psum
            * (oreg.read_pj_per_bit + oreg.write_pj_per_bit)
            * (mc if cols_ax else n_mvm)
        )
        self.dynamic_energy = a_all + reads + once + compute
        self.energy_total = (
            self.dynamic_energy + self.arch.leakage_pj_per_cycle * self.latency
        )

    def macro_geometry(self) -> None:
        """The macro's block grid (validator rule 11) in the log domain.

        ``ln blocks = ln Size_{macro,W} − ln ru − ln cu ≤ ln⌊R/ru⌋ + ln⌊C/cu⌋``,
        where a one-hot over the achievable products of each array axis selects
        ``ln⌊R/ru⌋`` (resp. ``ln⌊C/cu⌋``).
        """
        rows, cols = self._rows_cols()
        side_terms: list[Lx] = []
        for axis, size in ((rows, self.arch.macro.rows), (cols, self.arch.macro.cols)):
            if axis is None:
                side_terms.append(Lx(const=math.log(size)))
                continue
            fs = [f.value for f in self.factors if (f.index, axis) in self.xs]
            values = [v for v in subset_products(fs) if v <= size]
            if len(values) == 1:
                side_terms.append(Lx(const=math.log(size // values[0])))
                continue
            pick = [self._bin(f"grid_{axis}_{v}") for v in values]
            self._eq(lsum(pick), 1.0)
            self._eq(
                lsum(z * math.log(v) for z, v in zip(pick, values, strict=True)),
                self.log_axis[axis],
            )
            side_terms.append(
                lsum(z * math.log(size // v) for z, v in zip(pick, values, strict=True))
            )
        used = lsum(self.log_axis[a] for a in (rows, cols) if a is not None)
        blocks = self.log_el["W", len(self.lv["W"]) - 1, False] - used
        self._le(blocks - lsum(side_terms), 1e-6)

    def _rows_cols(self) -> tuple[str | None, str | None]:
        rows = next(
            (a.name for a in self.array_axes if set(a.dims) & self.red_dims), None
        )
        cols = next((a.name for a in self.array_axes if a.name != rows), None)
        return rows, cols

    def physical_cuts(self) -> None:
        """Valid cuts: Lat_0 ≥ t_MVM·Π N_i, latency ≥ DRAM bound, compulsory energy."""
        from miredo.solver.bounds import dram_bound

        sp_fs = [
            f.value for f in self.factors if any(f.dim in a.dims for a in self.axes)
        ]
        macs = self.macs
        vals = {
            self.t_mvm * (macs // d) for d in subset_products(sp_fs) if macs % d == 0
        }
        x = Lx(const=math.log(self.t_mvm * macs)) - lsum(self.log_axis.values())
        comp = self._exp(("compute",), x, vals)
        self._ge(self.lat0, comp)
        self._ge(self.latency, math.ceil(dram_bound(self.layer, self.arch)))
        if self.with_energy and not self.levels[0].per_core:
            self._ge(self.dynamic_energy, self._compulsory_energy())

    def _compulsory_energy(self) -> float:
        """Every operand's whole (touched) tensor crosses the outermost port once.

        Over the T ≥ D transfers of the edge out of the outermost level, D distinct
        tiles cover the tensor (halo tiles overlap), so the edge moves at least the
        full volume: read there (I, W) or written there (O), and written (read) on
        the child side at the cheapest level that can be that child.
        """
        p = self.arch.precision
        bits = {"I": p.input, "W": p.weight, "O": p.output}
        top = self.levels[0]
        total = 0.0
        for op in OPERANDS:
            kids = []
            for q in range(1, len(self.lv[op])):
                kids.append(self.levels[self.lv[op][q]])
                if self._forced(op, q):
                    break
            if not kids:
                continue
            if op == "O":
                pj = top.write_pj_per_bit + min(k.read_pj_per_bit for k in kids)
            else:
                pj = top.read_pj_per_bit + min(k.write_pj_per_bit for k in kids)
            total += self.layer.full_volume(op) * bits[op] * pj
        return total

    def weight_stationary(self) -> None:
        """The WS baseline: W-relevant loops outside W-irrelevant ones."""
        for i in self.slots:
            for j in self.slots:
                if i < j:
                    irr_i = self.occ[i] - self.rel["W"][i]
                    self._le(irr_i + self.rel["W"][j], 1)

    # --------------------------------------------------------------- objective
    def eq14_objective(self) -> None:
        """Eq. (14): latency or energy; EDP starts as E + λ·L with λ = 1."""
        if self.objective == "latency":
            self.set_objective(self.latency)
        elif self.objective == "energy":
            self.set_objective(self.energy_total)
        else:
            self.set_weighted_objective(1.0)

    def set_weighted_objective(self, lam: float) -> None:
        """Minimise ``E + λ·L`` (the EDP outer loop's scalarisation)."""
        self.set_objective(self.energy_total + lam * self.latency)

    def set_objective(self, e: Lx) -> None:
        """Minimise the linear expression ``e``."""
        n = len(self._lb)
        cost = np.zeros(n)
        for k, v in e.terms.items():
            cost[k] = v
        self.h.changeColsCost(n, np.arange(n, dtype=np.int32), cost)
        self.h.changeObjectiveOffset(e.const)
        self.h.changeObjectiveSense(highspy.ObjSense.kMinimize)

    # ------------------------------------------------------------------ HiGHS
    def _flush(self) -> None:
        h = self.h
        h.silent()
        n = len(self._lb)
        h.addCols(
            n,
            np.zeros(n),
            np.array(self._lb),
            np.array(self._ub),
            0,
            np.zeros(n, dtype=np.int32),
            np.zeros(0, dtype=np.int32),
            np.zeros(0),
        )
        ints = [k for k in range(n) if self._is_int[k]]
        if ints:
            h.changeColsIntegrality(
                len(ints),
                np.array(ints, dtype=np.int32),
                np.full(len(ints), highspy.HighsVarType.kInteger.value, dtype=np.uint8),
            )
        starts, idx, val = [], [], []
        for ri, rv in zip(self._ridx, self._rval, strict=True):
            starts.append(len(idx))
            idx.extend(ri)
            val.extend(rv)
        m = len(self._rlo)
        h.addRows(
            m,
            np.array(self._rlo),
            np.array(self._rhi),
            len(idx),
            np.array(starts, dtype=np.int32),
            np.array(idx, dtype=np.int32),
            np.array(val),
        )
        self.nnz = len(idx)

    def stats(self) -> ModelStats:
        """Columns, rows and integer columns of the model."""
        return ModelStats(
            variables=len(self._lb),
            constraints=len(self._rlo),
            booleans=sum(self._is_int),
        )

    def value(self, e: Lx, x: np.ndarray) -> float:
        """Value of an expression at the column values ``x``."""
        return e.const + sum(v * x[k] for k, v in e.terms.items())

    # ---------------------------------------------------------------- decode
    def decode(self, x: np.ndarray) -> Mapping:
        """Read the mapping of the column values ``x`` of a solution."""
        return decode_mapping(self, lambda e: self.value(e, x) > 0.5, self._ge_pos)

    # ------------------------------------------------------------------ hints
    def integer_values(self, mapping: Mapping) -> dict[int, float] | None:
        """Values of every integer column for ``mapping`` (``None`` if it does not fit)."""
        from miredo.solver.evaluator import evaluate

        a = match_mapping(self.factors, mapping, [ax.name for ax in self.axes])
        if a is None:
            return None
        out: dict[int, float] = {}

        def put(e: Lx, v: float) -> None:
            if not e.is_const():
                out[e.col] = float(v)

        for (k, i), e in self.xt.items():
            f = a.slot_factor.get(i)
            put(e, int(f is not None and f.index == k))
        for (k, ax), e in self.xs.items():
            put(e, int(any(f.index == k for f in a.axis_factors.get(ax, ()))))
        pos: dict[tuple[str, int], int] = {}
        for op in OPERANDS:
            names = [self.levels[li].name for li in self.lv[op]]
            for i in self.slots:
                j = a.slot_loop.get(i)
                pos[op, i] = (
                    names.index(mapping.level_of[op][j]) if j is not None else 0
                )
                for q in range(1, len(names)):
                    put(self.s[op, i, q], int(pos[op, i] >= q))
            used = [names[q] not in mapping.bypass[op] for q in range(len(names))]
            for q in range(len(names)):
                put(self.used[op, q], int(used[q]))
                put(self.db[op, q], int((names[q], op) in mapping.double_buffer))
            for (o, c, p), e in self.par.items():
                if o == op:
                    parent = max((r for r in range(c) if used[r]), default=-1)
                    put(e, int(used[c] and p == parent))
        # halo one-hots: the exact (p, r) extents of each I tile
        for (q, union, axis), (table, deltas) in self.halo_vars.items():
            o, k = ("P", "R") if axis == 0 else ("Q", "S")
            lvl = self.levels[self.lv["I"][q]]
            ext = {o: 1, k: 1}
            for d in (o, k):
                for i, f in a.slot_factor.items():
                    if f.dim == d and pos["I", i] >= q:
                        ext[d] *= f.value
                for ax, fs in a.axis_factors.items():
                    is_core = ax == self.core_axis.name
                    if is_core and not (union or not lvl.per_core):
                        continue
                    for f in fs:
                        if f.dim == d:
                            ext[d] *= f.value
            for (av, bv, _), dv in zip(table, deltas, strict=True):
                put(dv, int(av == ext[o] and bv == ext[k]))
        # transfer times from the evaluator of the factor-level mapping
        cost = evaluate(self.layer, self.arch, assignment_mapping(a))
        taus = {(t.operand, t.child): (t.parent, t.tau) for t in cost.transfers}
        for (op, c, p), e in self.tau.items():
            names = [self.levels[li].name for li in self.lv[op]]
            got = taus.get((op, names[c]))
            put(e, got[1] if got is not None and got[0] == names[p] else 0)
        return out

    def add_hint(self, mapping: Mapping) -> bool:
        """Give HiGHS ``mapping`` as a MIP start (all integer columns set)."""
        vals = self.integer_values(mapping)
        if vals is None:
            return False
        idx = np.array(sorted(vals), dtype=np.int32)
        self.h.setSolution(len(idx), idx, np.array([vals[k] for k in idx]))
        return True

    def unfix(self) -> None:
        """Restore every column's original bounds (undo :meth:`fix_mapping`)."""
        n = len(self._lb)
        self.h.clearSolver()
        self.h.changeColsBounds(
            n, np.arange(n, dtype=np.int32), np.array(self._lb), np.array(self._ub)
        )

    def fix_mapping(self, mapping: Mapping) -> bool:
        """Fix every integer column to ``mapping`` (a test utility: then solve the LP)."""
        vals = self.integer_values(mapping)
        if vals is None:
            return False
        idx = np.array(sorted(vals), dtype=np.int32)
        v = np.array([vals[k] for k in idx])
        self.h.changeColsBounds(len(idx), idx, v, v)
        return True
