"""Lowered programs compute what the ONNX model computes, and move what the model says.

Each case maps a model with one mapper on one architecture, lowers it with
``convert-nest-to-cim``, runs it on the functional simulator and compares the
outputs with ``onnx.reference.ReferenceEvaluator`` (float: relative 1e-4 of the
largest magnitude). For every contraction the bits the program moves per memory
level, counted from the ``cim`` IR, must equal the evaluator's per-level traffic
for the same mapping.

ResNet-18 and MobileNetV2 run here at a reduced input resolution (every layer
keeps its channels and kernel); the full 224x224 graphs are checked by
``miredo-compile`` + ``miredo-sim --check`` (see the README).
"""

from __future__ import annotations

import functools
from pathlib import Path

import onnx
import pytest
from xdsl.context import Context

from miredo.dialects import cim, nest
from miredo.frontends import testmodels
from miredo.frontends.onnx import import_onnx_model, load_weight_table
from miredo.passes.convert_nest_to_cim import ConvertNestToCimPass
from miredo.passes.lowering.host import mapping_of
from miredo.passes.miredo_dataflow import annotate, layer_of
from miredo.sim.check import check_outputs
from miredo.sim.traffic import count_traffic
from miredo.solver.evaluator import evaluate
from miredo.solver.hardware import load_arch


def int8_model() -> onnx.ModelProto:
    """ConvInteger (uint8 x int8, padded) and MatMulInteger (int8): int32 outputs."""
    import numpy as np
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(5)
    w_conv = rng.integers(-128, 128, (8, 4, 3, 3), dtype=np.int8)
    w_fc = rng.integers(-128, 128, (40, 24), dtype=np.int8)
    return helper.make_model(
        helper.make_graph(
            [
                helper.make_node(
                    "ConvInteger", ["x", "wc"], ["y1"], name="conv", pads=[1, 1, 1, 1]
                ),
                helper.make_node("MatMulInteger", ["a", "wf"], ["y2"], name="fc"),
            ],
            "int8",
            [
                helper.make_tensor_value_info("x", TensorProto.UINT8, [1, 4, 6, 6]),
                helper.make_tensor_value_info("a", TensorProto.INT8, [3, 40]),
            ],
            [
                helper.make_tensor_value_info("y1", TensorProto.INT32, [1, 8, 6, 6]),
                helper.make_tensor_value_info("y2", TensorProto.INT32, [3, 24]),
            ],
            [
                numpy_helper.from_array(w_conv, "wc"),
                numpy_helper.from_array(w_fc, "wf"),
            ],
        ),
        opset_imports=[helper.make_opsetid("", 10)],
    )


def big_pool_model() -> onnx.ModelProto:
    """Poolings whose 72x72 planes do not fit a core's buffer on ``small``."""
    b = testmodels.GraphBuilder("pools", 4)
    x = b.input("x", (1, 2, 72, 72))
    y = b.node(
        "MaxPool",
        [x],
        "maxpool",
        kernel_shape=[3, 3],
        strides=[2, 2],
        pads=[1, 1, 1, 1],
    )
    z = b.node(
        "AveragePool",
        [x],
        "avgpool",
        kernel_shape=[3, 3],
        strides=[2, 2],
        pads=[1, 1, 1, 1],
        count_include_pad=1,
    )
    b.output(b.node("Add", [y, z], "add"), (1, 2, 36, 36))
    return b.model()


MODELS = {
    "big_pool": big_pool_model,
    "int8": int8_model,
    "conv_bn": testmodels.conv_bn_model,
    "matmul": testmodels.matmul_model,
    "resnet_block": testmodels.resnet_block,
    "mobilenet_block": testmodels.mobilenet_block,
    "transformer_block": testmodels.transformer_block,
    "resnet18_32": functools.partial(testmodels.resnet18, num_classes=10, size=32),
    "mobilenetv2_32": functools.partial(
        testmodels.mobilenetv2, num_classes=10, size=32
    ),
}

