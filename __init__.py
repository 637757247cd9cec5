"""miredo: MIP-driven dataflow optimisation for compute-in-memory accelerators.

The package is an xDSL compiler plugin. Its subpackages map one-to-one onto the
repository's top-level folders: ``dialects`` (the ``nest`` and ``cim`` dialects),
``frontends`` (ONNX import), ``passes`` (one file per pass), ``solver`` (hardware
model, MIP, evaluator, validator, baselines), ``sim`` (interpreters and the
simulator), ``tools`` (console entry points) and ``arch`` (shipped hardware files).
"""

__version__ = "0.1.0"
