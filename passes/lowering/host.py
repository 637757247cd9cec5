"""The host side of the lowering: one ``cim.launch`` per compute op.

:class:`HostLowering` rewrites the model's function op by op. Weights of a
contraction are packed on the host (``nest.reshape`` + ``nest.transpose`` into
:data:`~miredo.passes.lowering.contract.PACKED_W_ORDER`), the op is replaced by a
launch of its program, and a bias or Gemm scaling becomes a SIMD epilogue launch.
Layout ops (reshape, transpose, concat) become DMA programs.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence

from xdsl.dialects import memref
from xdsl.dialects.builtin import (
    DenseIntOrFPElementsAttr,
    MemRefType,
    ModuleOp,
    StringAttr,
)
from xdsl.ir import Attribute, Operation, SSAValue
from xdsl.rewriter import InsertPoint, Rewriter

from miredo.dialects import cim, nest
from miredo.dialects.dataflow import DataflowAttr
from miredo.errors import MiredoError
from miredo.passes.lowering import layout, simd
from miredo.passes.lowering.contract import (
    ContractLowering,
    lower_contract,
    packed_weight_shape,
)
from miredo.solver.hardware import Arch
from miredo.solver.mapping import Loop, Mapping
from miredo.solver.validator import validate
from miredo.solver.workload import DIMS, Layer


def mapping_of(attr: DataflowAttr) -> Mapping:
    """The solver's mapping of a dataflow attribute."""
    return Mapping(
        spatial={
            ax: tuple(Loop(d, f) for d, f in loops)
            for ax, loops in attr.spatial_loops().items()
        },
        temporal=tuple(Loop(d, f) for d, f in attr.temporal_loops()),
        level_of={op: tuple(v) for op, v in attr.level_of().items()},
        bypass={op: frozenset(v) for op, v in attr.bypassed().items()},
        double_buffer=frozenset(attr.double_buffered()),
    )


def _shape(value: SSAValue) -> tuple[int, ...]:
    t = value.type
    assert isinstance(t, MemRefType)
    return tuple(t.get_shape())


def _elt(value: SSAValue) -> Attribute:
    t = value.type
    assert isinstance(t, MemRefType)
    return t.element_type


def _dram(value: SSAValue, space: str) -> MemRefType:
    return MemRefType(_elt(value), _shape(value), memory_space=StringAttr(space))


