"""The MIREDO mixed-integer program (paper §IV-C/D), built for OR-Tools CP-SAT.

The model encodes exactly the semantics of :mod:`miredo.solver.evaluator`, so that
the objective of any solution equals the evaluator's value of the decoded mapping.
Each constraint family is one method named after the paper's equation:

* ``eq2_factor_placement``   every factor F_{d,f} is one temporal slot or one spatial axis;
* ``eq3_spatial_limits``     C^X (dims allowed per axis) and the axis sizes;
* ``eq4_loop_levels``        loop → memory level per operand (X^Z as a staircase), ψ^L, ψ^U;
* ``eq5_transfer_paths``     X^N: the next used level of every operand (bypass paths);
* ``eq6_tile_bounds``        B^S: per-level loop bounds of every relevant dim;
* ``eq7_8_data_sizes``       Size_{m,λ}: tile sizes (with the sliding-window halo of I);
* ``eq9_capacity``           capacities, doubled under double buffering (ψ^DM);
* ``eq10_11_transfers``      B^T / T_{i,λ}: transfer slot, count and time of every edge;
* ``eq12_buffering``         ψ^DL: single- versus double-buffered charges per slot;
* ``port_work``              each port's work in one iteration of every slot (Q_i, Q⁰_i);
* ``table3_latency``         the latency recursion of Table III with operand synchronisation
                             (steady state and first visits, which read no partial sums back);
* ``port_bandwidth``         every port's busy time, plus the time it must idle, bounds the
                             latency from below;
* ``energy``                 access, MVM and leakage energy;
* ``unrolling_cuts``         optional: only the given spatial unrollings, with their bounds;
* ``eq14_objective``         latency, energy or EDP.

Products are native CP-SAT multiplication constraints over integer variables; the
paper's one-hot selection over pre-enumerated sizes (eqs. 7–8) is what the MILP
backend uses instead. Energies are integers in units of ``energy_unit`` pJ.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from ortools.sat.python import cp_model

from miredo.solver.evaluator import psum_port_may_bind
from miredo.solver.factor_space import (
    Factor,
    ModelStats,
    decode_mapping,
    match_mapping,
    model_factors,
    subset_products,
)
from miredo.solver.hardware import Arch
from miredo.solver.mapping import Mapping
from miredo.solver.spatial_bounds import SpatialBound
from miredo.solver.workload import Layer

OPERANDS = ("I", "W", "O")
REDUCTION = frozenset("CRS")
"""The dims a macro's rows may take (an arch's reduction axis); a layer's own
reduction dims are ``Layer.reduction``."""
DIMS = ("N", "G", "K", "C", "P", "Q", "R", "S")


def _const(x: object, value: int) -> bool:
    """Whether ``x`` is the Python integer ``value`` (not a solver variable)."""
    return isinstance(x, int) and x == value


@dataclass
class CpSatMiredo:
    """Build the MIREDO model of one layer for CP-SAT.

    ``objective`` is ``latency``, ``energy`` or ``edp``; ``ws`` adds the
    weight-stationary restriction of the paper's WS baseline; ``latency_cap``
    bounds every latency variable (any solution of interest lies below it).
    """

    layer: Layer
    arch: Arch
    objective: str = "edp"
    ws: bool = False
    latency_cap: int | None = None
    factors_of: dict[str, list[int]] | None = None
    k_min: int = 2
    alpha: float = 0.1
    allow_bypass: bool = True
    allow_double_buffer: bool = True
    unrollings: list[SpatialBound] | None = None
    """If given, the only spatial unrollings allowed, each with its lower bounds
    (:mod:`miredo.solver.spatial_bounds`): those that can beat the incumbent."""
    model: cp_model.CpModel = field(default_factory=cp_model.CpModel)

    # ------------------------------------------------------------------ set-up
    def __post_init__(self) -> None:
        self.m = self.model
        self.factors: list[Factor] = model_factors(
            self.layer, self.factors_of, self.k_min, self.alpha
        )
        self.n = len(self.factors)
        self.slots = range(self.n)
        self.levels = list(self.arch.levels)
        self.axes = list(self.arch.spatial)
        self.core_axis = next(a for a in self.axes if a.kind == "cores")
        self.array_axes = [a for a in self.axes if a.kind == "array"]
        # admissible levels of each operand, outermost first (positions 0..)
        self.lv: dict[str, list[int]] = {
            op: [i for i, lvl in enumerate(self.levels) if op in lvl.operands]
            for op in OPERANDS
        }
        self.prec = {
            "I": self.arch.precision.input,
            "W": self.arch.precision.weight,
        }
        self.t_mvm = math.ceil(
            self.arch.precision.input / self.arch.macro.input_bits_per_cycle
        )
        self._ub_latency = self.latency_cap or self._safe_latency_bound()
        self.build()

    def _safe_latency_bound(self) -> int:
        """A safe latency bound: every MVM iteration waits for every edge's largest transfer."""
        min_bw = min(lvl.bw_bits_per_cycle for lvl in self.levels)
        per_iter = self.t_mvm + sum(
            2
            * len(self.lv[op])
            * math.ceil(self._full_elems(op) * self._max_bits() / min_bw)
            for op in OPERANDS
        )
        return 2 * self.macs * per_iter

    @property
    def macs(self) -> int:
        return math.prod(self.layer.dims[d] for d in DIMS)

    @property
    def ub_traffic(self) -> int:
        """Bound on T × tile × instances in bits (T × tile never exceeds the iteration space)."""
        return 2 * self.macs * self.arch.n_cores * self._max_bits()

    def _full_elems(self, op: str) -> int:
        return self.layer.full_volume(op)

    # ------------------------------------------------------------- primitives
    def _int(self, lb: int, ub: int, name: str) -> cp_model.IntVar:
        return self.m.new_int_var(lb, max(lb, ub), name)

    def _bool(self, name: str) -> cp_model.IntVar:
        return self.m.new_bool_var(name)

    def _product(self, terms: list, ub: int, name: str) -> cp_model.IntVar | int:
        """An integer variable equal to the product of ``terms``."""
        consts = [t for t in terms if isinstance(t, int)]
        vars_ = [t for t in terms if not isinstance(t, int)]
        c = math.prod(consts)
        if not vars_:
            return c
        if len(vars_) == 1 and c == 1:
            return vars_[0]
        target = self._int(0, ub, name)
        if c == 1:
            self.m.add_multiplication_equality(target, vars_)
        else:
            inner = self._int(0, max(1, ub // c), name + "_v")
            self.m.add_multiplication_equality(inner, vars_)
            self.m.add(target == c * inner)
        return target

    def _if_else(
        self, cond, then, other: int, lb: int, ub: int, name: str
    ) -> cp_model.IntVar:
        """``cond ? then : other`` as an integer variable."""
        v = self._int(lb, ub, name)
        self.m.add(v == then).only_enforce_if(cond)
        self.m.add(v == other).only_enforce_if(~cond)
        return v

    def _flag(self, lits: list, name: str):
        """A Boolean equal to the sum of mutually exclusive literals ``lits``."""
        if not lits:
            return 0
        v = self._bool(name)
        self.m.add(v == sum(lits))
        return v

    def _and(self, a, b, name: str) -> cp_model.IntVar:
        v = self._bool(name)
        self.m.add_bool_and([a, b]).only_enforce_if(v)
        self.m.add_bool_or([~a, ~b]).only_enforce_if(~v)
        return v

    # ------------------------------------------------------------------ build
    def build(self) -> None:
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
        self.energy()
        self.physical_cuts()
        if self.unrollings is not None:
            self.unrolling_cuts()
        if self.ws:
            self.weight_stationary()
        self.eq14_objective()

    def eq2_factor_placement(self) -> None:
        """Eq. (2): Σ_i X^L_{d,f,i} + Σ_u X^U_{d,f,u} = 1; at most one factor per slot."""
        m = self.m
        self.xt = {
            (f.index, i): self._bool(f"xt_{f.index}_{i}")
            for f in self.factors
            for i in self.slots
        }
        self.xs = {
            (f.index, a.name): self._bool(f"xs_{f.index}_{a.name}")
            for f in self.factors
            for a in self.axes
            if f.dim in a.dims
        }
        for f in self.factors:
            m.add(
                sum(self.xt[f.index, i] for i in self.slots)
                + sum(v for (k, _), v in self.xs.items() if k == f.index)
                == 1
            )
        # ψ^L_i: slot i is active; inactive slots are outermost (eq. 13 symmetry)
        self.occ = [sum(self.xt[f.index, i] for f in self.factors) for i in self.slots]
        for i in self.slots:
            m.add(self.occ[i] <= 1)
            if i + 1 < self.n:
                m.add(self.occ[i] <= self.occ[i + 1])
        # slot loop bound N_i and flags
        self.f = [
            1 + sum((f.value - 1) * self.xt[f.index, i] for f in self.factors)
            for i in self.slots
        ]
        self.fmax = max((f.value for f in self.factors), default=1)
        self.rel = {
            op: [
                self._flag(
                    [
                        self.xt[f.index, i]
                        for f in self.factors
                        if f.dim in self.layer.relevant[op]
                    ],
                    f"rel_{op}_{i}",
                )
                for i in self.slots
            ]
            for op in OPERANDS
        }
        self.red = [
            self._flag(
                [
                    self.xt[f.index, i]
                    for f in self.factors
                    if f.dim in self.layer.reduction
                ],
                f"red_{i}",
            )
            for i in self.slots
        ]
        # identical factors of one dim are interchangeable: keep them ordered
        for a in self.factors:
            for b in self.factors:
                if a.index < b.index and a.dim == b.dim and a.value == b.value:
                    m.add(self._key(a) <= self._key(b))

    def _key(self, f: Factor):
        return sum((i + 1) * self.xt[f.index, i] for i in self.slots) + sum(
            (self.n + 1 + u) * self.xs[f.index, a.name]
            for u, a in enumerate(self.axes)
            if (f.index, a.name) in self.xs
        )

    def eq3_spatial_limits(self) -> None:
        """Eq. (3): X^U_{d,f,u} ≤ C^X_{u,d} (by construction) and Π factors ≤ |u|."""
        self.axis_prod: dict[str, cp_model.IntVar | int] = {}
        for a in self.axes:
            terms = [
                self._if_else(
                    self.xs[f.index, a.name],
                    f.value,
                    1,
                    1,
                    f.value,
                    f"su_{f.index}_{a.name}",
                )
                for f in self.factors
                if (f.index, a.name) in self.xs
            ]
            p = self._product(terms, a.size, f"axis_{a.name}") if terms else 1
            if not isinstance(p, int):
                self.m.add(p <= a.size)
            self.axis_prod[a.name] = p

    def eq4_loop_levels(self) -> None:
        """Eq. (4): loop → level per operand (monotone staircase) and level usage ψ^U."""
        m = self.m
        # s[op, i, q] = slot i sits at position >= q of op's level list (q >= 1)
        self.s: dict[tuple[str, int, int], cp_model.IntVar] = {}
        self.used: dict[tuple[str, int], object] = {}
        for op in OPERANDS:
            npos = len(self.lv[op])
            for i in self.slots:
                for q in range(1, npos):
                    self.s[op, i, q] = self._bool(f"s_{op}_{i}_{q}")
                    if q > 1:
                        m.add(self.s[op, i, q] <= self.s[op, i, q - 1])
                    if i > 0:
                        m.add(self.s[op, i - 1, q] <= self.s[op, i, q])
                if npos > 1:
                    # inactive slots stay at the outermost level
                    m.add(self.s[op, i, 1] <= self.occ[i])
            for q, li in enumerate(self.lv[op]):
                lvl = self.levels[li]
                forced = (
                    q == 0 or q == npos - 1 or not lvl.bypass or not self.allow_bypass
                )
                u = 1 if forced else self._bool(f"used_{op}_{q}")
                self.used[op, q] = u
                if not forced:
                    for i in self.slots:
                        # a loop at position q requires the level to be used
                        m.add(self._at(op, i, q) <= u)

    def _ge(self, op: str, i: int, q: int):
        """Slot i of op is at position >= q (constant 1 for q == 0)."""
        if q <= 0:
            return 1
        if q >= len(self.lv[op]):
            return 0
        return self.s[op, i, q]

    def _at(self, op: str, i: int, q: int):
        return self._ge(op, i, q) - self._ge(op, i, q + 1)

    def eq5_transfer_paths(self) -> None:
        """Eq. (5): X^N_{p,c,λ}: the parent of every used level is the next used level outward."""
        m = self.m
        self.par: dict[tuple[str, int, int], object] = {}
        for op in OPERANDS:
            npos = len(self.lv[op])
            for c in range(1, npos):
                opts = []
                for p in range(c):
                    between_forced = any(
                        _const(self.used[op, q], 1) for q in range(p + 1, c)
                    )
                    if between_forced:
                        continue
                    v = self._bool(f"par_{op}_{c}_{p}")
                    m.add(v <= self.used[op, p])
                    m.add(v <= self.used[op, c])
                    for q in range(p + 1, c):
                        m.add(v + self.used[op, q] <= 1)
                    self.par[op, c, p] = v
                    opts.append(v)
                m.add(sum(opts) == self.used[op, c])

    def eq6_tile_bounds(self) -> None:
        """Eq. (6): B^S_{m,λ,d}, the loop bound of dim d held at position q of op.

        A factor counts if it is temporal at position >= q, on an array axis, or on
        the core axis when the level is shared (not per core). ``ext`` is the
        per-instance bound and ``ext_u`` the union over cores.
        """
        m = self.m
        self.ext: dict[tuple[str, int, str, bool], object] = {}
        for op in OPERANDS:
            for q, li in enumerate(self.lv[op]):
                lvl = self.levels[li]
                for d in DIMS:
                    if d not in self.layer.relevant[op]:
                        continue
                    fs = [f for f in self.factors if f.dim == d]
                    for union in (False, True):
                        if not union and not lvl.per_core:
                            continue
                        terms = []
                        for f in fs:
                            if q == 0:
                                inT = sum(self.xt[f.index, i] for i in self.slots)
                            else:
                                inT = self._bool(f"in_{op}_{q}_{f.index}")
                                for i in self.slots:
                                    m.add(
                                        inT
                                        >= self.xt[f.index, i] + self.s[op, i, q] - 1
                                    )
                                    m.add(
                                        inT
                                        <= 1 - self.xt[f.index, i] + self.s[op, i, q]
                                    )
                                m.add(
                                    inT <= sum(self.xt[f.index, i] for i in self.slots)
                                )
                            inc = inT + sum(
                                self.xs[f.index, a.name]
                                for a in self.array_axes
                                if (f.index, a.name) in self.xs
                            )
                            if (union or not lvl.per_core) and (
                                f.index,
                                self.core_axis.name,
                            ) in self.xs:
                                inc = inc + self.xs[f.index, self.core_axis.name]
                            t = self._int(
                                1, f.value, f"t_{op}_{q}_{f.index}_{int(union)}"
                            )
                            m.add(t == 1 + (f.value - 1) * inc)
                            terms.append(t)
                        key = (op, q, d, union)
                        self.ext[key] = (
                            self._product(
                                terms,
                                self.layer.dims[d],
                                f"ext_{op}_{q}_{d}_{int(union)}",
                            )
                            if terms
                            else 1
                        )
                    if not lvl.per_core:
                        self.ext[op, q, d, False] = self.ext[op, q, d, True]

    def _halo(self, ext_o, ext_k, o: str, k: str, axis: int, name: str):
        """Distinct input rows (axis 0) or columns (axis 1) for tile bounds (ext_o, ext_k)."""
        halo = self.layer.in_rows if axis == 0 else self.layer.in_cols
        os_ = subset_products([f.value for f in self.factors if f.dim == o])
        ks_ = subset_products([f.value for f in self.factors if f.dim == k])
        if isinstance(ext_o, int) and isinstance(ext_k, int):
            return halo(ext_o, ext_k)
        table = [(a, b, halo(a, b)) for a in os_ for b in ks_]
        h = self._int(1, max(t[2] for t in table), name)
        eo = (
            ext_o
            if not isinstance(ext_o, int)
            else self._int(ext_o, ext_o, name + "_o")
        )
        ek = (
            ext_k
            if not isinstance(ext_k, int)
            else self._int(ext_k, ext_k, name + "_k")
        )
        self.m.add_allowed_assignments([eo, ek, h], table)
        return h

    def eq7_8_data_sizes(self) -> None:
        """Eqs. (7)–(8): Size_{m,λ} in elements, per instance (``elems``) and over cores (``elems_u``)."""
        self.elems: dict[tuple[str, int, bool], object] = {}
        for op in OPERANDS:
            full = self._full_elems(op)
            for q, li in enumerate(self.lv[op]):
                lvl = self.levels[li]
                for union in (False, True):
                    if not union and not lvl.per_core:
                        continue
                    ext = {d: self.ext.get((op, q, d, union), 1) for d in DIMS}
                    e = ext.__getitem__
                    if op == "I":
                        h = self._halo(
                            e("P"), e("R"), "P", "R", 0, f"h_{q}_{int(union)}"
                        )
                        w = self._halo(
                            e("Q"), e("S"), "Q", "S", 1, f"w_{q}_{int(union)}"
                        )
                        terms = [e("N"), e("G"), e("C"), h, w]
                    else:
                        terms = [e(d) for d in DIMS if d in self.layer.relevant[op]]
                    self.elems[op, q, union] = self._product(
                        terms, full, f"el_{op}_{q}_{int(union)}"
                    )
                if not lvl.per_core:
                    self.elems[op, q, False] = self.elems[op, q, True]

    def eq9_capacity(self) -> None:
        """Eq. (9): Σ_λ (1 + ψ^DM_{m,λ}) · Size_{m,λ} ≤ CA_m, per instance."""
        m = self.m
        self.db: dict[tuple[str, int], object] = {}
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
                    allowed = (
                        False  # the mode-switch stall: no overlap of write and compute
                    )
                self.db[op, q] = self._bool(f"db_{op}_{q}") if allowed else 0
                if allowed and not _const(self.used[op, q], 1):
                    m.add(self.db[op, q] <= self.used[op, q])
        # O holds partial sums at its innermost level, and at any other level m
        # with a reduction loop at m or outer (the evaluator's precision rule).
        last_o = len(self.lv["O"]) - 1
        self.o_psum: dict[int, object] = {last_o: 1}
        for q in range(last_o):
            hits = [
                self._and(self.red[i], ~self._ge("O", i, q + 1), f"redat_{q}_{i}")
                for i in self.slots
                if not _const(self.red[i], 0)
            ]
            v = self._bool(f"opsum_{q}")
            if hits:
                m.add_max_equality(v, hits)
            else:
                m.add(v == 0)
            self.o_psum[q] = v
        self.stored_bits: dict[tuple[str, int], object] = {}
        for op in OPERANDS:
            for q in range(len(self.lv[op])):
                ub = self._full_elems(op) * self._max_bits()
                el = self.elems[op, q, False]
                if op == "O":
                    bits = self._bits_o(el, self.o_psum[q], f"sb_{op}_{q}", ub)
                else:
                    bits = self._product([el, self.prec[op]], ub, f"sb_{op}_{q}")
                dbv = self.db[op, q]
                if _const(dbv, 0):
                    total = bits
                else:
                    total = self._int(0, 2 * ub, f"sbd_{op}_{q}")
                    m.add(total == bits).only_enforce_if(~dbv)
                    m.add(total == 2 * bits).only_enforce_if(dbv)
                used = self.used[op, q]
                self.stored_bits[op, q] = (
                    total
                    if _const(used, 1)
                    else self._if_else(used, total, 0, 0, 2 * ub, f"sbu_{op}_{q}")
                )
        for li, lvl in enumerate(self.levels):
            if lvl.capacity_bits is None:
                continue
            terms = [
                self.stored_bits[op, self.lv[op].index(li)]
                for op in OPERANDS
                if li in self.lv[op]
            ]
            m.add(sum(terms) <= lvl.capacity_bits)

    def macro_geometry(self) -> None:
        """The macro's block grid (validator rule 11): the weight tile it keeps is
        ``blocks`` blocks of ``ru x cu`` cells, ``blocks ≤ ⌊R/ru⌋·⌊C/cu⌋``."""
        m = self.m
        rows, cols = self._rows_cols()
        ru = self.axis_prod.get(rows, 1) if rows else 1
        cu = self.axis_prod.get(cols, 1) if cols else 1
        big_r, big_c = self.arch.macro.rows, self.arch.macro.cols
        el = self.elems["W", len(self.lv["W"]) - 1, False]
        full = self._full_elems("W")

        def grid_side(size: int, used, name: str):
            if isinstance(used, int):
                return size // used
            den = self._int(1, size, name + "_den")
            m.add(den == used)
            side = self._int(0, size, name)
            m.add_division_equality(side, size, den)
            return side

        nr, nc = grid_side(big_r, ru, "grid_r"), grid_side(big_c, cu, "grid_c")
        grid = self._product([nr, nc], big_r * big_c, "grid")
        blocks = self._int(1, full, "macro_blocks")
        m.add_multiplication_equality(el, [blocks, ru, cu])
        m.add(blocks <= grid)

    def _max_bits(self) -> int:
        p = self.arch.precision
        return max(p.input, p.weight, p.psum, p.output)

    def _bits_o(self, elems, psum_flag, name: str, ub: int):
        out, ps = self.arch.precision.output, self.arch.precision.psum
        if _const(psum_flag, 1):
            return self._product([elems, ps], ub, name)
        v = self._int(0, ub, name)
        self.m.add(v == ps * elems).only_enforce_if(psum_flag)
        self.m.add(v == out * elems).only_enforce_if(~psum_flag)
        return v

    def eq10_11_transfers(self) -> None:
        """Eqs. (10)–(11): transfer slot, count and time of every edge (parent → child c).

        A tile moves into c once per iteration of the innermost loop above c that
        is relevant to the operand (the transfer slot); irrelevant loops below it
        reuse the tile. ``a[i]`` is the monotone OR-chain "a relevant loop above c
        sits at slot >= i"; the transfer slot is where it switches off.
        """
        m = self.m
        self.trig: dict[tuple[str, int, int], object] = {}
        self.a0: dict[tuple[str, int], object] = {}
        self.count: dict[tuple[str, int], object] = {}
        self.tau: dict[tuple[str, int], object] = {}
        self.tau_r: dict[tuple[str, int], object] = {}
        self.has_psum: dict[int, object] = {}
        self.distinct: dict[int, object] = {}
        macs = math.prod(f.value for f in self.factors)
        for op in OPERANDS:
            npos = len(self.lv[op])
            for c in range(1, npos):
                a = [self._bool(f"a_{op}_{c}_{i}") for i in self.slots] + [0]
                for i in self.slots:
                    above = 1 - self._ge(op, i, c)
                    m.add(a[i] >= a[i + 1])
                    m.add(a[i] >= self.rel[op][i] + above - 1)
                    m.add(a[i] <= a[i + 1] + self.rel[op][i])
                    m.add(a[i] <= a[i + 1] + above)
                for i in self.slots:
                    t = self._bool(f"trig_{op}_{c}_{i}")
                    m.add(t == a[i] - a[i + 1])
                    self.trig[op, c, i] = t
                self.a0[op, c] = a[0] if self.n else 0
                terms = [
                    self._if_else(a[i], self.f[i], 1, 1, self.fmax, f"tc_{op}_{c}_{i}")
                    for i in self.slots
                ]
                self.count[op, c] = (
                    self._product(terms, macs, f"T_{op}_{c}") if terms else 1
                )
                if op == "O":
                    dterms, hp = [], []
                    for i in self.slots:
                        ar = self._and(a[i], self.rel["O"][i], f"ar_{c}_{i}")
                        dterms.append(
                            self._if_else(ar, self.f[i], 1, 1, self.fmax, f"dc_{c}_{i}")
                        )
                        hp.append(self._and(a[i], self.red[i], f"hp_{c}_{i}"))
                    self.distinct[c] = (
                        self._product(dterms, macs, f"D_{c}") if dterms else 1
                    )
                    h = self._bool(f"haspsum_{c}")
                    if hp:
                        m.add_max_equality(h, hp)
                    else:
                        m.add(h == 0)
                    self.has_psum[c] = h
                self._edge_time(op, c)

    def _link_bw(self, op: str, p: int, c: int) -> int:
        lp, lc = self.levels[self.lv[op][p]], self.levels[self.lv[op][c]]
        return min(lp.bw_bits_per_cycle, lc.bw_bits_per_cycle)

    def _port_elems(self, op: str, p: int, c: int):
        """Elements moved on the parent's port: the union over cores if the parent is shared."""
        shared_parent = not self.levels[self.lv[op][p]].per_core
        return self.elems[op, c, shared_parent]

    def _edge_time(self, op: str, c: int) -> None:
        """T_{i,λ}·BW = transferred bits (eq. 11), with ceil made exact by two rows."""
        m = self.m
        used = self.used[op, c]
        ub_bits = self._full_elems(op) * self._max_bits()
        tau = self._int(0, ub_bits, f"tau_{op}_{c}")
        tau_r = self._int(0, ub_bits, f"taur_{op}_{c}") if op == "O" else 0
        if not _const(used, 1):
            m.add(tau == 0).only_enforce_if(~used)
            if op == "O":
                m.add(tau_r == 0).only_enforce_if(~used)
        for (o, cc, p), par in self.par.items():
            if o != op or cc != c:
                continue
            bw = self._link_bw(op, p, c)
            el = self._port_elems(op, p, c)
            if op == "O":
                bits = self._bits_o(el, self.o_psum[p], f"wb_{c}_{p}", ub_bits)
                rbits = self._product(
                    [el, self.arch.precision.psum], ub_bits, f"rb_{c}_{p}"
                )
                m.add(tau_r * bw >= rbits).only_enforce_if(par)
                m.add(tau_r * bw <= rbits + bw - 1).only_enforce_if(par)
                if psum_port_may_bind(
                    self.arch, self.levels[self.lv[op][p]], self.levels[self.lv[op][c]]
                ):
                    el_c = self.elems[op, c, not self.levels[self.lv[op][c]].per_core]
                    self._child_port_time(tau, el_c, p, c, bits, bw, par, ub_bits)
                    continue
            else:
                bits = self._product([el, self.prec[op]], ub_bits, f"lb_{op}_{c}_{p}")
            m.add(tau * bw >= bits).only_enforce_if(par)
            m.add(tau * bw <= bits + bw - 1).only_enforce_if(par)
        self.tau[op, c] = tau
        self.tau_r[op, c] = tau_r

    def _child_port_time(self, tau, el, p: int, c: int, bits, bw: int, par, ub: int):
        """τ = max(ceil(bits / bw), ceil(el × bits_c / bw_c)) when p is the parent:
        the link carries the parent's width, each child instance's port streams
        its own tile (``el``, per instance) at its own width."""
        m = self.m
        bw_c = self.levels[self.lv["O"][c]].bw_bits_per_cycle
        cbits = self._bits_o(el, self.o_psum[c], f"wbc_{c}_{p}", ub)
        link = self._int(0, ub, f"taul_{c}_{p}")
        port = self._int(0, ub, f"tauc_{c}_{p}")
        m.add(link * bw >= bits).only_enforce_if(par)
        m.add(link * bw <= bits + bw - 1).only_enforce_if(par)
        m.add(port * bw_c >= cbits).only_enforce_if(par)
        m.add(port * bw_c <= cbits + bw_c - 1).only_enforce_if(par)
        on_link = self._bool(f"taulb_{c}_{p}")
        m.add(tau >= link).only_enforce_if(par)
        m.add(tau >= port).only_enforce_if(par)
        m.add(tau <= link).only_enforce_if([par, on_link])
        m.add(tau <= port).only_enforce_if([par, ~on_link])

    def eq12_buffering(self) -> None:
        """Eq. (12): charge each transfer at its slot, single- or double-buffered, per port."""
        m = self.m
        ub = self._ub_latency
        # [steady state, first visit]: on a first visit O reads no partial sums back
        self.charge_s: list[dict[int, dict[int, list]]] = [
            {i: {} for i in self.slots} for _ in range(2)
        ]
        self.charge_d: list[dict[int, dict[int, list]]] = [
            {i: {} for i in self.slots} for _ in range(2)
        ]
        # O's first-visit charges (its write-backs alone) per slot and port
        self.charge_o: dict[int, dict[int, list]] = {i: {} for i in self.slots}
        # single-buffered charges per operand: one operand's hops are serial
        self.chain_s: list[dict[int, dict[str, list]]] = [
            {i: {} for i in self.slots} for _ in range(2)
        ]
        self.edge_tau: dict[tuple[str, int], object] = {}
        for op in OPERANDS:
            for c in range(1, len(self.lv[op])):
                if op == "O":
                    rd = self._if_else(
                        self.has_psum[c], self.tau_r[op, c], 0, 0, ub, f"rdc_{c}"
                    )
                    et = self._int(0, ub, f"et_{op}_{c}")
                    m.add(et == self.tau[op, c] + rd)
                else:
                    et = self.tau[op, c]
                self.edge_tau[op, c] = et
                dbv = self.db[op, c]
                for (o, cc, p), par in self.par.items():
                    if o != op or cc != c:
                        continue
                    port = self.lv[op][p]
                    for i in self.slots:
                        for double in (False, True):
                            if double and _const(dbv, 0):
                                continue
                            lits = [par, self.trig[op, c, i]]
                            if not _const(dbv, 0):
                                lits.append(dbv if double else ~dbv)
                            name = f"{op}_{c}_{p}_{i}_{int(double)}"
                            steady = self._charge(et, lits, f"ch_{name}")
                            first = (
                                self._charge(self.tau[op, c], lits, f"ch0_{name}")
                                if op == "O"
                                else steady
                            )
                            if op == "O":
                                self.charge_o[i].setdefault(port, []).append(first)
                            for k, v in enumerate((steady, first)):
                                target = self.charge_d if double else self.charge_s
                                target[k][i].setdefault(port, []).append(v)
                                if not double and len(self.lv[op]) > 2:
                                    self.chain_s[k][i].setdefault(op, []).append(v)

    def _charge(self, value, lits: list, name: str) -> cp_model.IntVar:
        """``value`` if all ``lits`` hold, else 0."""
        v = self._int(0, self._ub_latency, name)
        self.m.add(v == value).only_enforce_if(lits)
        for lit in lits:
            self.m.add(v == 0).only_enforce_if(~lit)
        return v

    def port_work(self) -> None:
        """Q_i (Q⁰_i on a first visit): each port's work in one iteration of slot
        i, its own charges at i plus ``N_{i+1}·(…)`` of the slots inside (see
        ``solver/evaluator.py``); every visit: ``Q_i = X_i + N_{i+1}·Q_{i+1}``,
        first visit: ``Q⁰_i = X⁰_i + inner_{i+1}`` (`_port_inner`). Only below
        the outermost loop: 0 unless slot i − 1 is occupied (the occupied slots
        are the innermost ones)."""
        m = self.m
        ub = self._ub_latency
        ports = sorted({self.lv[op][p] for (op, _c, p) in self.par})
        self.work: list[dict[int, list]] = [
            {i: [] for i in self.slots} for _ in range(2)
        ]
        self.inner: dict[int, list[object]] = {}
        below = {}  # slot i has an occupied slot outside it
        for i in self.slots[1:]:
            below[i] = self._bool(f"qb_{i}")
            m.add(below[i] == self.occ[i - 1])
        for q in ports:
            inner = self._port_inner(q)
            self.inner[q] = inner
            nested: object = 0
            for i in reversed(self.slots[1:]):
                own = [
                    sum(self.charge_s[k][i].get(q, []))
                    + sum(self.charge_d[k][i].get(q, []))
                    for k in range(2)
                ]
                per = self._int(0, ub, f"qw_{q}_{i}")
                m.add(per == own[0] + nested)
                for k, v in enumerate((per, own[1] + inner[i + 1])):
                    self.work[k][i].append(
                        self._if_else(below[i], v, 0, 0, ub, f"qk{k}_{q}_{i}")
                    )
                nested = self._int(0, ub, f"qn_{q}_{i}")
                m.add_multiplication_equality(nested, [self.f[i], per])

    def table3_latency(self) -> None:
        """Table III, pipelined: W_i = N_i · it_i, it_i = max(W_{i+1} + S_i, D_i, Q_i),
        and Lat_0 = W⁰_0 + Σ_i min(W_{i+1} + S_i, D_i) (see ``solver/evaluator.py``).

        S_i (D_i) is the slowest port's sum of single- (double-) buffered
        transfers triggered at slot i (S_i also covers each operand's own serial
        hops); all operands must arrive before an iteration starts (operand
        synchronisation). Inactive slots pass latency through (eq. 13). W⁰_i is
        the first visit: no partial sums read back, ``it⁰_i + (N_i − 1)·it_i`` at
        a reduction loop, ``N_i·it⁰_i`` elsewhere.
        """
        m = self.m
        ub = self._ub_latency
        lat_next: object = self.t_mvm
        first_next: object = self.t_mvm
        self.lat: list[object] = [0] * self.n
        self.body: list[object] = [0] * self.n
        fills = []
        for i in reversed(self.slots):
            it, body, D = self._iteration(0, i, lat_next)
            self.body[i] = body
            fill = self._int(0, ub, f"fill_{i}")  # min(body, D): the pipeline's fill
            m.add_min_equality(fill, [body, D])
            fills.append(fill)
            lat = self._int(0, ub, f"lat_{i}")
            m.add_multiplication_equality(lat, [self.f[i], it])
            self.lat[i] = lat
            it0, _, _ = self._iteration(1, i, first_next)
            first = self._int(0, ub, f"lat0_{i}")
            self._per_reduction(i, first, it0 + lat - it, it0, f"lat0p_{i}")
            lat_next, first_next = lat, first
        lat0 = self._int(0, ub, "lat0")
        m.add(lat0 == first_next + sum(fills))
        self.lat0 = lat0

    def _per_reduction(self, i: int, v, at_reduction, times_n, name: str) -> None:
        """``v = at_reduction`` if slot i holds a reduction factor, else
        ``v = N_i·times_n``."""
        m = self.m
        red = self.red[i]
        if not _const(red, 1):
            prod = self._int(0, self._ub_latency, name)
            m.add_multiplication_equality(prod, [self.f[i], times_n])
            m.add(v == prod).only_enforce_if(~red)
        if not _const(red, 0):
            m.add(v == at_reduction).only_enforce_if(red)

    def _iteration(self, k: int, i: int, inner) -> tuple[object, object, object]:
        """``(max(body, D, Q), body, D)`` of one iteration of slot i with
        ``body = inner + S``; k = 0 steady state, 1 first visit."""
        m = self.m
        ub = self._ub_latency
        single, double = self.charge_s[k][i], self.charge_d[k][i]
        chain = {("op", o): v for o, v in self.chain_s[k][i].items()}
        S = self._port_max({**single, **chain}, f"S{k}_{i}")
        D = self._port_max(double, f"D{k}_{i}")
        body = self._int(0, ub, f"body{k}_{i}")
        m.add(body == inner + S)
        it = self._int(0, ub, f"it{k}_{i}")
        m.add_max_equality(it, [body, D, *self.work[k][i]])
        return it, body, D

    def _port_max(self, by_port: dict[int, list], name: str):
        if not by_port:
            return 0
        sums = [sum(v) for v in by_port.values()]
        if len(sums) == 1:
            return sums[0]
        v = self._int(0, self._ub_latency, name)
        self.m.add_max_equality(v, sums)
        return v

    def port_bandwidth(self) -> None:
        """Port busy time bounds the latency; untriggered edges form boot and tail.

        latency = boot + max(Lat_0, max_port (Σ_edges T·τ + I_port)) + tail.
        """
        m = self.m
        ub = self._ub_latency
        busy: dict[int, list] = {}
        boot, tail = [], []
        for op in OPERANDS:
            for c in range(1, len(self.lv[op])):
                T, a0 = self.count[op, c], self.a0[op, c]
                if op == "O":
                    w = self._product([T, self.tau[op, c]], ub, f"bw_{c}")
                    # T·τ_read only counts when the edge carries partial sums, so
                    # it may exceed the latency cap otherwise: give it room.
                    big = self.ub_traffic
                    r1 = self._product([T, self.tau_r[op, c]], big, f"br1_{c}")
                    r2 = self._product(
                        [self.distinct[c], self.tau_r[op, c]], big, f"br2_{c}"
                    )
                    rd = self._int(0, ub, f"brd_{c}")
                    m.add(rd == r1 - r2).only_enforce_if(self.has_psum[c])
                    m.add(rd == 0).only_enforce_if(~self.has_psum[c])
                    total = self._int(0, ub, f"bt_{c}")
                    m.add(total == w + rd)
                else:
                    total = self._product([T, self.tau[op, c]], ub, f"bt_{op}_{c}")
                trig_busy = (
                    self._if_else(a0, total, 0, 0, ub, f"tb_{op}_{c}")
                    if not _const(a0, 0)
                    else 0
                )
                once = (
                    self._if_else(a0, 0, self.edge_tau[op, c], 0, ub, f"once_{op}_{c}")
                    if not _const(a0, 0)
                    else self.edge_tau[op, c]
                )
                (tail if op == "O" else boot).append(once)
                for (o, cc, p), par in self.par.items():
                    if o == op and cc == c:
                        v = self._if_else(par, trig_busy, 0, 0, ub, f"pb_{op}_{c}_{p}")
                        busy.setdefault(self.lv[op][p], []).append(v)
        idle = self._port_idle()
        core = self._int(0, ub, "core")
        m.add_max_equality(
            core, [self.lat0, *(sum(v) + idle.get(q, 0) for q, v in busy.items())]
        )
        self.latency = self._int(0, ub, "latency")
        m.add(self.latency == sum(boot) + core + sum(tail))
        self.boot, self.tail = boot, tail

    def _port_idle(self) -> dict[int, object]:
        """I_q = max(0, max over edges e on q of X_e − inner_q(j_e)): X_e is
        body_j for a load triggered at slot j, W_{j+1} for an O write-back
        (see ``solver/evaluator.py``)."""
        m = self.m
        ub = self._ub_latency
        if not self.n:
            return {}
        on: dict[int, list[tuple[list, list]]] = {}  # per slot: loads, write-backs
        for (op, c, p), par in self.par.items():
            q = self.lv[op][p]
            rows = on.setdefault(q, [([], []) for _ in self.slots])
            for i in self.slots:
                t = self.trig[op, c, i]
                lit = t if _const(par, 1) else self._and(par, t, f"pt_{op}_{c}_{p}_{i}")
                rows[i][op == "O"].append(lit)
        nxt = [*self.lat[1:], self.t_mvm]
        idle: dict[int, object] = {}
        for q, rows in on.items():
            inner = self.inner[q]
            cands: list = [0]
            for i in self.slots:
                for k, lits in enumerate(rows[i]):
                    if not lits:
                        continue
                    hit = self._bool(f"ih_{q}_{i}_{k}")
                    m.add_max_equality(hit, lits)
                    cand = self._int(-ub, ub, f"ic_{q}_{i}_{k}")
                    x = nxt[i] if k else self.body[i]
                    m.add(cand == x - inner[i + 1]).only_enforce_if(hit)
                    m.add(cand == 0).only_enforce_if(~hit)
                    cands.append(cand)
            v = self._int(0, ub, f"idle_{q}")
            m.add_max_equality(v, cands)
            idle[q] = v
        return idle

    def _port_inner(self, q: int) -> list[object]:
        """inner[i]: port q's work in one iteration of slot i − 1 (inner[0] = B_q).

        ``A_i = N_i·(A_{i+1} + X_i)`` over the port's transfers (τ each) and, for
        its O read-backs, ``E_i = E_{i+1} + (N_i − 1)·U_i`` at a reduction loop,
        ``N_i·E_{i+1}`` elsewhere, U_i = A^O_{i+1} + X^O_i one iteration's O
        write-backs; inner[i] = A_i + E_i.
        """
        m = self.m
        ub = self._ub_latency
        n = self.n
        a: list[object] = [0] * (n + 1)
        ao: list[object] = [0] * (n + 1)
        e: list[object] = [0] * (n + 1)
        has_o = any(self.charge_o[i].get(q) for i in self.slots)
        for i in reversed(self.slots):
            x = sum(self.charge_s[1][i].get(q, [])) + sum(
                self.charge_d[1][i].get(q, [])
            )
            per = self._int(0, ub, f"pa_{q}_{i}")
            m.add(per == a[i + 1] + x)
            a[i] = self._int(0, ub, f"pA_{q}_{i}")
            m.add_multiplication_equality(a[i], [self.f[i], per])
            if not has_o:
                continue
            u = self._int(0, ub, f"pu_{q}_{i}")
            m.add(u == ao[i + 1] + sum(self.charge_o[i].get(q, [])))
            ao[i] = self._int(0, ub, f"pAo_{q}_{i}")
            m.add_multiplication_equality(ao[i], [self.f[i], u])
            e[i] = self._int(0, ub, f"pE_{q}_{i}")
            self._per_reduction(i, e[i], e[i + 1] + ao[i] - u, e[i + 1], f"pEp_{q}_{i}")
        return [a[i] + e[i] for i in range(n + 1)]

    def energy(self) -> None:
        """Access energy per edge, MVM energy and leakage, in integer units of ``energy_unit`` pJ."""
        m = self.m
        self.energy_unit = 1e-4
        cu = lambda pj: round(pj / self.energy_unit)  # noqa: E731
        ncores = self.axis_prod[self.core_axis.name]
        macs = self.macs
        big = self.ub_traffic
        max_cu = max(
            [cu(lv.read_pj_per_bit) for lv in self.levels]
            + [cu(lv.write_pj_per_bit) for lv in self.levels]
            + [1]
        )
        big_e = 4 * big * max_cu
        terms: list = []
        for op in OPERANDS:
            for c in range(1, len(self.lv[op])):
                lc = self.levels[self.lv[op][c]]
                T = self.count[op, c]
                inst_c = ncores if lc.per_core else 1
                el_c = self.elems[op, c, False]
                for (o, cc, p), par in self.par.items():
                    if o != op or cc != c:
                        continue
                    lp = self.levels[self.lv[op][p]]
                    inst_p = ncores if lp.per_core else 1
                    el_p = self._port_elems(op, p, c)
                    if op != "O":
                        prec = self.prec[op]
                        unit = self._int(0, big_e, f"eu_{op}_{c}_{p}")
                        rd = self._product([el_p, inst_p], big, f"erp_{op}_{c}_{p}")
                        wr = self._product([el_c, inst_c], big, f"ewc_{op}_{c}_{p}")
                        m.add(
                            unit
                            == prec
                            * (
                                cu(lp.read_pj_per_bit) * rd
                                + cu(lc.write_pj_per_bit) * wr
                            )
                        )
                        e = self._product([T, unit], big_e, f"ee_{op}_{c}_{p}")
                    else:
                        ps = self.arch.precision.psum
                        wb_c = self._bits_o(
                            self._product([el_c, inst_c], big, f"eoc_{c}_{p}"),
                            self.o_psum[c],
                            f"eobc_{c}_{p}",
                            big,
                        )
                        el_pi = self._product([el_p, inst_p], big, f"eop_{c}_{p}")
                        wb_p = self._bits_o(el_pi, self.o_psum[p], f"eobp_{c}_{p}", big)
                        unit_w = self._int(0, big_e, f"euw_{c}_{p}")
                        m.add(
                            unit_w
                            == cu(lc.read_pj_per_bit) * wb_c
                            + cu(lp.write_pj_per_bit) * wb_p
                        )
                        unit_r = self._int(0, big_e, f"eur_{c}_{p}")
                        ec = self._product([el_c, inst_c], big, f"eorc_{c}_{p}")
                        m.add(
                            unit_r
                            == ps
                            * (
                                cu(lp.read_pj_per_bit) * el_pi
                                + cu(lc.write_pj_per_bit) * ec
                            )
                        )
                        ew = self._product([T, unit_w], big_e, f"eew_{c}_{p}")
                        er1 = self._product([T, unit_r], big_e, f"eer1_{c}_{p}")
                        er2 = self._product(
                            [self.distinct[c], unit_r], big_e, f"eer2_{c}_{p}"
                        )
                        er = self._if_else(
                            self.has_psum[c], er1 - er2, 0, 0, big_e, f"eer_{c}_{p}"
                        )
                        e = self._int(0, big_e, f"ee_{op}_{c}_{p}")
                        m.add(e == ew + er)
                    terms.append(self._if_else(par, e, 0, 0, big_e, f"eg_{op}_{c}_{p}"))
        # compute: one macro activation per MVM, plus the registers feeding it
        prod_t = self._product([self._slot_f(i) for i in self.slots], macs, "prod_t")
        n_mvm = self._product([prod_t, ncores], macs, "n_mvm")
        rows_ax, cols_ax = self._rows_cols()
        ireg = self.levels[self.lv["I"][-1]]
        oreg = self.levels[self.lv["O"][-1]]
        rows = self.axis_prod[rows_ax] if rows_ax else 1
        cols = self.axis_prod[cols_ax] if cols_ax else 1
        mr = self._product([n_mvm, rows], big, "mvm_rows")
        mc = self._product([n_mvm, cols], big, "mvm_cols")
        p = self.arch.precision
        terms.append(cu(self.arch.macro.mvm_energy_pj) * n_mvm)
        terms.append(p.input * cu(ireg.read_pj_per_bit) * mr)
        terms.append(
            p.psum * (cu(oreg.read_pj_per_bit) + cu(oreg.write_pj_per_bit)) * mc
        )
        self.ub_energy = (
            big_e * (len(terms) + 3)
            + cu(self.arch.leakage_pj_per_cycle) * self._ub_latency
        )
        self.dynamic_energy = sum(terms)
        self.energy_total = (
            self.dynamic_energy + cu(self.arch.leakage_pj_per_cycle) * self.latency
        )
        self.n_mvm = n_mvm
        self.prod_t = prod_t

    def physical_cuts(self) -> None:
        """Valid cuts the recursion implies but propagation misses.

        Every core runs Π N_i MVMs back to back at best (compute bound), and
        the DRAM port must move every operand at least once (compulsory bound).
        """
        self.m.add(self.lat0 >= self.t_mvm * self.prod_t)
        from miredo.solver.bounds import dram_bound, dynamic_energy_bound

        self.m.add(self.latency >= math.ceil(dram_bound(self.layer, self.arch)))
        e_lb = dynamic_energy_bound(self.layer, self.arch)
        self.m.add(
            self.dynamic_energy >= math.floor(e_lb / self.energy_unit * (1 - 1e-6))
        )

    def unrolling_cuts(self) -> None:
        """Only the listed spatial unrollings, each with its latency and energy bounds.

        ``z_u`` selects unrolling u; per (axis, dim) the chosen factors' scaled
        logarithms sum to u's (distinct products differ by far more than the
        rounding), and ``latency ≥ Σ z_u·L_u``, ``dynamic energy ≥ Σ z_u·E_u``."""
        m, scale = self.m, 10**6
        units = self.unrollings or []
        z = [self._bool(f"unroll_{k}") for k in range(len(units))]
        m.add_exactly_one(z)
        for a in self.axes:
            for d in sorted(set(a.dims)):
                fs = [
                    f
                    for f in self.factors
                    if f.dim == d and (f.index, a.name) in self.xs
                ]
                if not fs:
                    continue
                expr = sum(
                    round(math.log(f.value) * scale) * self.xs[f.index, a.name]
                    for f in fs
                )
                target = sum(
                    round(math.log(u.spatial.get(a.name, {}).get(d, 1)) * scale) * zk
                    for u, zk in zip(units, z, strict=True)
                )
                slack = len(fs) + 1
                m.add(expr - target <= slack)
                m.add(expr - target >= -slack)
        m.add(
            self.latency
            >= sum(math.floor(u.latency) * zk for u, zk in zip(units, z, strict=True))
        )
        m.add(
            self.dynamic_energy
            >= sum(
                math.floor(u.dynamic_energy / self.energy_unit * (1 - 1e-6)) * zk
                for u, zk in zip(units, z, strict=True)
            )
        )

    def _slot_f(self, i: int):
        v = self._int(1, self.fmax, f"fv_{i}")
        self.m.add(v == self.f[i])
        return v

    def _rows_cols(self) -> tuple[str | None, str | None]:
        rows = next((a.name for a in self.array_axes if set(a.dims) & REDUCTION), None)
        cols = next((a.name for a in self.array_axes if a.name != rows), None)
        return rows, cols

    def weight_stationary(self) -> None:
        """The WS baseline: every weight tile enters the macro once (W-relevant loops outside W-irrelevant ones)."""
        for i in self.slots:
            for j in self.slots:
                if i < j:
                    # an irrelevant loop at slot i may not sit outside a relevant loop at j
                    irr_i = self.occ[i] - self.rel["W"][i]
                    self.m.add(irr_i + self.rel["W"][j] <= 1)

    def eq14_objective(self) -> None:
        """Eq. (14) with the three objectives; EDP as the exact product L × E."""
        m = self.m
        if self.objective == "latency":
            m.minimize(self.latency)
        elif self.objective == "energy":
            m.minimize(self.energy_total)
        elif self.objective == "edp":
            # L × E must stay inside int64: E is coarsened by ``energy_scale`` units
            e = self._int(0, self.ub_energy, "energy_total")
            m.add(e == self.energy_total)
            scale = max(1, -(-self.ub_energy * self._ub_latency // 2**60))
            ec = self._int(0, self.ub_energy // scale + 1, "energy_coarse")
            m.add_division_equality(ec, e, scale)
            edp = self._int(0, 2**61, "edp")
            m.add_multiplication_equality(edp, [self.latency, ec])
            self.energy_scale = scale
            m.minimize(edp)
        else:
            raise ValueError(f"unknown objective {self.objective!r}")

    def objective_scale(self) -> float:
        """Factor from the solver's integer objective to cycles, pJ or cycles·pJ."""
        if self.objective == "latency":
            return 1.0
        if self.objective == "energy":
            return self.energy_unit
        return self.energy_scale * self.energy_unit

    # ---------------------------------------------------------------- decode
    def decode(self, solver: cp_model.CpSolver) -> Mapping:
        """Read the mapping of a solution."""
        return decode_mapping(
            self,
            lambda x: bool(x if isinstance(x, int) else solver.value(x)),
            self._ge,
        )

    def stats(self) -> ModelStats:
        proto = self.m.proto
        return ModelStats(
            variables=len(proto.variables),
            constraints=len(proto.constraints),
            booleans=sum(1 for v in proto.variables if list(v.domain) == [0, 1]),
        )

    # ------------------------------------------------------------------ hints
    def add_hint(self, mapping: Mapping) -> bool:
        """Hint the solver with ``mapping`` (a MIP start), if it fits the factor space.

        Each loop of the mapping is matched to a sub-multiset of this model's
        factors of its dim with the same product; a mapping whose loops cannot be
        matched is not hinted (returns ``False``).
        """
        a = match_mapping(self.factors, mapping, [ax.name for ax in self.axes])
        if a is None:
            return False
        slot_of = {f.index: i for i, f in a.slot_factor.items()}
        axis_of = {f.index: ax for ax, fs in a.axis_factors.items() for f in fs}
        for f in self.factors:
            for i in self.slots:
                self.m.add_hint(self.xt[f.index, i], int(slot_of.get(f.index) == i))
            for ax in self.axes:
                if (f.index, ax.name) in self.xs:
                    self.m.add_hint(
                        self.xs[f.index, ax.name], int(axis_of.get(f.index) == ax.name)
                    )
        for op in OPERANDS:
            names = [self.levels[li].name for li in self.lv[op]]
            for i in self.slots:
                j = a.slot_loop.get(i)
                pos = names.index(mapping.level_of[op][j]) if j is not None else 0
                for q in range(1, len(names)):
                    self.m.add_hint(self.s[op, i, q], int(pos >= q))
            for q, name in enumerate(names):
                if not isinstance(self.used[op, q], int):
                    self.m.add_hint(
                        self.used[op, q], int(name not in mapping.bypass[op])
                    )
                if not isinstance(self.db[op, q], int):
                    self.m.add_hint(
                        self.db[op, q], int((name, op) in mapping.double_buffer)
                    )
        return True

    def complete_hint(self, time_limit: float, deterministic: bool = False) -> bool:
        """Extend the hint of the decision variables to every variable.

        CP-SAT completes a partial hint by search, which on a ResNet-18 3x3 conv
        took longer than the 2-4 s a short solve has. A copy of the model with the
        hinted variables fixed is solved instead (its other variables follow by
        propagation) and its solution becomes the full hint. ``False`` (hint left
        as it was) when that copy finds no solution within ``time_limit``
        (``deterministic``: units of CP-SAT's work counter)."""
        if not self.m.proto.solution_hint.vars:
            return False
        fixed = self.m.clone()
        _pin_to_hint(fixed)
        solver = cp_model.CpSolver()
        solver.parameters.num_workers = 1
        if deterministic:
            solver.parameters.max_deterministic_time = max(0.01, time_limit)
        else:
            solver.parameters.max_time_in_seconds = max(0.01, time_limit)
        if solver.solve(fixed) not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            return False
        self.m.clear_hints()
        for index in range(len(self.m.proto.variables)):
            var = self.m.get_int_var_from_proto_index(index)
            self.m.add_hint(var, solver.value(var))
        return True

    def fix_mapping(self, mapping: Mapping) -> bool:
        """Fix the decision variables to ``mapping`` (its hint made binding)."""
        if not self.add_hint(mapping):
            return False
        _pin_to_hint(self.m)
        return True


def _pin_to_hint(model: cp_model.CpModel) -> None:
    """Constrain every hinted variable of ``model`` to its hinted value."""
    hint = model.proto.solution_hint
    for index, value in zip(hint.vars, hint.values, strict=True):
        model.add(model.get_int_var_from_proto_index(index) == value)
