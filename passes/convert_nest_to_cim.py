"""``convert-nest-to-cim``: lower an annotated ``nest`` model to ``cim`` programs.

Every ``nest.contract`` must carry a ``#nest.dataflow`` attribute for the
hardware given by ``arch`` (run ``miredo-dataflow`` first). The model's
``func.func`` stays as the host function: weights and off-chip tensors remain,
and every op becomes a ``cim.launch`` of its own ``cim.program``:

* a contraction runs its mapping exactly
  (:mod:`miredo.passes.lowering.contract`); its weights are packed on the host
  into ``[N, G, C, R, S, K]`` order first (macro rows before columns), and a bias
  or a Gemm ``alpha``/``beta`` becomes a SIMD epilogue program;
* elementwise ops, pooling, softmax, layer norm and reductions become SIMD
  programs (:mod:`miredo.passes.lowering.simd`);
* reshape, transpose and concat become DMA programs
  (:mod:`miredo.passes.lowering.layout`).

```
miredo-opt --miredo-dataflow=arch=small --convert-nest-to-cim=arch=small model.onnx
```
"""

from __future__ import annotations

from dataclasses import dataclass

from xdsl.context import Context
from xdsl.dialects import func
from xdsl.dialects.builtin import ModuleOp
from xdsl.passes import ModulePass

from miredo.errors import MiredoError
from miredo.passes.lowering import host


@dataclass(frozen=True)
class ConvertNestToCimPass(ModulePass):
    """Lower annotated contractions and SIMD nests to ``cim`` programs."""

    name = "convert-nest-to-cim"

    arch: str = "table4"
    """The hardware the dataflow attributes were solved for (name or YAML path)."""

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        from miredo.solver.hardware import load_arch

        arch = load_arch(self.arch)
        main = _main(op)
        lowering = host.HostLowering(arch, op)
        for inner in list(main.body.block.ops):
            lowering.lower(inner)
        for program in lowering.programs:
            op.body.block.add_op(program)


def _main(module: ModuleOp) -> func.FuncOp:
    funcs = [o for o in module.body.block.ops if isinstance(o, func.FuncOp)]
    if len(funcs) != 1:
        raise MiredoError(
            f"expected one func.func holding the model, found {len(funcs)}",
            "convert-nest-to-cim",
        )
    return funcs[0]