class HostLowering:
    """Rewrites the host function and collects the programs."""

    def __init__(self, arch: Arch, module: ModuleOp):
        self.arch = arch
        self.module = module
        self.programs: list[cim.ProgramOp] = []
        self._names: set[str] = set()

    # ------------------------------------------------------------------ utils
    def _symbol(self, node: str) -> str:
        base = re.sub(r"[^A-Za-z0-9_.$-]", "_", node) or "op"
        name, k = base, 1
        while name in self._names:
            name, k = f"{base}_{k}", k + 1
        self._names.add(name)
        return name

    def _launch(
        self, before: Operation, program: cim.ProgramOp, args: Sequence[SSAValue]
    ) -> None:
        self.programs.append(program)
        Rewriter.insert_op(
            cim.LaunchOp(program.sym_name.data, list(args)),
            InsertPoint.before(before),
        )

    def _alloc(self, before: Operation, t: MemRefType) -> SSAValue:
        op = memref.AllocOp([], [], t)
        Rewriter.insert_op(op, InsertPoint.before(before))
        return op.memref

    # ------------------------------------------------------------------ dispatch
    def lower(self, op: Operation) -> None:
        if isinstance(op, nest.ContractOp):
            self._contract(op)
        elif isinstance(op, nest.ElementwiseOp):
            self._elementwise(op)
        elif isinstance(op, nest.PoolOp):
            self._pool(op)
        elif isinstance(op, nest.SoftmaxOp):
            self._softmax(op)
        elif isinstance(op, nest.LayerNormOp):
            self._layernorm(op)
        elif isinstance(op, nest.ReduceOp):
            self._reduce(op)
        elif isinstance(op, nest.ReshapeOp | nest.TransposeOp | nest.ConcatOp):
            self._layout(op)

    # ------------------------------------------------------------------ contract
    def _contract(self, op: nest.ContractOp) -> None:
        from miredo.passes.miredo_dataflow import layer_of

        layer = layer_of(op)
        mapping = self._checked_mapping(op, layer)
        low = ContractLowering(op, layer, self.arch, mapping)
        w_packed = self._pack_weights(op, layer)
        space = self.arch.outermost
        name = self._symbol(op.node.data)
        program = lower_contract(
            low,
            name,
            [_dram(op.input, space), _dram(w_packed, space), _dram(op.output, space)],
        )
        self._launch(op, program, [op.input, w_packed, op.output])
        self._epilogue(op)
        Rewriter.erase_op(op)

    def _checked_mapping(self, op: nest.ContractOp, layer: Layer) -> Mapping:
        """The op's dataflow as a mapping, checked against the hardware."""
        where = f"node '{op.node.data}'"
        attr = op.attributes.get("dataflow")
        if not isinstance(attr, DataflowAttr):
            raise MiredoError(
                "contraction has no dataflow attribute; run --miredo-dataflow first",
                where,
            )
        if attr.arch.data != self.arch.name:
            raise MiredoError(
                f"the dataflow was solved for arch '{attr.arch.data}' but the "
                f"lowering targets '{self.arch.name}'",
                where,
            )
        mapping = mapping_of(attr)
        problems = validate(layer, self.arch, mapping)
        if problems:
            raise MiredoError(
                f"the dataflow is not valid on '{self.arch.name}': "
                + "; ".join(problems),
                where,
            )
        return mapping

    def _pack_weights(self, op: nest.ContractOp, layer) -> SSAValue:
        """Host ops bringing W into packed order; returns the packed tensor."""
        w = op.weight
        comps: list[tuple[str, int]] = []
        for e, extent in zip(op.access("W"), _shape(w), strict=True):
            terms = [(d, c) for d, c in zip(DIMS, e.coeffs, strict=True) if c]
            if not terms:
                if extent != 1 or e.const != 0:
                    raise MiredoError(
                        "weights indexed at a constant position of a longer axis",
                        f"node '{op.node.data}'",
                    )
                continue
            terms.sort(key=lambda t: -t[1])
            comps += [(d, layer.dims[d]) for d, _ in terms]
        split = tuple(n for _, n in comps)
        order = packed_weight_shape(layer)
        perm = [next(i for i, (d, _) in enumerate(comps) if d == p) for p in order]
        node = op.node.data
        cur = w
        if split != _shape(w):
            out = self._alloc(op, MemRefType(_elt(w), split))
            Rewriter.insert_op(
                nest.ReshapeOp(f"{node}.pack", cur, out), InsertPoint.before(op)
            )
            cur = out
        if perm != list(range(len(perm))):
            shape = tuple(split[p] for p in perm)
            out = self._alloc(op, MemRefType(_elt(w), shape))
            Rewriter.insert_op(
                nest.TransposeOp(f"{node}.pack", cur, out, perm), InsertPoint.before(op)
            )
            cur = out
        return cur

    def _epilogue(self, op: nest.ContractOp) -> None:
        """``O = alpha * O + beta * B`` on the SIMD units, when not just ``O``."""
        alpha, beta = op.alpha.value.data, op.beta.value.data
        node = op.node.data
        bias = op.bias
        if bias is None and alpha == 1.0:
            return
        out = op.output
        args: list[SSAValue] = [out]
        operands = [simd.Operand(0, simd.same_tile)]

        def scalar(name: str, value: float) -> int:
            """A one-element constant operand; returns its operand index."""
            t = MemRefType(_elt(out), [1])
            const = nest.WeightOp(
                f"{node}.{name}", t, DenseIntOrFPElementsAttr.from_list(t, [value])
            )
            Rewriter.insert_op(const, InsertPoint.before(op))
            args.append(const.result)
            operands.append(simd.Operand(len(args) - 1, simd.broadcast_tile((1,))))
            return len(args) - 1

        k_alpha = scalar("alpha", alpha) if alpha != 1.0 else None
        k_bias = k_beta = None
        if bias is not None:
            view = self._bias_view(op, bias)
            args.append(view)
            operands.append(
                simd.Operand(len(args) - 1, simd.broadcast_tile(_shape(view)))
            )
            k_bias = len(args) - 1
            k_beta = scalar("beta", beta) if beta != 1.0 else None

        def compute(b, ins: list[cim.Tile], dst: cim.Tile) -> None:
            acc = ins[0]
            if k_alpha is not None:
                b.add(cim.SimdElementwiseOp("mul", [acc, ins[k_alpha]], dst, node=node))
                acc = dst
            if k_bias is not None:
                term = ins[k_bias]
                if k_beta is not None:
                    b.add(
                        cim.SimdElementwiseOp(
                            "mul", [term, ins[k_beta]], term, node=node
                        )
                    )
                b.add(cim.SimdElementwiseOp("add", [acc, term], dst, node=node))

        space = self.arch.outermost
        program = simd.simd_program(
            self.arch,
            self._symbol(f"{node}.epilogue"),
            node,
            [_dram(a, space) for a in [*args, out]],
            len(args),
            operands,
            len(_shape(out)) - 1,
            compute,
        )
        self._launch(op, program, [*args, out])

    def _bias_view(self, op: nest.ContractOp, bias: SSAValue) -> SSAValue:
        """The bias reshaped so that it broadcasts (numpy rules) to the output."""
        o_exprs = op.access("O")
        shape: list[int] = []
        b_exprs = list(op.access("B"))
        b_shape = _shape(bias)
        for e in o_exprs:
            match = [
                i for i, be in enumerate(b_exprs) if be == e and not be.is_constant
            ]
            shape.append(b_shape[match[0]] if match else 1)
        if math.prod(shape) != math.prod(b_shape):
            raise MiredoError(
                "the bias does not broadcast along the output axes",
                f"node '{op.node.data}'",
            )
        if tuple(shape) == b_shape:
            return bias
        out = self._alloc(op, MemRefType(_elt(bias), shape))
        Rewriter.insert_op(
            nest.ReshapeOp(f"{op.node.data}.bias", bias, out), InsertPoint.before(op)
        )
        return out

    # ------------------------------------------------------------------ layout
    def _layout(self, op: nest.ReshapeOp | nest.TransposeOp | nest.ConcatOp) -> None:
        """Data movement only: a DMA program (:mod:`miredo.passes.lowering.layout`)."""
        node = op.node.data
        space = self.arch.outermost
        if isinstance(op, nest.ConcatOp):
            args = [*op.inputs, op.output]
        else:
            args = [op.input, op.output]
        types = [_dram(a, space) for a in args]
        sym = self._symbol(node)
        if isinstance(op, nest.ReshapeOp):
            program = layout.reshape_program(self.arch, sym, node, types)
        elif isinstance(op, nest.TransposeOp):
            program = layout.transpose_program(
                self.arch, sym, node, types, _ints(op.perm)
            )
        else:
            program = layout.concat_program(
                self.arch, sym, node, types, op.axis.value.data
            )
        self._launch(op, program, args)
        Rewriter.erase_op(op)

    # ------------------------------------------------------------------ SIMD ops
    def _simd(
        self,
        op: Operation,
        node: str,
        args: Sequence[SSAValue],
        operands: list[simd.Operand],
        max_axis: int,
        compute,
        out_buffer=list,
    ) -> None:
        space = self.arch.outermost
        program = simd.simd_program(
            self.arch,
            self._symbol(node),
            node,
            [_dram(a, space) for a in args],
            len(args) - 1,
            operands,
            max_axis,
            compute,
            out_buffer,
        )
        self._launch(op, program, args)
        Rewriter.erase_op(op)

    def _elementwise(self, op: nest.ElementwiseOp) -> None:
        node = op.node.data
        ins = list(op.inputs)
        out_shape = _shape(op.output)
        operands = [
            simd.Operand(i, simd.broadcast_tile(_shape(v))) for i, v in enumerate(ins)
        ]
        fn = op.fn.data
        kw = {
            "min": None if op.min is None else op.min.value.data,
            "max": None if op.max is None else op.max.value.data,
            "approximate": None if op.approximate is None else op.approximate.data,
        }

        def compute(b, tiles: list[cim.Tile], dst: cim.Tile) -> None:
            b.add(cim.SimdElementwiseOp(fn, tiles, dst, node=node, **kw))

        self._simd(op, node, [*ins, op.output], operands, len(out_shape) - 1, compute)

    def _pool(self, op: nest.PoolOp) -> None:
        node = op.node.data
        in_shape = _shape(op.input)
        out_shape = _shape(op.output)
        pad = list(_ints(op.pad))
        if op.ceil_mode is not None:
            # floor mode with extra end padding gives the ceil-mode windows
            for ax in range(2):
                want = out_shape[2 + ax]
                k, s, d = (
                    _ints(op.kernel)[ax],
                    _ints(op.stride)[ax],
                    _ints(op.dilation)[ax],
                )
                need = (want - 1) * s + d * (k - 1) + 1 - in_shape[2 + ax] - pad[ax]
                if need > pad[2 + ax]:
                    if op.count_include_pad is not None:
                        raise MiredoError(
                            "ceil_mode with count_include_pad is not lowered",
                            f"node '{node}'",
                        )
                    pad[2 + ax] = need
        kind = op.kind.data
        kwargs = {
            "kernel": _ints(op.kernel),
            "stride": _ints(op.stride),
            "dilation": _ints(op.dilation),
            "pad": pad,
            "count_include_pad": op.count_include_pad is not None,
        }

        def compute(b, tiles: list[cim.Tile], dst: cim.Tile) -> None:
            b.add(cim.PoolOp(kind, tiles[0], dst, node=node, **kwargs))

        level = self.arch.level(simd.simd_level(self.arch))
        plane = in_shape[2] * in_shape[3] + out_shape[2] * out_shape[3]
        cap = level.capacity_bits
        if cap is not None and plane * self.arch.precision.output > cap:
            space = self.arch.outermost
            program = simd.pool_rows_program(
                self.arch,
                self._symbol(node),
                node,
                [_dram(op.input, space), _dram(op.output, space)],
                kind,
                **kwargs,
            )
            self._launch(op, program, [op.input, op.output])
            Rewriter.erase_op(op)
            return
        operands = [simd.Operand(0, simd.plane_tile(in_shape))]
        self._simd(
            op, node, [op.input, op.output], operands, len(out_shape) - 3, compute
        )

    def _softmax(self, op: nest.SoftmaxOp) -> None:
        node = op.node.data
        shape = _shape(op.output)
        axis = op.axis.value.data % len(shape)

        def compute(b, tiles: list[cim.Tile], dst: cim.Tile) -> None:
            b.add(cim.SoftmaxOp(tiles[0], dst, axis=axis, node=node))

        self._simd(
            op,
            node,
            [op.input, op.output],
            [simd.Operand(0, simd.same_tile)],
            axis - 1,
            compute,
        )

    def _layernorm(self, op: nest.LayerNormOp) -> None:
        node = op.node.data
        shape = _shape(op.output)
        axis = op.axis.value.data % len(shape)
        args = [op.input, op.scale]
        operands = [
            simd.Operand(0, simd.same_tile),
            simd.Operand(1, simd.whole_tile(_shape(op.scale)), per_chunk=False),
        ]
        if op.bias is not None:
            args.append(op.bias)
            operands.append(
                simd.Operand(2, simd.whole_tile(_shape(op.bias)), per_chunk=False)
            )
        eps = op.epsilon.value.data

        def compute(b, tiles: list[cim.Tile], dst: cim.Tile) -> None:
            b.add(cim.LayerNormOp(tiles, dst, axis=axis, epsilon=eps, node=node))

        self._simd(op, node, [*args, op.output], operands, axis - 1, compute)

    def _reduce(self, op: nest.ReduceOp) -> None:
        node = op.node.data
        in_shape = _shape(op.input)
        axes = sorted(a % len(in_shape) for a in _ints(op.axes))
        keep = op.keepdims is not None
        kind = op.kind.data
        # the output chunk is cut before the first reduced axis
        first = axes[0]
        kept_before = first if keep else first - sum(a < first for a in axes)

        def out_buffer(sizes: list[int]) -> list[int]:
            if keep:
                return list(sizes)
            out, j = [], 0
            for i in range(len(in_shape)):
                if i in axes:
                    out.append(1)
                else:
                    out.append(sizes[j])
                    j += 1
            return out

        def compute(b, tiles: list[cim.Tile], dst: cim.Tile) -> None:
            b.add(cim.ReduceOp(kind, tiles[0], dst, axes=axes, node=node))

        operands = [simd.Operand(0, simd.reduce_tile(in_shape, axes, keep))]
        self._simd(
            op,
            node,
            [op.input, op.output],
            operands,
            kept_before - 1,
            compute,
            out_buffer,
        )


def _ints(attr) -> list[int]:
    return [int(v) for v in attr.get_values()]
