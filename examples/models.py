"""The example ONNX models, and a script that writes the shipped ``.onnx`` files.

The builders live in the package (``miredo.frontends.testmodels``) so that tests,
benchmarks and other tools can import them from any installation; this module
re-exports them. Run ``python examples/models.py`` to regenerate
``examples/{resnet_block,mobilenet_block,transformer_block}.onnx``; the output is
deterministic (seeded weights), so the files only change when a builder does.
"""

import sys
from pathlib import Path

from miredo.frontends.testmodels import (
    mobilenet_block,
    mobilenetv2,
    resnet18,
    resnet_block,
    transformer_block,
)

__all__ = [
    "EXAMPLES",
    "mobilenet_block",
    "mobilenetv2",
    "resnet18",
    "resnet_block",
    "transformer_block",
    "write_examples",
]

EXAMPLES = {
    "resnet_block": resnet_block,
    "mobilenet_block": mobilenet_block,
    "transformer_block": transformer_block,
}
"""The shipped examples, by file stem."""


def write_examples(directory: Path | None = None) -> list[Path]:
    """Write every example to ``<directory>/<name>.onnx`` and return the paths."""
    directory = Path(__file__).parent if directory is None else directory
    paths = []
    for name, build in EXAMPLES.items():
        path = directory / f"{name}.onnx"
        path.write_bytes(build().SerializeToString())
        paths.append(path)
    return paths


if __name__ == "__main__":
    for p in write_examples(Path(sys.argv[1]) if len(sys.argv) > 1 else None):
        print(f"wrote {p} ({p.stat().st_size} bytes)")
