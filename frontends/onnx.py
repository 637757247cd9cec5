"""Import ONNX models into the ``nest`` dialect.

The importer works in three phases:

1. **Load and check.** Parse the protobuf, name anonymous nodes ``<OpType>_<index>``,
   reject unsupported ops and cycles, run ``onnx.checker.check_model`` and strict
   shape inference, and require static, positive shapes.
2. **Simplify the graph.** Fold ``Constant``/``Identity``/``Dropout`` and every node
   whose inputs are all constant (shape computations such as
   ``Shape -> Gather -> Concat -> Reshape``), fold a ``BatchNormalization`` that
   follows a ``Conv`` into the conv's weight and bias, and rewrite a standalone
   ``BatchNormalization`` as ``Mul`` + ``Add`` with per-channel constants.
3. **Emit IR.** One ``func.func @main`` in destination-passing style: graph inputs,
   then graph outputs, are memref arguments; intermediates are ``memref.alloc``;
   every operator becomes one ``nest`` op (a few become two or more).

Weights are referenced by name (``nest.weight "conv1.weight.bnfold" : memref<...>``)
unless they have at most ``inline_limit`` elements or ``inline_weights`` is set. The
names resolve in :func:`load_weight_table`, which re-runs the same deterministic
import and returns every constant the IR refers to, derived ones included.

Every failure is a :class:`miredo.errors.MiredoError` with a one-line message and a
``where`` of the form ``<file>`` or ``<file>: node '<name>' (<OpType>)``.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from xdsl.dialects import func, memref
from xdsl.dialects.builtin import (
    ArrayAttr,
    BytesAttr,
    DenseIntOrFPElementsAttr,
    IntegerType,
    MemRefType,
    ModuleOp,
    Signedness,
    StringAttr,
    bf16,
    f16,
    f32,
    f64,
)
from xdsl.ir import Attribute, Block, Operation, Region, SSAValue

from miredo.dialects.nest import (
    ConcatOp,
    ContractOp,
    ElementwiseOp,
    LayerNormOp,
    Lin,
    PoolOp,
    ReduceOp,
    ReshapeOp,
    SoftmaxOp,
    TransposeOp,
    WeightOp,
    access_map,
    pool_output_size,
)
from miredo.errors import MiredoError

if TYPE_CHECKING:
    import onnx
    from xdsl.context import Context

DEFAULT_INLINE_LIMIT = 16
"""Constants with at most this many elements are printed inline."""

UNARY_OPS: dict[str, str] = {
    "Relu": "relu",
    "Sigmoid": "sigmoid",
    "Tanh": "tanh",
    "Erf": "erf",
    "Exp": "exp",
    "Sqrt": "sqrt",
    "Neg": "neg",
    "Abs": "abs",
    "Reciprocal": "reciprocal",
}
BINARY_OPS: dict[str, str] = {
    "Add": "add",
    "Sub": "sub",
    "Mul": "mul",
    "Div": "div",
    "Pow": "pow",
}
VARIADIC_OPS: dict[str, str] = {"Sum": "add", "Max": "max", "Min": "min"}

LOWERED_OPS: frozenset[str] = frozenset(
    {
        "Conv",
        "ConvInteger",
        "Gemm",
        "MatMul",
        "MatMulInteger",
        "BatchNormalization",
        "Clip",
        "Gelu",
        "MaxPool",
        "AveragePool",
        "GlobalAveragePool",
        "GlobalMaxPool",
        "Softmax",
        "LayerNormalization",
        "ReduceMean",
        "ReduceSum",
        "ReduceMax",
        "Reshape",
        "Flatten",
        "Squeeze",
        "Unsqueeze",
        "Transpose",
        "Concat",
        "Identity",
        "Dropout",
        "Constant",
        "Cast",
        *UNARY_OPS,
        *BINARY_OPS,
        *VARIADIC_OPS,
    }
)
"""ONNX ops that become ``nest`` ops (or vanish: Identity, Dropout, Constant)."""

FOLD_ONLY_OPS: frozenset[str] = frozenset(
    {
        "Shape",
        "Size",
        "Gather",
        "Slice",
        "Range",
        "ConstantOfShape",
        "Expand",
        "Equal",
        "Where",
        "Floor",
        "Ceil",
        "ReduceProd",
        "ReduceMin",
        "Split",
        "Not",
    }
)
"""ONNX ops supported only on constant inputs (shape computations); folded away."""

SUPPORTED_OPS: frozenset[str] = LOWERED_OPS | FOLD_ONLY_OPS

_NONDETERMINISTIC = frozenset(
    {
        "RandomNormal",
        "RandomUniform",
        "RandomNormalLike",
        "RandomUniformLike",
        "Multinomial",
        "Bernoulli",
    }
)


def supported_ops_text() -> str:
    """The supported op types, for error messages."""
    return (
        ", ".join(sorted(LOWERED_OPS))
        + "; on constant inputs only: "
        + ", ".join(sorted(FOLD_ONLY_OPS))
    )


# --------------------------------------------------------------------------- #
# Public API
# --------------------------------------------------------------------------- #


def import_onnx_bytes(
    data: bytes,
    filename: str,
    ctx: Context | None = None,
    *,
    inline_weights: bool = False,
    inline_limit: int = DEFAULT_INLINE_LIMIT,
) -> ModuleOp:
    """Import a serialized ONNX model; ``filename`` is recorded as ``nest.source``.

    ``ctx`` is accepted for the driver's frontend signature; the ``nest``, ``func``
    and ``memref`` ops are built directly and need no registration.
    """
    model = _parse_model(data, filename)
    base = Path(filename).parent if filename not in ("stdin", "-") else None
    return _Importer(model, filename, base).run(inline_weights, inline_limit)[0]


def import_onnx_file(
    path: str | os.PathLike[str],
    *,
    inline_weights: bool = False,
    inline_limit: int = DEFAULT_INLINE_LIMIT,
) -> ModuleOp:
    """Import the ONNX model at ``path``.

    With ``inline_weights`` every constant is printed as ``dense<...>``; otherwise
    only constants with at most ``inline_limit`` elements are.
    """
    return import_onnx_bytes(
        _read(path),
        str(path),
        inline_weights=inline_weights,
        inline_limit=inline_limit,
    )


def import_onnx_model(
    model: onnx.ModelProto,
    *,
    source: str = "<memory>",
    inline_weights: bool = False,
    inline_limit: int = DEFAULT_INLINE_LIMIT,
) -> ModuleOp:
    """Import an in-memory ``ModelProto`` (which is not modified)."""
    import onnx

    copy = onnx.ModelProto()
    copy.CopyFrom(model)
    return _Importer(copy, source, None).run(inline_weights, inline_limit)[0]


def load_weight_table(
    source: str | os.PathLike[str] | bytes | onnx.ModelProto,
) -> dict[str, np.ndarray]:
    """Every constant of the imported model, by the name ``nest.weight`` uses.

    ``source`` is the model's path (as in the module's ``nest.source``), its bytes
    or a ``ModelProto``. The table holds all initializers and every constant the
    importer creates (folded constants, BN-folded weights and biases, BN scales and
    shifts), recomputed deterministically.
    """
    if isinstance(source, bytes):
        model, where, base = _parse_model(source, "<bytes>"), "<bytes>", None
    elif isinstance(source, str | os.PathLike):
        where = str(source)
        model, base = _parse_model(_read(source), where), Path(where).parent
    else:
        import onnx

        model, where, base = onnx.ModelProto(), "<memory>", None
        model.CopyFrom(source)
    return _Importer(model, where, base).run(False, DEFAULT_INLINE_LIMIT)[1]


def load_module_weights(
    module: ModuleOp, base: str | os.PathLike[str] | None = None
) -> dict[str, np.ndarray]:
    """The weight table of the model an imported module came from.

    The module's ``nest.source`` attribute names the ONNX file; a relative path is
    looked up in the current directory, then in ``base``.
    """
    source = module.attributes.get("nest.source")
    if not isinstance(source, StringAttr):
        raise MiredoError(
            "the module has no 'nest.source' attribute naming its ONNX model; "
            "import the model with miredo-opt or miredo.frontends.onnx"
        )
    path = Path(source.data)
    if not path.is_absolute() and not path.exists() and base is not None:
        path = Path(base) / path
    if not path.exists():
        raise MiredoError(
            f"cannot find the model '{source.data}' named by 'nest.source'",
            str(path),
        )
    return load_weight_table(path)


# --------------------------------------------------------------------------- #
# Loading
# --------------------------------------------------------------------------- #


def _read(path: str | os.PathLike[str]) -> bytes:
    try:
        return Path(path).read_bytes()
    except FileNotFoundError:
        raise MiredoError("no such file", str(path)) from None
    except IsADirectoryError:
        raise MiredoError("is a directory, expected an ONNX file", str(path)) from None
    except OSError as e:
        raise MiredoError(f"cannot read the file: {e.strerror}", str(path)) from None


def _one_line(text: str, limit: int = 300) -> str:
    line = " ".join(str(text).split())
    return line if len(line) <= limit else line[: limit - 3] + "..."


def _parse_model(data: bytes, where: str) -> onnx.ModelProto:
    import onnx
    from google.protobuf.message import DecodeError

    if not data:
        raise MiredoError("the file is empty, expected an ONNX model", where)
    model = onnx.ModelProto()
    try:
        model.ParseFromString(data)
    except (DecodeError, ValueError, RuntimeError) as e:
        raise MiredoError(
            f"not a valid ONNX file: the protobuf cannot be decoded ({_one_line(e, 80)});"
            " is the file truncated or corrupt?",
            where,
        ) from None
    if model.ir_version <= 0 or not model.HasField("graph"):
        raise MiredoError(
            "not an ONNX model: the file has no ONNX graph or IR version; "
            "is it truncated, corrupt or another format?",
            where,
        )
    return model


# --------------------------------------------------------------------------- #
# Types
# --------------------------------------------------------------------------- #


@cache
def _elem_types() -> dict[int, Attribute]:
    from onnx import TensorProto as T

    return {
        T.FLOAT: f32,
        T.FLOAT16: f16,
        T.BFLOAT16: bf16,
        T.DOUBLE: f64,
        T.INT8: IntegerType(8),
        T.INT16: IntegerType(16),
        T.INT32: IntegerType(32),
        T.INT64: IntegerType(64),
        T.UINT8: IntegerType(8, Signedness.UNSIGNED),
        T.UINT16: IntegerType(16, Signedness.UNSIGNED),
        T.UINT32: IntegerType(32, Signedness.UNSIGNED),
        T.UINT64: IntegerType(64, Signedness.UNSIGNED),
        T.BOOL: IntegerType(1),
    }


def _elem_type(dtype: int) -> Attribute | None:
    """The MLIR element type of an ONNX element type (``None``: unsupported)."""
    return _elem_types().get(dtype)


@dataclass(frozen=True)
class _TensorType:
    dtype: int
    """The ONNX element type."""
    shape: tuple[int, ...]
    """Static, positive dims."""

    @property
    def rank(self) -> int:
        return len(self.shape)


def _sanitize(name: str) -> str:
    hint = re.sub(r"[^\w$.-]", "_", name)
    if not hint or not re.match(r"[A-Za-z_$.-]", hint[0]):
        hint = "v" + hint
    return hint


@dataclass
class _Node:
    """A node of the simplified graph."""

    name: str
    op_type: str
    inputs: list[str]
    outputs: list[str]
    attrs: dict[str, Any]
    proto: onnx.NodeProto | None = field(default=None, repr=False)


# --------------------------------------------------------------------------- #
# The importer
# --------------------------------------------------------------------------- #


class _Importer:
    def __init__(self, model: onnx.ModelProto, source: str, base: Path | None):
        self.model = model
        self.source = source
        self.base = base
        self.types: dict[str, _TensorType] = {}
        self.consts: dict[str, np.ndarray] = {}
        self.initializers: dict[str, np.ndarray] = {}
        self.alias: dict[str, str] = {}
        self.nodes: list[_Node] = []
        self.graph_inputs: list[str] = []
        self.graph_outputs: list[str] = []
        self.opset = 0
        self.used_names: set[str] = set()
        self.consumers: set[str] = set()

    # ---- errors ---------------------------------------------------------- #

    def error(
        self, message: str, node: _Node | onnx.NodeProto | None = None
    ) -> MiredoError:
        if node is None:
            return MiredoError(message, self.source)
        return MiredoError(
            message, f"{self.source}: node '{node.name}' ({node.op_type})"
        )

    # ---- phase 1 ---------------------------------------------------------- #

    def run(
        self, inline_weights: bool, inline_limit: int
    ) -> tuple[ModuleOp, dict[str, np.ndarray]]:
        self._load()
        self._simplify()
        emitter = _Emitter(self, inline_weights, inline_limit)
        module = emitter.emit()
        from xdsl.utils.exceptions import VerifyException

        try:
            module.verify()
        except VerifyException as e:
            raise self.error(
                f"internal error: the imported IR does not verify: {_one_line(e)}"
            ) from None
        table = dict(self.initializers)
        table.update(emitter.weight_arrays)
        return module, table

    def _load(self) -> None:
        import onnx

        graph = self.model.graph
        self.opset = next(
            (o.version for o in self.model.opset_import if o.domain in ("", "ai.onnx")),
            0,
        )
        if self.opset == 0:
            raise self.error("the model imports no version of the default ONNX opset")
        self._name_nodes()
        for node in graph.node:
            if node.domain not in ("", "ai.onnx"):
                raise self.error(
                    f"unsupported op '{node.domain}.{node.op_type}' (custom domain); "
                    f"supported ops: {supported_ops_text()}",
                    node,
                )
            if node.op_type not in SUPPORTED_OPS:
                raise self.error(
                    f"unsupported op '{node.op_type}'; supported ops: "
                    f"{supported_ops_text()}",
                    node,
                )
        self._check_external_data()
        self._sort_nodes()
        self._check_initializers()
        self._check_io_types()
        # The checker and shape inference serialise the model; give them a copy
        # without the bulk of the weight data (large initializers become inputs).
        light = self._light_model()
        try:
            onnx.checker.check_model(light)
        except Exception as e:  # ValidationError and the C++ checker's other types
            text = _one_line(e)
            where = re.search(r"Name: (\S*) OpType: (\S+)", str(e))
            message = f"invalid ONNX model: {text.split(' ==> Context')[0]}"
            if where and where[1]:
                raise MiredoError(
                    message, f"{self.source}: node '{where[1]}' ({where[2]})"
                ) from None
            raise self.error(message) from None
        try:
            inferred = onnx.shape_inference.infer_shapes(
                light, check_type=True, strict_mode=True, data_prop=True
            )
        except Exception as e:  # InferenceError and friends
            raise self.error(f"shape inference failed: {_one_line(e)}") from None
        self.model = inferred
        graph = inferred.graph
        for vi in [*graph.input, *graph.value_info, *graph.output]:
            self._record_type(vi)
        for name, arr in self.initializers.items():
            self.types[name] = _TensorType(_np_to_onnx(arr.dtype), arr.shape)
        self.graph_inputs = [
            vi.name for vi in graph.input if vi.name not in self.initializers
        ]
        self.graph_outputs = [vi.name for vi in graph.output]
        for name in [*self.graph_inputs, *self.graph_outputs]:
            self.tensor_type(name)

    def _check_io_types(self) -> None:
        """Name the graph input/output without a tensor type or shape (the checker
        only says that some field is missing)."""
        graph = self.model.graph
        for kind, values in (("input", graph.input), ("output", graph.output)):
            for vi in values:
                if vi.name in self.initializers:
                    continue
                if not vi.type.HasField("tensor_type"):
                    what = vi.type.WhichOneof("value") or "no type"
                    raise self.error(
                        f"graph {kind} '{vi.name}' is not a tensor ({what}); only "
                        "tensors with static shapes are supported"
                    )
                if not vi.type.tensor_type.HasField("shape"):
                    hint = (
                        "give it a fixed shape"
                        if kind == "input"
                        else "declare its shape, e.g. by running "
                        "onnx.shape_inference.infer_shapes on the model"
                    )
                    raise self.error(
                        f"graph {kind} '{vi.name}' has an unknown shape (no rank); "
                        f"miredo needs static shapes: {hint}"
                    )

    def _light_model(self, limit: int = 1024) -> onnx.ModelProto:
        """The model with every initializer of more than ``limit`` elements turned
        into a graph input of the same type (the data is not needed for checking
        and shape inference)."""
        import onnx
        from onnx import helper

        model, graph = self.model, self.model.graph
        light = onnx.ModelProto()
        light.ir_version = model.ir_version
        light.opset_import.extend(model.opset_import)
        light.functions.extend(model.functions)
        lg = light.graph
        lg.name = graph.name
        lg.node.extend(graph.node)
        lg.input.extend(graph.input)
        lg.output.extend(graph.output)
        lg.value_info.extend(graph.value_info)
        lg.sparse_initializer.extend(graph.sparse_initializer)
        declared = {vi.name for vi in graph.input}
        for t in graph.initializer:
            if math.prod(t.dims) <= limit:
                lg.initializer.append(t)
            elif t.name not in declared:
                lg.input.append(
                    helper.make_tensor_value_info(t.name, t.data_type, list(t.dims))
                )
        return light

    def _name_nodes(self) -> None:
        graph = self.model.graph
        taken = {n.name for n in graph.node if n.name}
        for index, node in enumerate(graph.node):
            if not node.name:
                name = f"{node.op_type}_{index}"
                while name in taken:
                    name += "_"
                node.name = name
                taken.add(name)

    def _check_external_data(self) -> None:
        from onnx import TensorProto

        if not any(
            t.data_location == TensorProto.EXTERNAL
            for t in self.model.graph.initializer
        ):
            return
        if self.base is None:
            raise self.error(
                "the model keeps its weights in external data files, which cannot be "
                "found for an in-memory model; import it from its file"
            )
        from onnx.external_data_helper import load_external_data_for_model

        try:
            load_external_data_for_model(self.model, str(self.base))
        except Exception as e:
            raise self.error(
                f"cannot load external weight data: {_one_line(e)}"
            ) from None

    def _sort_nodes(self) -> None:
        """Topologically sort the nodes; report a cycle by naming its nodes."""
        graph = self.model.graph
        nodes = list(graph.node)
        producer: dict[str, int] = {}
        for i, node in enumerate(nodes):
            for out in node.output:
                if out:
                    producer[out] = i
        deps = [
            sorted({producer[x] for x in node.input if x in producer}) for node in nodes
        ]
        state = [0] * len(nodes)  # 0 new, 1 on stack, 2 done
        order: list[int] = []
        for root in range(len(nodes)):
            if state[root]:
                continue
            stack: list[tuple[int, int]] = [(root, 0)]
            state[root] = 1
            while stack:
                i, k = stack[-1]
                if k < len(deps[i]):
                    stack[-1] = (i, k + 1)
                    j = deps[i][k]
                    if state[j] == 1:
                        path = [n for n, _ in stack]
                        cycle = [*path[path.index(j) :], j]
                        names = " -> ".join(f"'{nodes[c].name}'" for c in cycle)
                        raise self.error(
                            f"the graph has a cycle: {names}; ONNX graphs must be "
                            "acyclic"
                        )
                    if state[j] == 0:
                        state[j] = 1
                        stack.append((j, 0))
                else:
                    state[i] = 2
                    order.append(i)
                    stack.pop()
        if order != list(range(len(nodes))):
            sorted_nodes = [nodes[i] for i in order]
            copies = []
            for n in sorted_nodes:
                c = type(n)()
                c.CopyFrom(n)
                copies.append(c)
            del graph.node[:]
            graph.node.extend(copies)

    def _check_initializers(self) -> None:
        from onnx import numpy_helper

        graph = self.model.graph
        declared = {vi.name: vi for vi in graph.input}
        for t in graph.initializer:
            try:
                arr = numpy_helper.to_array(t)
            except Exception as e:
                raise self.error(
                    f"initializer '{t.name}' with dims {list(t.dims)} has unreadable "
                    f"or mis-sized data: {_one_line(e, 120)}"
                ) from None
            if tuple(arr.shape) != tuple(t.dims):
                raise self.error(
                    f"initializer '{t.name}' holds data of shape {list(arr.shape)} "
                    f"but declares dims {list(t.dims)}"
                )
            if any(d <= 0 for d in t.dims):
                raise self.error(
                    f"initializer '{t.name}' has a zero or negative dim "
                    f"{list(t.dims)}; empty tensors are not supported"
                )
            if t.name in declared:
                vi = declared[t.name]
                dims = vi.type.tensor_type.shape.dim
                if vi.type.tensor_type.HasField("shape") and (
                    len(dims) != arr.ndim
                    or any(
                        d.HasField("dim_value") and d.dim_value != s
                        for d, s in zip(dims, arr.shape, strict=False)
                    )
                ):
                    declared_shape = [
                        d.dim_value if d.HasField("dim_value") else d.dim_param or "?"
                        for d in dims
                    ]
                    raise self.error(
                        f"initializer '{t.name}' has shape {list(arr.shape)} but the "
                        f"graph input of the same name declares {declared_shape}"
                    )
            self.initializers[t.name] = arr
            self.consts[t.name] = arr

    def _record_type(self, vi: onnx.ValueInfoProto) -> None:
        if not vi.type.HasField("tensor_type"):
            self.types.pop(vi.name, None)
            return
        tt = vi.type.tensor_type
        if not tt.HasField("shape"):
            return
        shape: list[int] = []
        for d in tt.shape.dim:
            if not d.HasField("dim_value"):
                return  # dynamic: reported when the tensor is used
            shape.append(d.dim_value)
        self.types[vi.name] = _TensorType(tt.elem_type, tuple(shape))

    def tensor_type(self, name: str, node: _Node | None = None) -> _TensorType:
        """The static type of a tensor, or a one-line error saying why there is none."""
        if name in self.consts:
            arr = self.consts[name]
            return _TensorType(_np_to_onnx(arr.dtype), tuple(arr.shape))
        t = self.types.get(name)
        if t is None:
            raise self.error(self._shape_problem(name), node)
        if any(d <= 0 for d in t.shape):
            raise self.error(
                f"tensor '{name}' has a zero or negative dim {list(t.shape)}; empty "
                "tensors are not supported",
                node,
            )
        if _elem_type(t.dtype) is None:
            import onnx

            raise self.error(
                f"tensor '{name}' has unsupported element type "
                f"{onnx.TensorProto.DataType.Name(t.dtype)}",
                node,
            )
        return t

    def _shape_problem(self, name: str) -> str:
        graph = self.model.graph
        for vi in [*graph.input, *graph.value_info, *graph.output]:
            if vi.name != name:
                continue
            if not vi.type.HasField("tensor_type"):
                return f"tensor '{name}' is not a tensor (sequences/maps are not supported)"
            tt = vi.type.tensor_type
            if not tt.HasField("shape"):
                return (
                    f"tensor '{name}' has an unknown shape (rank unknown); miredo needs "
                    "static shapes: give it a fixed shape"
                )
            dims = [
                str(d.dim_value) if d.HasField("dim_value") else (d.dim_param or "?")
                for d in tt.shape.dim
            ]
            dynamic = [d for d in tt.shape.dim if not d.HasField("dim_value")]
            what = f"'{dynamic[0].dim_param}'" if dynamic[0].dim_param else "'?'"
            return (
                f"tensor '{name}' has a dynamic dimension {what} in shape "
                f"[{', '.join(dims)}]; miredo needs static shapes: fix it, e.g. with "
                "onnx.tools.update_model_dims.update_inputs_outputs_dims"
            )
        return (
            f"tensor '{name}' has an unknown shape (shape inference could not "
            "determine it); miredo needs static shapes"
        )

    # ---- phase 2 ---------------------------------------------------------- #

    def resolve(self, name: str) -> str:
        while name in self.alias:
            name = self.alias[name]
        return name

    def consumed(self, outputs: Sequence[str]) -> list[str]:
        """The names among ``outputs`` that some node or the graph output reads."""
        return [o for o in outputs if o and o in self.consumers]

    def _simplify(self) -> None:
        from onnx import helper

        graph = self.model.graph
        self.consumers = {x for n in graph.node for x in n.input if x}
        self.consumers.update(self.graph_outputs)
        for proto in graph.node:
            for attr in proto.attribute:
                if attr.type in (attr.GRAPH, attr.GRAPHS):
                    raise self.error(
                        f"unsupported op '{proto.op_type}' with a subgraph", proto
                    )
            node = _Node(
                proto.name,
                proto.op_type,
                [self.resolve(x) if x else "" for x in proto.input],
                list(proto.output),
                {a.name: helper.get_attribute_value(a) for a in proto.attribute},
                proto,
            )
            self.used_names.update(x for x in [*node.inputs, *node.outputs] if x)
            self._simplify_node(node)
        self._fold_batchnorms()

    def _simplify_node(self, node: _Node) -> None:
        op = node.op_type
        data_inputs = [x for x in node.inputs if x]
        if op in ("Identity", "Dropout"):
            self._check_dropout(node)
            self.alias[node.outputs[0]] = node.inputs[0]
            return
        if op == "Cast":
            src = self.tensor_type(node.inputs[0], node)
            if src.dtype == node.attrs.get("to") and node.inputs[0] not in self.consts:
                self.alias[node.outputs[0]] = node.inputs[0]
                return
        if op == "Shape" and node.inputs[0] not in self.consts:
            shape = self.tensor_type(node.inputs[0], node).shape
            start = node.attrs.get("start", 0)
            end = node.attrs.get("end", len(shape))
            self.consts[node.outputs[0]] = np.array(shape[start:end], dtype=np.int64)
            return
        if op == "Size" and node.inputs[0] not in self.consts:
            shape = self.tensor_type(node.inputs[0], node).shape
            self.consts[node.outputs[0]] = np.array(math.prod(shape), dtype=np.int64)
            return
        if op not in _NONDETERMINISTIC and all(x in self.consts for x in data_inputs):
            self._fold(node)
            return
        if op in FOLD_ONLY_OPS or op == "Cast":
            runtime = next(x for x in data_inputs if x not in self.consts)
            raise self.error(
                f"'{op}' is only supported on constant inputs (shape computations), "
                f"but input '{runtime}' is computed at run time",
                node,
            )
        self.nodes.append(node)

    def _check_dropout(self, node: _Node) -> None:
        if node.op_type != "Dropout":
            return
        if self.consumed(node.outputs[1:]):
            raise self.error(
                "Dropout's mask output is not supported (inference only)", node
            )
        if len(node.inputs) > 2 and node.inputs[2]:
            mode = self.consts.get(node.inputs[2])
            if mode is None or bool(np.asarray(mode)):
                raise self.error(
                    "Dropout with training_mode is not supported (inference only)",
                    node,
                )

    def _fold(self, node: _Node) -> None:
        """Evaluate a node whose inputs are all constant with onnx.reference."""
        from onnx import helper
        from onnx.reference import ReferenceEvaluator

        assert node.proto is not None
        proto = type(node.proto)()
        proto.CopyFrom(node.proto)
        del proto.input[:]
        proto.input.extend(node.inputs)
        feeds = {x: self.consts[x] for x in node.inputs if x}
        graph = helper.make_graph(
            [proto],
            "fold",
            [
                helper.make_tensor_value_info(x, _np_to_onnx(a.dtype), a.shape)
                for x, a in feeds.items()
            ],
            [helper.make_empty_tensor_value_info(o) for o in node.outputs if o],
        )
        model = helper.make_model(graph, opset_imports=list(self.model.opset_import))
        model.ir_version = self.model.ir_version
        try:
            results = ReferenceEvaluator(model).run(None, feeds)
        except Exception as e:
            raise self.error(
                f"cannot evaluate this constant node: {_one_line(e, 160)}", node
            ) from None
        for out, value in zip([o for o in node.outputs if o], results, strict=True):
            self.consts[out] = np.asarray(value)

    def _uses(self) -> dict[str, int]:
        count: dict[str, int] = {}
        for n in self.nodes:
            for x in n.inputs:
                if x:
                    count[x] = count.get(x, 0) + 1
        for x in self.graph_outputs:
            r = self.resolve(x)
            count[r] = count.get(r, 0) + 1
        return count

    def fresh_name(self, base: str) -> str:
        name = base
        i = 1
        while name in self.used_names or name in self.consts or name in self.types:
            name = f"{base}.{i}"
            i += 1
        self.used_names.add(name)
        return name

    def _fold_batchnorms(self) -> None:
        uses = self._uses()
        producer = {o: n for n in self.nodes for o in n.outputs if o}
        result: list[_Node] = []
        dropped: set[int] = set()
        for bn in self.nodes:
            if bn.op_type != "BatchNormalization":
                continue
            self._check_bn(bn)
            conv = producer.get(bn.inputs[0])
            if (
                conv is not None
                and conv.op_type == "Conv"
                and uses.get(bn.inputs[0], 0) == 1
                and all(x in self.consts for x in conv.inputs[1:] if x)
                and all(x in self.consts for x in bn.inputs[1:5])
            ):
                self._fold_into_conv(conv, bn)
                dropped.add(id(bn))
        for node in self.nodes:
            if id(node) in dropped:
                continue
            if node.op_type == "BatchNormalization":
                result.extend(self._bn_as_affine(node))
            else:
                result.append(node)
        self.nodes = result

    def _check_bn(self, bn: _Node) -> None:
        if bn.attrs.get("training_mode", 0):
            raise self.error(
                "BatchNormalization with training_mode=1 is not supported (inference "
                "only)",
                bn,
            )
        if self.consumed(bn.outputs[1:]):
            raise self.error(
                "BatchNormalization's running mean/var outputs are not supported", bn
            )

    def _bn_params(self, bn: _Node) -> tuple[np.ndarray, np.ndarray]:
        """Per-channel ``scale`` and ``shift`` such that ``bn(x) = x * scale + shift``."""
        scale, bias, mean, var = (
            self.consts[x].astype(np.float64) for x in bn.inputs[1:5]
        )
        eps = float(bn.attrs.get("epsilon", 1e-5))
        s = scale / np.sqrt(var + eps)
        return s, bias - mean * s

    def _fold_into_conv(self, conv: _Node, bn: _Node) -> None:
        s, shift = self._bn_params(bn)
        w_name = conv.inputs[1]
        w = self.consts[w_name]
        w_fold = (w.astype(np.float64) * s.reshape(-1, 1, 1, 1)).astype(w.dtype)
        has_bias = len(conv.inputs) > 2 and conv.inputs[2]
        b = self.consts[conv.inputs[2]].astype(np.float64) if has_bias else 0.0
        b_fold = (b * s + shift).astype(w.dtype)
        w_new = self.fresh_name(f"{w_name}.bnfold")
        b_new = self.fresh_name(
            f"{conv.inputs[2]}.bnfold" if has_bias else f"{conv.name}.bias.bnfold"
        )
        self.consts[w_new] = w_fold
        self.consts[b_new] = b_fold
        conv.inputs = [conv.inputs[0], w_new, b_new]
        conv.outputs = [bn.outputs[0]]

    def _bn_as_affine(self, bn: _Node) -> list[_Node]:
        if not all(x in self.consts for x in bn.inputs[1:5]):
            raise self.error(
                "BatchNormalization needs constant scale, bias, mean and var", bn
            )
        x_type = self.tensor_type(bn.inputs[0], bn)
        if x_type.rank < 2:
            raise self.error("BatchNormalization needs an input of rank >= 2", bn)
        s, shift = self._bn_params(bn)
        dtype = _onnx_to_np(x_type.dtype)
        shape = (-1,) + (1,) * (x_type.rank - 2)
        scale_name = self.fresh_name(f"{bn.name}.scale")
        shift_name = self.fresh_name(f"{bn.name}.shift")
        tmp = self.fresh_name(f"{bn.outputs[0]}.scaled")
        self.consts[scale_name] = s.astype(dtype).reshape(shape)
        self.consts[shift_name] = shift.astype(dtype).reshape(shape)
        self.types[tmp] = x_type
        return [
            _Node(bn.name, "Mul", [bn.inputs[0], scale_name], [tmp], {}),
            _Node(bn.name, "Add", [tmp, shift_name], [bn.outputs[0]], {}),
        ]


def _np_to_onnx(dtype: np.dtype) -> int:
    from onnx import helper

    return helper.np_dtype_to_tensor_dtype(np.dtype(dtype))


def _onnx_to_np(dtype: int) -> np.dtype:
    from onnx import helper

    return np.dtype(helper.tensor_dtype_to_np_dtype(dtype))


# --------------------------------------------------------------------------- #
# Phase 3: IR emission
# --------------------------------------------------------------------------- #


def _memref(t: _TensorType) -> MemRefType:
    elt = _elem_type(t.dtype)
    assert elt is not None
    return MemRefType(elt, t.shape)


def _dense(type: MemRefType, arr: np.ndarray) -> DenseIntOrFPElementsAttr:
    elt = type.get_element_type()
    if isinstance(elt, IntegerType):
        values = [int(v) for v in arr.reshape(-1)]
        if elt.width.data == 1:
            values = [int(bool(v)) for v in values]
        return DenseIntOrFPElementsAttr.from_list(type, values)
    np_type = {16: "<f2", 32: "<f4", 64: "<f8"}[elt.bitwidth] if elt != bf16 else None
    if np_type is None:
        return DenseIntOrFPElementsAttr.from_list(
            type, [float(v) for v in arr.reshape(-1)]
        )
    data = np.ascontiguousarray(arr, dtype=np_type).tobytes()
    return DenseIntOrFPElementsAttr(type, BytesAttr(data))


class _Emitter:
    def __init__(self, imp: _Importer, inline_weights: bool, inline_limit: int):
        self.imp = imp
        self.inline_weights = inline_weights
        self.inline_limit = inline_limit
        self.weight_ops: list[Operation] = []
        self.body: list[Operation] = []
        self.buffers: dict[str, SSAValue] = {}
        self.weights: dict[str, SSAValue] = {}
        self.weight_arrays: dict[str, np.ndarray] = {}
        self.output_args: dict[str, SSAValue] = {}
        self.node: _Node | None = None

    # ---- helpers ---------------------------------------------------------- #

    def error(self, message: str) -> MiredoError:
        return self.imp.error(message, self.node)

    def type_of(self, name: str) -> _TensorType:
        return self.imp.tensor_type(name, self.node)

    def shape(self, name: str) -> tuple[int, ...]:
        return self.type_of(name).shape

    def const(self, name: str, what: str) -> np.ndarray:
        if name not in self.imp.consts:
            raise self.error(f"{what} must be a constant (input '{name}' is computed)")
        return self.imp.consts[name]

    def value(self, name: str) -> SSAValue:
        name = self.imp.resolve(name)
        if name in self.buffers:
            return self.buffers[name]
        if name in self.weights:
            return self.weights[name]
        if name in self.imp.consts:
            return self._weight(name)
        raise self.error(f"tensor '{name}' is used before it is computed")

    def _weight(self, name: str) -> SSAValue:
        arr = self.imp.consts[name]
        t = self.type_of(name)
        if _elem_type(t.dtype) is None:
            raise self.error(f"constant '{name}' has an unsupported element type")
        type = _memref(t)
        value = None
        if self.inline_weights or arr.size <= self.inline_limit:
            value = _dense(type, arr)
        op = WeightOp(name, type, value)
        op.result.name_hint = _sanitize(name)
        self.weight_ops.append(op)
        self.weights[name] = op.result
        self.weight_arrays[name] = arr
        return op.result

    def dest(self, name: str, t: _TensorType | None = None) -> SSAValue:
        """The buffer an op writes tensor ``name`` into."""
        if name in self.output_args and name not in self.buffers:
            self.buffers[name] = self.output_args[name]
            return self.buffers[name]
        t = t or self.type_of(name)
        alloc = memref.AllocOp([], [], _memref(t))
        alloc.memref.name_hint = _sanitize(name)
        self.body.append(alloc)
        self.buffers[name] = alloc.memref
        return alloc.memref

    def temp(self, base: str, t: _TensorType) -> str:
        """A fresh tensor name of type ``t`` for an intermediate result."""
        name = self.imp.fresh_name(base)
        self.imp.types[name] = t
        return name

    def attr_ints(self, key: str, default: Sequence[int]) -> list[int]:
        assert self.node is not None
        return [int(v) for v in self.node.attrs.get(key, default)]

    # ---- driver ------------------------------------------------------------ #

    def emit(self) -> ModuleOp:
        imp = self.imp
        in_types = [_memref(imp.tensor_type(n)) for n in imp.graph_inputs]
        out_types = [_memref(imp.tensor_type(n)) for n in imp.graph_outputs]
        block = Block(arg_types=[*in_types, *out_types])
        args = list(block.args)
        for name, arg in zip(imp.graph_inputs, args, strict=False):
            arg.name_hint = _sanitize(name)
            self.buffers[name] = arg
        for name, arg in zip(imp.graph_outputs, args[len(in_types) :], strict=True):
            arg.name_hint = _sanitize(name)
            if name in self.output_args or name in self.buffers:
                continue  # listed twice, or an input: copied below
            self.output_args[name] = arg

        for node in imp.nodes:
            self.node = node
            handler = _HANDLERS.get(node.op_type)
            if handler is None:
                raise self.error(
                    f"unsupported op '{node.op_type}'; supported ops: "
                    f"{supported_ops_text()}"
                )
            handler(self, node)
        self.node = None

        # Graph outputs not written by an op (aliases, constants, inputs, duplicates).
        for name, arg in zip(imp.graph_outputs, args[len(in_types) :], strict=True):
            if self.buffers.get(name) is arg:
                continue
            src = self.value(name)
            self.body.append(ReshapeOp(f"{name}.copy", src, arg))

        self.body.append(func.ReturnOp())
        block.add_ops([*self.weight_ops, *self.body])
        fn = func.FuncOp(
            "main",
            (block.arg_types, []),
            Region(block),
        )
        fn.attributes["nest.inputs"] = ArrayAttr(
            StringAttr(n) for n in imp.graph_inputs
        )
        fn.attributes["nest.outputs"] = ArrayAttr(
            StringAttr(n) for n in imp.graph_outputs
        )
        return ModuleOp([fn], attributes={"nest.source": StringAttr(imp.source)})

    # ---- contractions ------------------------------------------------------ #

    def _zero_points(self, node: _Node, positions: Sequence[int]) -> None:
        """ConvInteger/MatMulInteger: only absent or all-zero zero points."""
        for i in positions:
            if len(node.inputs) > i and node.inputs[i]:
                zp = self.const(node.inputs[i], "the zero point")
                if np.any(zp != 0):
                    raise self.error(
                        f"non-zero zero point '{node.inputs[i]}' is not supported; "
                        "use symmetric quantization (zero point 0)"
                    )

    def conv(self, node: _Node) -> None:
        x, w = node.inputs[0], node.inputs[1]
        b = node.inputs[2] if len(node.inputs) > 2 and node.inputs[2] else None
        if node.op_type == "ConvInteger":
            self._zero_points(node, (2, 3))
            b = None
        xs, ws = self.shape(x), self.shape(w)
        if len(xs) != 4:
            raise self.error(
                f"only 2-D convolutions are supported (input rank {len(xs)}, expected 4)"
            )
        group = int(node.attrs.get("group", 1))
        if len(ws) != 4:
            raise self.error(
                f"the weight '{w}' has shape {list(ws)}; a 2-D convolution needs "
                "a rank-4 weight (M x C/group x kH x kW)"
            )
        kernel = self.attr_ints("kernel_shape", ws[2:])
        strides = self.attr_ints("strides", (1, 1))
        dil = self.attr_ints("dilations", (1, 1))
        pads = self._pads(node, xs[2:], kernel, strides, dil)
        ys = self.shape(node.outputs[0])
        if group < 1 or xs[1] % group or ws[0] % group:
            raise self.error(
                f"channels ({xs[1]} in, {ws[0]} out) are not divisible by group={group}"
            )
        if ws[1] != xs[1] // group:
            raise self.error(
                f"the weight '{w}' has {ws[1]} input channels per group but the "
                f"input has {xs[1]} channels in {group} group(s)"
            )
        if list(kernel) != list(ws[2:]):
            raise self.error(
                f"kernel_shape {list(kernel)} does not match the weight '{w}' "
                f"({list(ws[2:])})"
            )
        if b is not None and tuple(self.shape(b)) != (ws[0],):
            raise self.error(
                f"the bias '{b}' has shape {list(self.shape(b))}; expected "
                f"[{ws[0]}] (one per output channel)"
            )
        G, C, K = group, xs[1] // group, ws[0] // group
        R, S = ws[2], ws[3]
        P, Q = ys[2], ys[3]
        n, g, k, c, p, q, r, s = Lin.dims()
        (sh, sw), (dh, dw) = strides, dil
        pt, pl = pads[0], pads[1]
        maps = {
            "I": access_map([n, g * C + c, p * sh + r * dh - pt, q * sw + s * dw - pl]),
            "W": access_map([g * K + k, c, r, s]),
            "O": access_map([n, g * K + k, p, q]),
        }
        if b is not None:
            maps["B"] = access_map([g * K + k])
        dims = {"N": xs[0], "G": G, "K": K, "C": C, "P": P, "Q": Q, "R": R, "S": S}
        self._contract(node, "conv", dims, x, w, b, maps, strides, dil, pads)

    def _pads(
        self,
        node: _Node,
        spatial: Sequence[int],
        kernel: Sequence[int],
        strides: Sequence[int],
        dil: Sequence[int],
    ) -> list[int]:
        """``[top, left, bottom, right]`` from ``pads`` or ``auto_pad``."""
        auto = node.attrs.get("auto_pad", b"NOTSET")
        auto = auto.decode() if isinstance(auto, bytes) else str(auto)
        if len(kernel) != 2 or len(strides) != 2 or len(dil) != 2:
            raise self.error("only 2-D kernels, strides and dilations are supported")
        if auto == "NOTSET":
            pads = self.attr_ints("pads", (0, 0, 0, 0))
            if len(pads) != 4:
                raise self.error(f"expected 4 pads, got {pads}")
            return pads
        if auto == "VALID":
            return [0, 0, 0, 0]
        if auto in ("SAME_UPPER", "SAME_LOWER"):
            begin, end = [], []
            for size, k, s, d in zip(spatial, kernel, strides, dil, strict=True):
                out = -(-size // s)
                total = max(0, (out - 1) * s + (k - 1) * d + 1 - size)
                small, large = total // 2, total - total // 2
                if auto == "SAME_UPPER":
                    begin.append(small)
                    end.append(large)
                else:
                    begin.append(large)
                    end.append(small)
            return [*begin, *end]
        raise self.error(
            f"unsupported auto_pad value '{auto}' (expected NOTSET, VALID, SAME_UPPER "
            "or SAME_LOWER)"
        )

    def _contract(
        self,
        node: _Node,
        kind: str,
        dims: dict[str, int],
        x: str,
        w: str,
        b: str | None,
        maps: dict[str, Any],
        stride: Sequence[int] = (1, 1),
        dilation: Sequence[int] = (1, 1),
        pad: Sequence[int] = (0, 0, 0, 0),
        alpha: float = 1.0,
        beta: float = 1.0,
    ) -> None:
        xv, wv = self.value(x), self.value(w)
        bv = self.value(b) if b is not None else None
        out = self.dest(node.outputs[0])
        self.body.append(
            ContractOp(
                node.name,
                kind,
                dims,
                xv,
                wv,
                out,
                maps,
                bias=bv,
                stride=stride,
                dilation=dilation,
                pad=pad,
                alpha=alpha,
                beta=beta,
            )
        )

    def gemm(self, node: _Node) -> None:
        a, bm = node.inputs[0], node.inputs[1]
        c = node.inputs[2] if len(node.inputs) > 2 and node.inputs[2] else None
        ta, tb = int(node.attrs.get("transA", 0)), int(node.attrs.get("transB", 0))
        alpha = float(node.attrs.get("alpha", 1.0))
        beta = float(node.attrs.get("beta", 1.0))
        a_s, b_s = self.shape(a), self.shape(bm)
        if len(a_s) != 2 or len(b_s) != 2:
            raise self.error("Gemm needs rank-2 A and B")
        M, Kr = (a_s[1], a_s[0]) if ta else a_s
        Nn = b_s[0] if tb else b_s[1]
        _, _, k, cc, p, *_ = Lin.dims()
        maps = {
            "I": access_map([cc, p] if ta else [p, cc]),
            "W": access_map([k, cc] if tb else [cc, k]),
            "O": access_map([p, k]),
        }
        if c is not None and beta == 0.0:
            c = None
        if c is not None:
            cs = self.shape(c)
            if len(cs) > 2:
                raise self.error(f"Gemm bias C must have rank <= 2, got {list(cs)}")
            full = (M, Nn)[2 - len(cs) :]
            vars_ = (p, k)[2 - len(cs) :]
            maps["B"] = access_map(
                [v if d == f else 0 for d, f, v in zip(cs, full, vars_, strict=True)]
            )
        dims = {"N": 1, "G": 1, "K": Nn, "C": Kr, "P": M, "Q": 1, "R": 1, "S": 1}
        self._contract(node, "gemm", dims, a, bm, c, maps, alpha=alpha, beta=beta)

    def matmul(self, node: _Node) -> None:
        a, bm = node.inputs[0], node.inputs[1]
        if node.op_type == "MatMulInteger":
            self._zero_points(node, (2, 3))
        a_s, b_s = self.shape(a), self.shape(bm)
        out_s = self.shape(node.outputs[0])
        n, g, k, c, p, *_ = Lin.dims()
        a_batch = a_s[:-2] if len(a_s) >= 2 else ()
        b_batch = b_s[:-2] if len(b_s) >= 2 else ()
        nb = max(len(a_batch), len(b_batch))
        if nb > 2:
            raise self.error(
                f"MatMul with more than 2 batch dims is not supported "
                f"({list(a_s)} x {list(b_s)})"
            )
        out_batch = out_s[:nb]
        # One batch dim is N; two are N and G.
        batch_vars: list[Lin] = [n, g][:nb]
        nb_dims = [*out_batch, 1, 1][:2]

        def batch_map(batch: Sequence[int]) -> list[Lin | int]:
            offset = nb - len(batch)
            return [
                0 if d == 1 and out_batch[offset + i] != 1 else batch_vars[offset + i]
                for i, d in enumerate(batch)
            ]

        M = a_s[-2] if len(a_s) >= 2 else 1
        Kr = a_s[-1]
        Nn = b_s[-1] if len(b_s) >= 2 else 1
        i_map = [*batch_map(a_batch), *([p, c] if len(a_s) >= 2 else [c])]
        w_map = [*batch_map(b_batch), *([c, k] if len(b_s) >= 2 else [c])]
        o_map = [
            *batch_vars,
            *([p] if len(a_s) >= 2 else []),
            *([k] if len(b_s) >= 2 else []),
        ]
        dims = {
            "N": nb_dims[0],
            "G": nb_dims[1],
            "K": Nn,
            "C": Kr,
            "P": M,
            "Q": 1,
            "R": 1,
            "S": 1,
        }
        maps = {
            "I": access_map(i_map),
            "W": access_map(w_map),
            "O": access_map(o_map),
        }
        self._contract(node, "matmul", dims, a, bm, None, maps)

    # ---- SIMD ops ---------------------------------------------------------- #

    def elementwise(
        self,
        node: _Node,
        fn: str,
        inputs: Sequence[str],
        out: str | None = None,
        **kw: Any,
    ) -> None:
        values = [self.value(x) for x in inputs]
        dest = self.dest(out or node.outputs[0])
        self.body.append(ElementwiseOp(node.name, fn, values, dest, **kw))

    def unary(self, node: _Node) -> None:
        self.elementwise(node, UNARY_OPS[node.op_type], node.inputs[:1])

    def binary(self, node: _Node) -> None:
        self.elementwise(node, BINARY_OPS[node.op_type], node.inputs[:2])

    def variadic(self, node: _Node) -> None:
        fn = VARIADIC_OPS[node.op_type]
        inputs = [x for x in node.inputs if x]
        out = node.outputs[0]
        if len(inputs) == 1:
            self.body.append(
                ReshapeOp(node.name, self.value(inputs[0]), self.dest(out))
            )
            return
        acc = inputs[0]
        for i, x in enumerate(inputs[1:], start=1):
            if i == len(inputs) - 1:
                self.elementwise(node, fn, [acc, x], out)
            else:
                shape = np.broadcast_shapes(self.shape(acc), self.shape(x))
                t = _TensorType(self.type_of(out).dtype, tuple(shape))
                name = self.temp(f"{out}.partial", t)
                self.elementwise(node, fn, [acc, x], name)
                acc = name

    def clip(self, node: _Node) -> None:
        if self.imp.opset < 11:
            lo = node.attrs.get("min")
            hi = node.attrs.get("max")
        else:
            lo = hi = None
            if len(node.inputs) > 1 and node.inputs[1]:
                lo = float(self.const(node.inputs[1], "Clip's min"))
            if len(node.inputs) > 2 and node.inputs[2]:
                hi = float(self.const(node.inputs[2], "Clip's max"))
        self.elementwise(
            node,
            "clip",
            node.inputs[:1],
            min=None if lo is None else float(lo),
            max=None if hi is None else float(hi),
        )

    def gelu(self, node: _Node) -> None:
        approx = node.attrs.get("approximate", b"none")
        approx = approx.decode() if isinstance(approx, bytes) else str(approx)
        if approx not in ("none", "tanh"):
            raise self.error(f"unsupported Gelu approximate='{approx}'")
        self.elementwise(
            node,
            "gelu",
            node.inputs[:1],
            approximate=None if approx == "none" else approx,
        )

    def pool(self, node: _Node) -> None:
        x = node.inputs[0]
        xs = self.shape(x)
        if len(xs) != 4:
            raise self.error(
                f"only 2-D pooling is supported (input rank {len(xs)}, expected 4)"
            )
        if self.imp.consumed(node.outputs[1:]):
            raise self.error("MaxPool's Indices output is not supported")
        op = node.op_type
        kind = "max" if op in ("MaxPool", "GlobalMaxPool") else "avg"
        if op.startswith("Global"):
            kernel, strides, dil, pads = list(xs[2:]), [1, 1], [1, 1], [0, 0, 0, 0]
            ceil = include = False
        else:
            kernel = self.attr_ints("kernel_shape", ())
            strides = self.attr_ints("strides", (1, 1))
            dil = self.attr_ints("dilations", (1, 1))
            pads = self._pads(node, xs[2:], kernel, strides, dil)
            ceil = bool(node.attrs.get("ceil_mode", 0))
            include = kind == "avg" and bool(node.attrs.get("count_include_pad", 0))
        ys = self.shape(node.outputs[0])
        for a in range(2):
            expect = pool_output_size(
                xs[2 + a], kernel[a], strides[a], dil[a], pads[a], pads[2 + a], ceil
            )
            if ys[2 + a] != expect:
                raise self.error(
                    f"inferred output shape {list(ys)} disagrees with the pooling "
                    f"window (expected extent {expect} on axis {2 + a})"
                )
        self.body.append(
            PoolOp(
                node.name,
                kind,
                self.value(x),
                self.dest(node.outputs[0]),
                kernel=kernel,
                stride=strides,
                dilation=dil,
                pad=pads,
                ceil_mode=ceil,
                count_include_pad=include,
            )
        )

    def softmax(self, node: _Node) -> None:
        x = node.inputs[0]
        rank = len(self.shape(x))
        default = -1 if self.imp.opset >= 13 else 1
        axis = _norm_axis(int(node.attrs.get("axis", default)), rank)
        if self.imp.opset < 13 and axis != rank - 1:
            if any(d != 1 for d in self.shape(x)[axis + 1 :]):
                raise self.error(
                    f"Softmax before opset 13 normalises over all axes from {axis} "
                    "on; only the last axis is supported"
                )
            axis = rank - 1
        self.body.append(
            SoftmaxOp(node.name, self.value(x), self.dest(node.outputs[0]), axis)
        )

    def layernorm(self, node: _Node) -> None:
        if self.imp.consumed(node.outputs[1:]):
            raise self.error(
                "LayerNormalization's Mean/InvStdDev outputs are not supported"
            )
        x = node.inputs[0]
        axis = _norm_axis(int(node.attrs.get("axis", -1)), len(self.shape(x)))
        bias = node.inputs[2] if len(node.inputs) > 2 and node.inputs[2] else None
        self.body.append(
            LayerNormOp(
                node.name,
                self.value(x),
                self.value(node.inputs[1]),
                None if bias is None else self.value(bias),
                self.dest(node.outputs[0]),
                axis=axis,
                epsilon=float(node.attrs.get("epsilon", 1e-5)),
            )
        )

    def reduce(self, node: _Node) -> None:
        x = node.inputs[0]
        rank = len(self.shape(x))
        kind = {"ReduceMean": "mean", "ReduceSum": "sum", "ReduceMax": "max"}[
            node.op_type
        ]
        if len(node.inputs) > 1 and node.inputs[1]:
            axes = [int(a) for a in self.const(node.inputs[1], "the reduction axes")]
        else:
            axes = [int(a) for a in node.attrs.get("axes", [])]
        keep = bool(node.attrs.get("keepdims", 1))
        if not axes:
            if node.attrs.get("noop_with_empty_axes", 0):
                self.body.append(
                    ReshapeOp(node.name, self.value(x), self.dest(node.outputs[0]))
                )
                return
            axes = list(range(rank))
        axes = sorted({_norm_axis(a, rank) for a in axes})
        self.body.append(
            ReduceOp(
                node.name,
                kind,
                self.value(x),
                self.dest(node.outputs[0]),
                axes=axes,
                keepdims=keep,
            )
        )

    # ---- layout ops -------------------------------------------------------- #

    def reshape(self, node: _Node) -> None:
        self.body.append(
            ReshapeOp(node.name, self.value(node.inputs[0]), self.dest(node.outputs[0]))
        )

    def transpose(self, node: _Node) -> None:
        x = node.inputs[0]
        rank = len(self.shape(x))
        perm = self.attr_ints("perm", list(reversed(range(rank))))
        self.body.append(
            TransposeOp(node.name, self.value(x), self.dest(node.outputs[0]), perm)
        )

    def concat(self, node: _Node) -> None:
        inputs = [x for x in node.inputs if x]
        rank = len(self.shape(node.outputs[0]))
        axis = _norm_axis(int(node.attrs["axis"]), rank)
        self.body.append(
            ConcatOp(
                node.name,
                [self.value(x) for x in inputs],
                self.dest(node.outputs[0]),
                axis,
            )
        )


def _norm_axis(axis: int, rank: int) -> int:
    return axis + rank if axis < 0 else axis


_HANDLERS: dict[str, Callable[[_Emitter, _Node], None]] = {
    "Conv": _Emitter.conv,
    "ConvInteger": _Emitter.conv,
    "Gemm": _Emitter.gemm,
    "MatMul": _Emitter.matmul,
    "MatMulInteger": _Emitter.matmul,
    "Clip": _Emitter.clip,
    "Gelu": _Emitter.gelu,
    "MaxPool": _Emitter.pool,
    "AveragePool": _Emitter.pool,
    "GlobalAveragePool": _Emitter.pool,
    "GlobalMaxPool": _Emitter.pool,
    "Softmax": _Emitter.softmax,
    "LayerNormalization": _Emitter.layernorm,
    "ReduceMean": _Emitter.reduce,
    "ReduceSum": _Emitter.reduce,
    "ReduceMax": _Emitter.reduce,
    "Reshape": _Emitter.reshape,
    "Flatten": _Emitter.reshape,
    "Squeeze": _Emitter.reshape,
    "Unsqueeze": _Emitter.reshape,
    "Transpose": _Emitter.transpose,
    "Concat": _Emitter.concat,
    **{op: _Emitter.unary for op in UNARY_OPS},
    **{op: _Emitter.binary for op in BINARY_OPS},
    **{op: _Emitter.variadic for op in VARIADIC_OPS},
}
