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

MODELS = {
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
    ("mobilenetv2_32", "small", "heuristic"),
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
        for op, _ in solved
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
