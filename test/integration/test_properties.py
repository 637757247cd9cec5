"""Property tests over random conv layers and random hardware files.

For every draw, mapping the layer either gives a mapping the validator accepts,
whose latency is at least the physical lower bound, and whose lowered program
computes what ``onnx.reference`` computes and moves what the evaluator says, or
it raises the documented infeasibility error naming the layer and a level.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from xdsl.context import Context

from miredo.dialects import cim
from miredo.errors import MiredoError
from miredo.frontends import testmodels
from miredo.frontends.onnx import import_onnx_model, load_weight_table
from miredo.passes.convert_nest_to_cim import ConvertNestToCimPass
from miredo.passes.lowering.host import mapping_of
from miredo.passes.miredo_dataflow import annotate, layer_of
from miredo.sim.check import check_outputs
from miredo.sim.traffic import count_traffic
from miredo.solver.bounds import physical_bound
from miredo.solver.evaluator import evaluate
from miredo.solver.hardware import arch_from_dict
from miredo.solver.validator import validate

BASE = yaml.safe_load((Path(__file__).parents[2] / "arch" / "small.yaml").read_text())


@st.composite
def archs(draw) -> dict:
    spec = yaml.safe_load(yaml.safe_dump(BASE))
    rows = draw(st.sampled_from([2, 4, 8, 16]))
    cols = draw(st.sampled_from([2, 4, 8]))
    cores = draw(st.sampled_from([1, 2, 4]))
    spec["name"] = "rand"
    spec["macro"]["rows"], spec["macro"]["cols"] = rows, cols
    spec["spatial"][0]["size"] = cores
    spec["spatial"][1]["size"], spec["spatial"][2]["size"] = rows, cols
    levels = {lv["name"]: lv for lv in spec["levels"]}
    levels["Macro"]["capacity_bits"] = rows * cols * 8
    levels["IReg"]["capacity_bits"] = rows * 8 * draw(st.sampled_from([1, 2]))
    levels["OReg"]["capacity_bits"] = cols * 32 * draw(st.sampled_from([1, 2]))
    levels["LB"]["capacity_bits"] = draw(st.sampled_from([256, 1024, 8192, 32768]))
    levels["GB"]["capacity_bits"] = draw(st.sampled_from([512, 4096, 16384]))
    for name in ("GB", "LB", "IReg", "OReg"):
        levels[name]["double_buffer"] = draw(st.booleans())
    levels["LB"]["bw_bits_per_cycle"] = draw(st.sampled_from([16, 64]))
    return spec


@st.composite
def convs(draw):
    groups = draw(st.sampled_from([1, 2]))
    cin = groups * draw(st.integers(1, 4))
    cout = groups * draw(st.integers(1, 4))
    k = draw(st.sampled_from([1, 3]))
    stride = draw(st.sampled_from([1, 2]))
    pad = draw(st.sampled_from([0, 1])) if k == 3 else 0
    hw = draw(st.integers(max(k, 3), 7))
    return cin, cout, k, stride, pad, groups, hw


@settings(
    max_examples=15,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(spec=archs(), conv=convs(), mapper=st.sampled_from(["heuristic", "miredo"]))
def test_random_layer_on_random_hardware(spec: dict, conv, mapper: str) -> None:
    arch = arch_from_dict(spec, "<random arch>")
    cin, cout, k, stride, pad, groups, hw = conv
    b = testmodels.GraphBuilder("prop", 7)
    x = b.input("x", (1, cin, hw, hw))
    y = b.conv(x, cin, cout, k, "conv", stride=stride, pad=pad, group=groups)
    out = (hw + 2 * pad - k) // stride + 1
    b.output(y, (1, cout, out, out))
    model = b.model()
    module = import_onnx_model(model, source="prop")
    try:
        solved = annotate(module, arch, mapper=mapper, time_limit=0.5, workers=1)
    except MiredoError as e:
        assert "cannot be mapped onto 'rand' even with the smallest tiles" in str(e)
        assert "layer conv" in str(e) and "level" in str(e)
        return
    ((op, sol, _),) = solved
    layer = layer_of(op)
    mapping = mapping_of(op.attributes["dataflow"])
    assert validate(layer, arch, mapping) == []
    cost = evaluate(layer, arch, mapping)
    assert cost.latency >= physical_bound(layer, arch)
    assert sol.cost.latency == cost.latency

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "rand.yaml"
        path.write_text(yaml.safe_dump(spec))
        ConvertNestToCimPass(arch=str(path)).apply(Context(), module)
    module.verify()
    checks = check_outputs(module, model, seed=3, weights=load_weight_table(model))
    assert checks and all(c.ok for c in checks), checks
    (program,) = [
        p
        for p in module.walk()
        if isinstance(p, cim.ProgramOp) and p.sym_name.data == "conv"
    ]
    traffic = count_traffic(program)
    for level in arch.levels:
        assert traffic.reads_bits.get(level.name, 0) == cost.reads_bits[level.name]
        assert traffic.writes_bits.get(level.name, 0) == cost.writes_bits[level.name]
