"""The numerical check of a compiled model against ``onnx.reference``.

:func:`check_outputs` runs the lowered module (host function, ``cim`` programs
on the functional simulator) and ``onnx.reference.ReferenceEvaluator`` on the
original model with the same seeded random inputs and compares every graph
output: exactly for integer outputs, within a relative tolerance (of the
output's largest magnitude) for floats.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np
import onnx
from xdsl.dialects.builtin import ModuleOp

from miredo.errors import MiredoError

FLOAT_RTOL = 1e-4
"""Float outputs match when ``max|sim - ref| <= FLOAT_RTOL * max|ref|``."""


@dataclass(frozen=True)
class OutputCheck:
    """The comparison of one graph output."""

    name: str
    max_abs: float
    max_rel: float
    """``max|sim - ref| / max|ref|``."""
    integer: bool
    ok: bool


def random_inputs(model: onnx.ModelProto, seed: int = 0) -> dict[str, np.ndarray]:
    """Seeded random values for every graph input (standard normal for floats,
    uniform over the type's range for integers)."""
    from onnx.helper import tensor_dtype_to_np_dtype

    rng = np.random.default_rng(seed)
    inits = {i.name for i in model.graph.initializer}
    out: dict[str, np.ndarray] = {}
    for vi in model.graph.input:
        if vi.name in inits:
            continue
        t = vi.type.tensor_type
        shape = tuple(d.dim_value for d in t.shape.dim)
        dtype = np.dtype(tensor_dtype_to_np_dtype(t.elem_type))
        if np.issubdtype(dtype, np.integer):
            info = np.iinfo(dtype)
            lo, hi = max(info.min, -128), min(info.max, 127)
            out[vi.name] = rng.integers(lo, hi + 1, size=shape).astype(dtype)
        else:
            out[vi.name] = rng.standard_normal(shape).astype(dtype)
    return out


def reference_outputs(
    model: onnx.ModelProto, inputs: dict[str, np.ndarray]
) -> dict[str, np.ndarray]:
    from onnx.reference import ReferenceEvaluator

    names = [o.name for o in model.graph.output]
    values = ReferenceEvaluator(model).run(None, inputs)
    return dict(zip(names, (np.asarray(v) for v in values), strict=True))


def check_outputs(
    module: ModuleOp,
    model: onnx.ModelProto | str | os.PathLike[str],
    seed: int = 0,
    weights: dict[str, np.ndarray] | None = None,
) -> list[OutputCheck]:
    """Simulate ``module`` and compare with the reference on ``model`` (a model
    or its path). ``weights`` supplies by-name weights when the module's
    ``nest.source`` is not a file."""
    from miredo.sim.nest_interpreter import run_nest

    if not isinstance(model, onnx.ModelProto):
        try:
            model = onnx.load(str(model))
        except Exception as e:
            raise MiredoError(f"cannot load the source model: {e}", str(model)) from e
    inputs = random_inputs(model, seed)
    ref = reference_outputs(model, inputs)
    got = run_nest(module, inputs, weights)
    checks: list[OutputCheck] = []
    for name, r in ref.items():
        if name not in got:
            raise MiredoError(f"the compiled module has no output '{name}'")
        g = np.asarray(got[name])
        integer = np.issubdtype(r.dtype, np.integer)
        diff = np.abs(g.astype(np.float64) - r.astype(np.float64))
        max_abs = float(diff.max(initial=0.0))
        scale = float(np.abs(r.astype(np.float64)).max(initial=0.0))
        max_rel = max_abs / scale if scale else max_abs
        ok = max_abs == 0.0 if integer else max_abs <= FLOAT_RTOL * max(scale, 1e-30)
        checks.append(OutputCheck(name, max_abs, max_rel, bool(integer), bool(ok)))
    return checks