CASES = [
    (model, arch, mapper)
    for model in ("resnet_block", "mobilenet_block", "transformer_block")
    for arch in ("small", "table4")
    for mapper in ("miredo", "ws", "heuristic")
] + [
    ("resnet18_32", "table4", "heuristic"),
    ("mobilenetv2_32", "table4", "heuristic"),
    ("resnet18_32", "small", "miredo"),
    ("int8", "small", "miredo"),
    ("int8", "table4", "heuristic"),
    ("conv_bn", "small", "heuristic"),
    ("matmul", "small", "heuristic"),
    ("big_pool", "small", "heuristic"),
    ("resnet_block", "miredo-ref", "miredo"),
    ("mobilenet_block", "miredo-ref", "heuristic"),
    ("transformer_block", "miredo-ref", "ws"),
]


@functools.cache
def _model(name: str) -> onnx.ModelProto:
    return MODELS[name]()


def _lower(name: str, arch_name: str, mapper: str):
    model = _model(name)
    module = import_onnx_model(model, source=name)
    arch = load_arch(arch_name)
    solved = annotate(
        module, arch, mapper=mapper, time_limit=1.0, workers=1, gap_limit=0.05
    )
    costs = {
        op.node.data: evaluate(
            layer_of(op), arch, mapping_of(op.attributes["dataflow"])
        )
        for op, _, _ in solved
    }
    ConvertNestToCimPass(arch=arch_name).apply(Context(), module)
    module.verify()
    return model, module, arch, costs


@pytest.mark.parametrize(("name", "arch_name", "mapper"), CASES)
def test_lowered_model_matches_onnx(name: str, arch_name: str, mapper: str) -> None:
    model, module, arch, costs = _lower(name, arch_name, mapper)
    assert not any(isinstance(op, nest.ContractOp) for op in module.walk())
    checks = check_outputs(module, model, seed=1, weights=load_weight_table(model))
    assert checks
    for c in checks:
        assert c.ok, f"{c.name}: max abs {c.max_abs:.3e}, max rel {c.max_rel:.3e}"

    programs = {
        op.sym_name.data: op for op in module.walk() if isinstance(op, cim.ProgramOp)
    }
    assert set(costs) <= set(programs)
    for node, cost in costs.items():
        traffic = count_traffic(programs[node])
        for level in arch.levels:
            name_ = level.name
            assert traffic.reads_bits.get(name_, 0) == cost.reads_bits[name_], (
                f"{node}: reads of {name_}"
            )
            assert traffic.writes_bits.get(name_, 0) == cost.writes_bits[name_], (
                f"{node}: writes of {name_}"
            )
        assert traffic.mvms == cost.n_mvm, node


def _annotate(op: nest.ContractOp, arch, mapping) -> None:  # type: ignore[no-untyped-def]
    """Attach ``mapping`` (scored by the evaluator) as ``op``'s dataflow."""
    from miredo.dialects.dataflow import DataflowAttr

    cost = evaluate(layer_of(op), arch, mapping)
    op.attributes["dataflow"] = DataflowAttr.build(
        arch=arch.name,
        mapper="heuristic",
        objective="edp",
        spatial=[
            (a.name, [(lp.dim, lp.factor) for lp in mapping.spatial.get(a.name, ())])
            for a in arch.spatial
        ],
        temporal=[(lp.dim, lp.factor) for lp in mapping.temporal],
        levels=[mapping.level_of[o] for o in "IWO"],
        bypass=[sorted(mapping.bypass[o]) for o in "IWO"],
        double_buffer=[list(p) for p in sorted(mapping.double_buffer)],
        latency=cost.latency,
        energy=cost.energy,
        edp=cost.edp,
        status="heuristic",
        gap=0.0,
    )


