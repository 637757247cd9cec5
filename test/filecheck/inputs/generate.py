"""Regenerate the ONNX inputs of the frontend lit tests: ``python generate.py``.

The models are built by ``miredo.frontends.testmodels.lit_models`` with seeded
weights, so the files are reproducible.
"""

from pathlib import Path

from miredo.frontends.testmodels import lit_models

if __name__ == "__main__":
    here = Path(__file__).parent
    for name, model in lit_models().items():
        path = here / f"{name}.onnx"
        path.write_bytes(model.SerializeToString())
        print(f"wrote {path} ({path.stat().st_size} bytes)")
