"""ONNX models built in code, for tests, examples and benchmarks.

Every builder returns a checked ``onnx.ModelProto`` (opset 17, float32, batch 1) with
deterministic, seeded random weights, so that the same call always gives the same
bytes:

* :func:`resnet_block`: conv + BN + ReLU, a residual basic block, max pool, global
  average pool, flatten, Gemm.
* :func:`mobilenet_block`: an inverted residual block: pointwise expand, depthwise
  3x3, pointwise project, each with BN, ReLU6 as ``Clip`` and a residual add.
* :func:`transformer_block`: pre-LN self-attention with two heads (MatMul Q/K/V,
  Reshape/Transpose to heads, batched MatMul, Softmax), a decomposed LayerNorm
  (ReduceMean/Sub/Pow/Sqrt/Div), an FFN with GELU written as
  ``0.5 * x * (1 + erf(x / sqrt(2)))`` and residual adds.
* :func:`resnet18` and :func:`mobilenetv2`: the standard ImageNet networks
  (224x224 input, 1000 classes), with random weights.
* :func:`efficientnet_b0`: EfficientNet-B0's shape (MBConv blocks with depthwise
  3x3/5x5 convs, squeeze-excite and Swish) and :func:`vgg`: VGG-16's convolution
  stacks with a pooled classifier; both for the benchmark's model sweep.
* Small single-purpose graphs used by the lit tests (:func:`lit_models`).

``python examples/models.py`` writes the shipped example files.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OPSET = 17
"""The default-domain opset of every model built here."""


class GraphBuilder:
    """A small helper that names tensors and collects nodes and initializers."""

    def __init__(self, name: str, seed: int = 0):
        self.name = name
        self.rng = np.random.default_rng(seed)
        self.nodes: list[onnx.NodeProto] = []
        self.initializers: list[onnx.TensorProto] = []
        self.inputs: list[onnx.ValueInfoProto] = []
        self.outputs: list[onnx.ValueInfoProto] = []
        self._count: dict[str, int] = {}

    # ---- plumbing --------------------------------------------------------- #

    def fresh(self, base: str) -> str:
        i = self._count.get(base, 0)
        self._count[base] = i + 1
        return base if i == 0 else f"{base}_{i}"

    def input(self, name: str, shape: Sequence[int]) -> str:
        self.inputs.append(
            helper.make_tensor_value_info(name, TensorProto.FLOAT, list(shape))
        )
        return name

    def output(self, name: str, shape: Sequence[int] | None = None) -> None:
        self.outputs.append(
            helper.make_tensor_value_info(
                name, TensorProto.FLOAT, None if shape is None else list(shape)
            )
        )

    def const(self, name: str, value: np.ndarray) -> str:
        self.initializers.append(numpy_helper.from_array(np.asarray(value), name))
        return name

    def weight(self, name: str, shape: Sequence[int], fan_in: int) -> str:
        std = np.sqrt(2.0 / max(fan_in, 1))
        data = (self.rng.standard_normal(tuple(shape), dtype=np.float32) * std).astype(
            np.float32
        )
        return self.const(name, data)

    def small(self, name: str, shape: Sequence[int], scale: float = 0.1) -> str:
        data = (
            self.rng.standard_normal(tuple(shape), dtype=np.float32) * scale
        ).astype(np.float32)
        return self.const(name, data)

    def node(
        self,
        op: str,
        inputs: Sequence[str],
        name: str,
        n_out: int = 1,
        **attrs: object,
    ) -> str:
        outs = [f"{name}_out"] + [f"{name}_out{i}" for i in range(1, n_out)]
        self.nodes.append(helper.make_node(op, list(inputs), outs, name=name, **attrs))
        return outs[0]

    def model(self) -> onnx.ModelProto:
        graph = helper.make_graph(
            self.nodes, self.name, self.inputs, self.outputs, self.initializers
        )
        model = helper.make_model(
            graph,
            opset_imports=[helper.make_opsetid("", OPSET)],
            producer_name="miredo.testmodels",
        )
        model.ir_version = 8
        onnx.checker.check_model(model)
        return model

    # ---- layers ----------------------------------------------------------- #

    def conv(
        self,
        x: str,
        cin: int,
        cout: int,
        k: int,
        name: str,
        *,
        stride: int = 1,
        pad: int | None = None,
        group: int = 1,
        bias: bool = False,
        dilation: int = 1,
    ) -> str:
        pad = (k // 2) * dilation if pad is None else pad
        w = self.weight(
            f"{name}.weight", (cout, cin // group, k, k), cin // group * k * k
        )
        inputs = [x, w]
        if bias:
            inputs.append(self.small(f"{name}.bias", (cout,)))
        return self.node(
            "Conv",
            inputs,
            name,
            kernel_shape=[k, k],
            strides=[stride, stride],
            pads=[pad] * 4,
            dilations=[dilation, dilation],
            group=group,
        )

    def bn(self, x: str, c: int, name: str) -> str:
        gamma = self.const(
            f"{name}.weight", self.rng.uniform(0.5, 1.5, c).astype(np.float32)
        )
        beta = self.small(f"{name}.bias", (c,))
        mean = self.small(f"{name}.running_mean", (c,))
        var = self.const(
            f"{name}.running_var", self.rng.uniform(0.5, 1.5, c).astype(np.float32)
        )
        return self.node(
            "BatchNormalization", [x, gamma, beta, mean, var], name, epsilon=1e-5
        )

    def relu(self, x: str, name: str) -> str:
        return self.node("Relu", [x], name)

    def relu6(self, x: str, name: str) -> str:
        lo = self._scalar("relu6.min", 0.0)
        hi = self._scalar("relu6.max", 6.0)
        return self.node("Clip", [x, lo, hi], name)

    def _scalar(self, name: str, value: float) -> str:
        if not any(t.name == name for t in self.initializers):
            self.const(name, np.array(value, dtype=np.float32))
        return name

    def gemm(self, x: str, cin: int, cout: int, name: str) -> str:
        w = self.weight(f"{name}.weight", (cout, cin), cin)
        b = self.small(f"{name}.bias", (cout,))
        return self.node("Gemm", [x, w, b], name, transB=1)

    def linear(self, x: str, cin: int, cout: int, name: str) -> str:
        """MatMul with a [cin, cout] weight plus a bias Add (as PyTorch exports)."""
        w = self.weight(f"{name}.weight", (cin, cout), cin)
        b = self.small(f"{name}.bias", (cout,))
        y = self.node("MatMul", [x, w], f"{name}.matmul")
        return self.node("Add", [y, b], f"{name}.add")


# --------------------------------------------------------------------------- #
# Small blocks
# --------------------------------------------------------------------------- #


def resnet_block(seed: int = 0) -> onnx.ModelProto:
    """A ResNet-style block on a 1x3x32x32 input with 10 logits."""
    b = GraphBuilder("resnet_block", seed)
    x = b.input("input", (1, 3, 32, 32))
    y = b.relu(b.bn(b.conv(x, 3, 16, 3, "conv1"), 16, "bn1"), "relu1")
    z = b.relu(b.bn(b.conv(y, 16, 16, 3, "conv2"), 16, "bn2"), "relu2")
    z = b.bn(b.conv(z, 16, 16, 3, "conv3"), 16, "bn3")
    z = b.relu(b.node("Add", [z, y], "add1"), "relu3")
    z = b.node(
        "MaxPool", [z], "pool1", kernel_shape=[3, 3], strides=[2, 2], pads=[1] * 4
    )
    z = b.node("GlobalAveragePool", [z], "gap")
    z = b.node("Flatten", [z], "flatten", axis=1)
    b.nodes.append(
        helper.make_node(
            "Gemm",
            [z, b.weight("fc.weight", (10, 16), 16), b.small("fc.bias", (10,))],
            ["logits"],
            name="fc",
            transB=1,
        )
    )
    b.output("logits", (1, 10))
    return b.model()


def mobilenet_block(seed: int = 0) -> onnx.ModelProto:
    """A MobileNetV2 inverted residual block on a 1x16x16x16 input."""
    b = GraphBuilder("mobilenet_block", seed)
    x = b.input("input", (1, 16, 16, 16))
    y = b.relu6(b.bn(b.conv(x, 16, 64, 1, "expand"), 64, "expand_bn"), "expand_relu6")
    y = b.relu6(
        b.bn(b.conv(y, 64, 64, 3, "depthwise", group=64), 64, "depthwise_bn"),
        "depthwise_relu6",
    )
    y = b.bn(b.conv(y, 64, 16, 1, "project"), 16, "project_bn")
    b.nodes.append(helper.make_node("Add", [y, x], ["output"], name="residual"))
    b.output("output", (1, 16, 16, 16))
    return b.model()


def transformer_block(
    seed: int = 0, seq: int = 8, d_model: int = 32, heads: int = 2, d_ff: int = 64
) -> onnx.ModelProto:
    """A pre-LN transformer encoder block on a ``1 x seq x d_model`` input."""
    b = GraphBuilder("transformer_block", seed)
    dh = d_model // heads
    x = b.input("input", (1, seq, d_model))

    # Self-attention with LayerNormalization in front.
    gamma = b.const("ln1.weight", np.ones(d_model, np.float32))
    beta = b.const("ln1.bias", np.zeros(d_model, np.float32))
    h = b.node("LayerNormalization", [x, gamma, beta], "ln1", axis=-1, epsilon=1e-5)
    heads_shape = b.const("heads_shape", np.array([1, seq, heads, dh], np.int64))
    q = b.linear(h, d_model, d_model, "q_proj")
    k = b.linear(h, d_model, d_model, "k_proj")
    v = b.linear(h, d_model, d_model, "v_proj")
    q = b.node("Reshape", [q, heads_shape], "q_reshape")
    k = b.node("Reshape", [k, heads_shape], "k_reshape")
    v = b.node("Reshape", [v, heads_shape], "v_reshape")
    q = b.node("Transpose", [q], "q_transpose", perm=[0, 2, 1, 3])  # 1 h s dh
    k = b.node("Transpose", [k], "k_transpose", perm=[0, 2, 3, 1])  # 1 h dh s
    v = b.node("Transpose", [v], "v_transpose", perm=[0, 2, 1, 3])  # 1 h s dh
    scores = b.node("MatMul", [q, k], "scores")
    scale = b.const("attn_scale", np.array(1.0 / np.sqrt(dh), np.float32))
    scores = b.node("Mul", [scores, scale], "scores_scale")
    attn = b.node("Softmax", [scores], "softmax", axis=-1)
    ctx = b.node("MatMul", [attn, v], "context")
    ctx = b.node("Transpose", [ctx], "context_transpose", perm=[0, 2, 1, 3])
    model_shape = b.const("model_shape", np.array([1, seq, d_model], np.int64))
    ctx = b.node("Reshape", [ctx, model_shape], "context_reshape")
    att = b.linear(ctx, d_model, d_model, "out_proj")
    x2 = b.node("Add", [x, att], "residual1")

    # A decomposed LayerNorm, as older exporters write it.
    mean = b.node("ReduceMean", [x2], "ln2.mean", axes=[-1], keepdims=1)
    cen = b.node("Sub", [x2, mean], "ln2.sub")
    two = b.const("ln2.two", np.array(2.0, np.float32))
    sq = b.node("Pow", [cen, two], "ln2.pow")
    var = b.node("ReduceMean", [sq], "ln2.var", axes=[-1], keepdims=1)
    eps = b.const("ln2.eps", np.array(1e-5, np.float32))
    std = b.node("Sqrt", [b.node("Add", [var, eps], "ln2.add_eps")], "ln2.sqrt")
    norm = b.node("Div", [cen, std], "ln2.div")
    g2 = b.const("ln2.weight", b.rng.uniform(0.5, 1.5, d_model).astype(np.float32))
    b2 = b.small("ln2.bias", (d_model,))
    h2 = b.node("Add", [b.node("Mul", [norm, g2], "ln2.scale"), b2], "ln2.shift")

    # FFN with GELU(x) = 0.5 * x * (1 + erf(x / sqrt(2))).
    f = b.linear(h2, d_model, d_ff, "fc1")
    sqrt2 = b.const("gelu.sqrt2", np.array(np.sqrt(2.0), np.float32))
    one = b.const("gelu.one", np.array(1.0, np.float32))
    half = b.const("gelu.half", np.array(0.5, np.float32))
    e = b.node("Erf", [b.node("Div", [f, sqrt2], "gelu.div")], "gelu.erf")
    gl = b.node("Mul", [f, b.node("Add", [e, one], "gelu.add")], "gelu.mul")
    gl = b.node("Mul", [gl, half], "gelu.half_mul")
    f2 = b.linear(gl, d_ff, d_model, "fc2")
    b.nodes.append(helper.make_node("Add", [x2, f2], ["output"], name="residual2"))
    b.output("output", (1, seq, d_model))
    return b.model()


# --------------------------------------------------------------------------- #
# Full networks
# --------------------------------------------------------------------------- #


def resnet18(
    seed: int = 0, num_classes: int = 1000, size: int = 224
) -> onnx.ModelProto:
    """ResNet-18 (torchvision layout) on a 1x3x224x224 input, random weights.

    ``size`` changes the input resolution (every layer keeps its channels)."""
    b = GraphBuilder("resnet18", seed)
    x = b.input("input", (1, 3, size, size))
    y = b.relu(b.bn(b.conv(x, 3, 64, 7, "conv1", stride=2, pad=3), 64, "bn1"), "relu")
    y = b.node(
        "MaxPool", [y], "maxpool", kernel_shape=[3, 3], strides=[2, 2], pads=[1] * 4
    )
    cin = 64
    for li, cout in enumerate((64, 128, 256, 512), start=1):
        for bi in range(2):
            stride = 2 if (li > 1 and bi == 0) else 1
            p = f"layer{li}.{bi}"
            z = b.relu(
                b.bn(
                    b.conv(y, cin, cout, 3, f"{p}.conv1", stride=stride),
                    cout,
                    f"{p}.bn1",
                ),
                f"{p}.relu1",
            )
            z = b.bn(b.conv(z, cout, cout, 3, f"{p}.conv2"), cout, f"{p}.bn2")
            short = y
            if stride != 1 or cin != cout:
                short = b.bn(
                    b.conv(y, cin, cout, 1, f"{p}.downsample.0", stride=stride, pad=0),
                    cout,
                    f"{p}.downsample.1",
                )
            y = b.relu(b.node("Add", [z, short], f"{p}.add"), f"{p}.relu2")
            cin = cout
    y = b.node("GlobalAveragePool", [y], "avgpool")
    y = b.node("Flatten", [y], "flatten", axis=1)
    b.nodes.append(
        helper.make_node(
            "Gemm",
            [
                y,
                b.weight("fc.weight", (num_classes, 512), 512),
                b.small("fc.bias", (num_classes,)),
            ],
            ["logits"],
            name="fc",
            transB=1,
        )
    )
    b.output("logits", (1, num_classes))
    return b.model()


def mobilenetv2(
    seed: int = 0, num_classes: int = 1000, size: int = 224
) -> onnx.ModelProto:
    """MobileNetV2 (width 1.0) on a 1x3x224x224 input, random weights.

    ``size`` changes the input resolution (every layer keeps its channels)."""
    b = GraphBuilder("mobilenetv2", seed)
    x = b.input("input", (1, 3, size, size))
    y = b.relu6(
        b.bn(b.conv(x, 3, 32, 3, "features.0.0", stride=2), 32, "features.0.1"),
        "features.0.2",
    )
    cin, idx = 32, 1
    settings = (
        (1, 16, 1, 1),
        (6, 24, 2, 2),
        (6, 32, 3, 2),
        (6, 64, 4, 2),
        (6, 96, 3, 1),
        (6, 160, 3, 2),
        (6, 320, 1, 1),
    )
    for t, c, n, s in settings:
        for i in range(n):
            stride = s if i == 0 else 1
            p = f"features.{idx}"
            hidden = cin * t
            z = y
            if t != 1:
                z = b.relu6(
                    b.bn(
                        b.conv(z, cin, hidden, 1, f"{p}.expand"),
                        hidden,
                        f"{p}.expand_bn",
                    ),
                    f"{p}.expand_relu6",
                )
            z = b.relu6(
                b.bn(
                    b.conv(
                        z, hidden, hidden, 3, f"{p}.dw", stride=stride, group=hidden
                    ),
                    hidden,
                    f"{p}.dw_bn",
                ),
                f"{p}.dw_relu6",
            )
            z = b.bn(b.conv(z, hidden, c, 1, f"{p}.project"), c, f"{p}.project_bn")
            if stride == 1 and cin == c:
                z = b.node("Add", [y, z], f"{p}.add")
            y, cin, idx = z, c, idx + 1
    y = b.relu6(
        b.bn(b.conv(y, cin, 1280, 1, f"features.{idx}.0"), 1280, f"features.{idx}.1"),
        f"features.{idx}.2",
    )
    y = b.node("GlobalAveragePool", [y], "avgpool")
    y = b.node("Flatten", [y], "flatten", axis=1)
    y = b.node("Dropout", [y], "classifier.0")
    b.nodes.append(
        helper.make_node(
            "Gemm",
            [
                y,
                b.weight("classifier.1.weight", (num_classes, 1280), 1280),
                b.small("classifier.1.bias", (num_classes,)),
            ],
            ["logits"],
            name="classifier.1",
            transB=1,
        )
    )
    b.output("logits", (1, num_classes))
    return b.model()


def _swish(b: GraphBuilder, x: str, name: str) -> str:
    """Swish / SiLU as ``x * Sigmoid(x)`` (two SIMD nests)."""
    return b.node("Mul", [x, b.node("Sigmoid", [x], f"{name}.sigmoid")], name)


def _squeeze_excite(b: GraphBuilder, x: str, c: int, c_se: int, name: str) -> str:
    """Squeeze-excite: global average pool, 1x1 conv reduce + Swish, 1x1 conv
    expand + Sigmoid, then ``x`` scaled per channel (a broadcast ``Mul``)."""
    s = b.node("GlobalAveragePool", [x], f"{name}.pool")
    s = _swish(b, b.conv(s, c, c_se, 1, f"{name}.reduce", bias=True), f"{name}.act")
    s = b.conv(s, c_se, c, 1, f"{name}.expand", bias=True)
    s = b.node("Sigmoid", [s], f"{name}.gate")
    return b.node("Mul", [x, s], f"{name}.scale")


def efficientnet_b0(
    seed: int = 0, num_classes: int = 1000, size: int = 224
) -> onnx.ModelProto:
    """EfficientNet-B0 (width and depth 1.0) on a 1x3x224x224 input, random weights.

    The torchvision layout: a 3x3 stride-2 stem, 16 MBConv blocks (1x1 expand,
    depthwise 3x3 or 5x5, squeeze-excite with a quarter of the block's input
    channels, 1x1 project, residual add when the shape is kept), a 1x1 head to
    1280 channels, global average pool and the classifier. Every op is one the
    frontend lowers: Swish is ``x * Sigmoid(x)``, squeeze-excite's channel scale a
    broadcast ``Mul``; BatchNormalization folds into the convs; the classifier's
    dropout and stochastic depth are inference no-ops and left out. ``size``
    changes the input resolution (every layer keeps its channels)."""
    b = GraphBuilder("efficientnet_b0", seed)
    x = b.input("input", (1, 3, size, size))
    y = _swish(
        b, b.bn(b.conv(x, 3, 32, 3, "stem", stride=2), 32, "stem_bn"), "stem_act"
    )
    cin, idx = 32, 0
    # (expand ratio, kernel, stride, output channels, repeats)
    settings = (
        (1, 3, 1, 16, 1),
        (6, 3, 2, 24, 2),
        (6, 5, 2, 40, 2),
        (6, 3, 2, 80, 3),
        (6, 5, 1, 112, 3),
        (6, 5, 2, 192, 4),
        (6, 3, 1, 320, 1),
    )
    for t, k, s, c, n in settings:
        for i in range(n):
            stride = s if i == 0 else 1
            p = f"blocks.{idx}"
            hidden = cin * t
            z = y
            if t != 1:
                z = _swish(
                    b,
                    b.bn(b.conv(z, cin, hidden, 1, f"{p}.expand"), hidden, f"{p}.bn0"),
                    f"{p}.act0",
                )
            z = b.conv(z, hidden, hidden, k, f"{p}.dw", stride=stride, group=hidden)
            z = _swish(b, b.bn(z, hidden, f"{p}.bn1"), f"{p}.act1")
            z = _squeeze_excite(b, z, hidden, max(1, cin // 4), f"{p}.se")
            z = b.bn(b.conv(z, hidden, c, 1, f"{p}.project"), c, f"{p}.bn2")
            if stride == 1 and cin == c:
                z = b.node("Add", [y, z], f"{p}.add")
            y, cin, idx = z, c, idx + 1
    y = _swish(b, b.bn(b.conv(y, cin, 1280, 1, "head"), 1280, "head_bn"), "head_act")
    y = b.node("GlobalAveragePool", [y], "avgpool")
    y = b.node("Flatten", [y], "flatten", axis=1)
    b.nodes.append(
        helper.make_node(
            "Gemm",
            [
                y,
                b.weight("classifier.weight", (num_classes, 1280), 1280),
                b.small("classifier.bias", (num_classes,)),
            ],
            ["logits"],
            name="classifier",
            transB=1,
        )
    )
    b.output("logits", (1, num_classes))
    return b.model()


VGG16_STACKS: tuple[tuple[int, int], ...] = (
    (64, 2),
    (128, 2),
    (256, 3),
    (512, 3),
    (512, 3),
)
"""VGG-16's convolution stacks: (channels, 3x3 convs), each followed by a 2x2 max
pool."""


def vgg(
    seed: int = 0,
    num_classes: int = 1000,
    size: int = 224,
    stacks: Sequence[tuple[int, int]] = VGG16_STACKS,
    fc: int = 4096,
) -> onnx.ModelProto:
    """A VGG-style network on a 1x3x224x224 input, random weights.

    ``stacks`` of 3x3 convs (with bias) + ReLU, each stack closed by a 2x2 stride-2
    max pool (default: VGG-16's 13 convs), then a global average pool and three
    fully connected layers (``last channels -> fc -> fc -> num_classes``, ReLU
    between). Unlike torchvision's VGG-16, whose first FC reads the flattened
    7x7x512 map (a 25088x4096 weight), the classifier reads the pooled 512
    features: 38 M instead of 138 M weights, and any ``size`` >= 32 works."""
    b = GraphBuilder("vgg", seed)
    x = b.input("input", (1, 3, size, size))
    y, cin = x, 3
    for si, (c, n) in enumerate(stacks, start=1):
        for i in range(1, n + 1):
            p = f"conv{si}_{i}"
            y = b.relu(b.conv(y, cin, c, 3, p, bias=True), f"{p}.relu")
            cin = c
        y = b.node("MaxPool", [y], f"pool{si}", kernel_shape=[2, 2], strides=[2, 2])
    y = b.node("GlobalAveragePool", [y], "avgpool")
    y = b.node("Flatten", [y], "flatten", axis=1)
    y = b.relu(b.gemm(y, cin, fc, "fc1"), "fc1.relu")
    y = b.relu(b.gemm(y, fc, fc, "fc2"), "fc2.relu")
    b.nodes.append(
        helper.make_node(
            "Gemm",
            [
                y,
                b.weight("fc3.weight", (num_classes, fc), fc),
                b.small("fc3.bias", (num_classes,)),
            ],
            ["logits"],
            name="fc3",
            transB=1,
        )
    )
    b.output("logits", (1, num_classes))
    return b.model()


def bert_base_block(seed: int = 0, seq: int = 128) -> onnx.ModelProto:
    """One BERT-base encoder block (d_model 768, 12 heads, d_ff 3072) on a
    ``1 x seq x 768`` input: :func:`transformer_block` at full size."""
    return transformer_block(seed, seq=seq, d_model=768, heads=12, d_ff=3072)


# --------------------------------------------------------------------------- #
# Small graphs for the lit tests
# --------------------------------------------------------------------------- #


def conv_bn_model(seed: int = 0) -> onnx.ModelProto:
    """Strided padded conv + BN (folded) + ReLU, a depthwise conv with bias, a
    standalone BN, flatten and a Gemm with transB, alpha and beta."""
    b = GraphBuilder("conv_bn", seed)
    x = b.input("x", (1, 2, 6, 6))
    y = b.conv(x, 2, 4, 3, "conv", stride=2, pad=1)
    y = b.relu(b.bn(y, 4, "bn"), "relu")  # 1x4x3x3
    y = b.conv(y, 4, 4, 3, "dw", group=4, bias=True, pad=1)
    y = b.bn(b.node("Relu", [y], "relu_dw"), 4, "bn_alone")
    y = b.node("Flatten", [y], "flatten", axis=1)  # 1x36
    b.nodes.append(
        helper.make_node(
            "Gemm",
            [y, b.weight("fc.weight", (3, 36), 36), b.small("fc.bias", (3,))],
            ["y"],
            name="fc",
            transB=1,
            alpha=0.5,
            beta=2.0,
        )
    )
    b.output("y", (1, 3))
    return b.model()


def matmul_model(seed: int = 0) -> onnx.ModelProto:
    """Weight-broadcast and batched MatMuls, Softmax, Transpose, Concat and reduces."""
    b = GraphBuilder("matmul", seed)
    x = b.input("x", (2, 4, 8))
    w = b.weight("w", (8, 6), 8)
    y = b.node("MatMul", [x, w], "proj")  # 2x4x6
    yt = b.node("Transpose", [y], "proj_t", perm=[0, 2, 1])  # 2x6x4
    s = b.node("MatMul", [y, yt], "scores")  # 2x4x4
    a = b.node("Softmax", [s], "softmax", axis=-1)
    c = b.node("MatMul", [a, y], "context")  # 2x4x6
    cat = b.node("Concat", [c, y], "concat", axis=-1)  # 2x4x12
    m = b.node(
        "ReduceSum", [cat, b.const("axes", np.array([1], np.int64))], "rsum", keepdims=0
    )
    b.nodes.append(helper.make_node("Sigmoid", [m], ["out"], name="sigmoid"))
    b.output("out", (2, 12))
    return b.model()


def lit_models() -> dict[str, onnx.ModelProto]:
    """The ONNX inputs of the frontend lit tests, by file stem."""
    return {"conv_bn": conv_bn_model(), "matmul": matmul_model()}