def test_reduction_split_across_cores(tmp_path) -> None:
    """C on the cores axis: each core sums part of C, the cores of a group add
    their partial sums (send/recv + SIMD add) before the write-back."""
    import yaml

    from miredo.solver.mapping import Loop, Mapping
    from miredo.solver.validator import validate

    spec = yaml.safe_load((Path(__file__).parents[2] / "arch/small.yaml").read_text())
    spec["name"] = "small_c"
    spec["spatial"][0]["dims"] = [*spec["spatial"][0]["dims"], "C"]
    arch_file = tmp_path / "small_c.yaml"
    arch_file.write_text(yaml.safe_dump(spec))
    arch = load_arch(str(arch_file))

    b = testmodels.GraphBuilder("cconv", 3)
    x = b.input("x", (1, 8, 6, 6))
    b.output(b.conv(x, 8, 4, 3, "conv", pad=1, bias=True), (1, 4, 6, 6))
    model = b.model()
    module = import_onnx_model(model, source="cconv")
    (op,) = [o for o in module.walk() if isinstance(o, nest.ContractOp)]
    layer = layer_of(op)
    temporal = (Loop("P", 6), Loop("Q", 6), Loop("S", 3))
    mapping = Mapping(
        spatial={
            "cores": (Loop("C", 2),),
            "rows": (Loop("C", 4), Loop("R", 3)),
            "cols": (Loop("K", 4),),
        },
        temporal=temporal,
        level_of={"I": ("LB",) * 3, "W": ("LB",) * 3, "O": ("LB", "LB", "OReg")},
        bypass={"I": {"GB"}, "W": {"GB"}, "O": {"GB"}},
        double_buffer=frozenset(),
    )
    assert validate(layer, arch, mapping) == []
    _annotate(op, arch, mapping)
    ConvertNestToCimPass(arch=str(arch_file)).apply(Context(), module)
    module.verify()
    ops = [o.name for o in module.walk()]
    assert "cim.send" in ops and "cim.recv" in ops
    checks = check_outputs(module, model, seed=2, weights=load_weight_table(model))
    assert checks and all(c.ok for c in checks), checks


def test_deferred_output_write_back() -> None:
    """A double-buffered output register on a per-core link writes each tile back
    one iteration late, after the next single-buffered input load, so the core's
    in-order DMA engine does not hold that load (and the MVM behind it) up: the
    downsample pattern of ResNet-18's layer4.0.downsample.0 (I reloaded every MVM,
    read-backs under an outer C loop). The numbers, the traffic and the cycle
    count follow the model."""
    from miredo.sim.timing import iter_programs, simulate_timing
    from miredo.solver.mapping import Loop, Mapping
    from miredo.solver.validator import validate

    arch = load_arch("table4")
    b = testmodels.GraphBuilder("ds", 4)
    x = b.input("x", (1, 64, 14, 14))
    b.output(b.conv(x, 64, 64, 1, "ds", stride=2, pad=0), (1, 64, 7, 7))
    model = b.model()
    module = import_onnx_model(model, source="ds")
    (op,) = [o for o in module.walk() if isinstance(o, nest.ContractOp)]
    layer = layer_of(op)
    temporal = (Loop("C", 2), Loop("K", 2), Loop("P", 7), Loop("Q", 7))
    mapping = Mapping(
        spatial={
            "cores": (Loop("K", 2),),
            "rows": (Loop("C", 32),),
            "cols": (Loop("K", 16),),
        },
        temporal=temporal,
        level_of={
            "I": ("DRAM", "LB", "LB", "LB"),
            "W": ("DRAM", "DRAM", "Macro", "Macro"),
            "O": ("LB",) * 4,
        },
        bypass={"I": {"GB"}, "W": {"GB"}, "O": {"GB"}},
        double_buffer=frozenset({("LB", "I"), ("LB", "W"), ("OReg", "O")}),
    )
    assert validate(layer, arch, mapping) == []
    cost = evaluate(layer, arch, mapping)
    _annotate(op, arch, mapping)
    ConvertNestToCimPass(arch="table4").apply(Context(), module)
    module.verify()
    checks = check_outputs(module, model, seed=3, weights=load_weight_table(model))
    assert checks and all(c.ok for c in checks), checks
    (prog,) = [p for p in iter_programs(module) if p.sym_name.data == "ds"]
    traffic = count_traffic(prog)
    for level in arch.levels:
        assert traffic.reads_bits.get(level.name, 0) == cost.reads_bits[level.name]
        assert traffic.writes_bits.get(level.name, 0) == cost.writes_bits[level.name]
    sim = simulate_timing(prog, arch).latency
    assert abs(sim - cost.latency) <= 0.05 * sim, (cost.latency, sim)
    assert sim < 3000  # 2,904; 3,684 with the write-back in program order
