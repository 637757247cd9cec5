// RUN: MIREDO_VERIFY_DIAG

// One case per verifier rule of the nest dialect; every message starts with the
// ONNX node name.

func.func @f() {
  %w = nest.weight "" : memref<4xf32>
  func.return
}
// CHECK: '': weight name must not be empty

// -----

func.func @f() {
  %w = "nest.weight"() <{node = "k", value = dense<[1.0, 2.0]> : memref<2xf32>}> : () -> memref<3xf32>
  func.return
}
// CHECK: 'k': inline value has type memref<2xf32> but the result is memref<3xf32>

// -----

func.func @f() {
  %w = nest.weight "w" : memref<?x4xf32>
  func.return
}
// CHECK: 'w': result must have a static shape with positive dims, got memref<?x4xf32>

// -----

func.func @f(%x: memref<1x3x8x8xf32>, %w: memref<4x3x3x3xf32>, %y: memref<1x4x8x8xf32>) {
  nest.contract "conv1" dense dims<N=1, G=1, K=4, C=3, P=8, Q=8, R=3, S=3> stride [1, 1] dilation [1, 1] pad [1, 1, 1, 1] ins(%x[n, g * 3 + c, p + r - 1, q + s - 1], %w[g * 4 + k, c, r, s]) outs(%y[n, g * 4 + k, p, q]) : memref<1x3x8x8xf32>, memref<4x3x3x3xf32> -> memref<1x4x8x8xf32>
  func.return
}
// CHECK: 'conv1': unknown kind 'dense', expected one of conv, gemm, matmul

// -----

func.func @f(%x: memref<1x3x8x8xf32>, %w: memref<4x3x3x3xf32>, %y: memref<1x4x8x8xf32>) {
  nest.contract "conv1" conv dims<N=1, G=0, K=4, C=3, P=8, Q=8, R=3, S=3> stride [1, 1] dilation [1, 1] pad [1, 1, 1, 1] ins(%x[n, g * 3 + c, p + r - 1, q + s - 1], %w[g * 4 + k, c, r, s]) outs(%y[n, g * 4 + k, p, q]) : memref<1x3x8x8xf32>, memref<4x3x3x3xf32> -> memref<1x4x8x8xf32>
  func.return
}
// CHECK: 'conv1': all dims must be >= 1, got <N=1, G=0, K=4, C=3, P=8, Q=8, R=3, S=3>

// -----

func.func @f(%x: memref<1x3x8x8xf32>, %w: memref<4x3x3x3xf32>, %y: memref<1x4x8x8xf32>) {
  nest.contract "conv1" conv dims<N=1, G=1, K=4, C=3, P=8, Q=8, R=3, S=3> stride [0, 1] dilation [1, 1] pad [1, 1, 1, 1] ins(%x[n, g * 3 + c, p + r - 1, q + s - 1], %w[g * 4 + k, c, r, s]) outs(%y[n, g * 4 + k, p, q]) : memref<1x3x8x8xf32>, memref<4x3x3x3xf32> -> memref<1x4x8x8xf32>
  func.return
}
// CHECK: 'conv1': stride values must be >= 1, got [0, 1]

// -----

func.func @f(%x: memref<1x3x8x8xf32>, %w: memref<4x3x3x3xf32>, %y: memref<1x4x8x8xf32>) {
  nest.contract "conv1" conv dims<N=1, G=1, K=4, C=3, P=8, Q=8, R=3, S=3> stride [1, 1] dilation [1] pad [1, 1, 1, 1] ins(%x[n, g * 3 + c, p + r - 1, q + s - 1], %w[g * 4 + k, c, r, s]) outs(%y[n, g * 4 + k, p, q]) : memref<1x3x8x8xf32>, memref<4x3x3x3xf32> -> memref<1x4x8x8xf32>
  func.return
}
// CHECK: 'conv1': dilation needs 2 values, got [1]

// -----

func.func @f(%x: memref<1x3x8x8xf32>, %w: memref<4x3x3x3xf32>, %y: memref<1x4x8x8xf32>) {
  nest.contract "conv1" conv dims<N=1, G=1, K=4, C=3, P=8, Q=8, R=3, S=3> stride [1, 1] dilation [1, 1] pad [1, -1, 1, 1] ins(%x[n, g * 3 + c, p + r - 1, q + s - 1], %w[g * 4 + k, c, r, s]) outs(%y[n, g * 4 + k, p, q]) : memref<1x3x8x8xf32>, memref<4x3x3x3xf32> -> memref<1x4x8x8xf32>
  func.return
}
// CHECK: 'conv1': pad values must be >= 0, got [1, -1, 1, 1]

// -----

func.func @f(%x: memref<1x3x8x8xf32>, %w: memref<4x3x3x3xf32>, %y: memref<1x4x8x8xf32>, %b: memref<4xf32>) {
  "nest.contract"(%x, %w, %b, %y) <{node = "conv1", kind = "conv", dims = #nest.dims<N=1, G=1, K=4, C=3, P=8, Q=8, R=3, S=3>, stride = array<i64: 1, 1>, dilation = array<i64: 1, 1>, pad = array<i64: 1, 1, 1, 1>, alpha = 1.0 : f64, beta = 1.0 : f64, map_i = affine_map<(n, g, k, c, p, q, r, s) -> (n, g * 3 + c, p + r - 1, q + s - 1)>, map_w = affine_map<(n, g, k, c, p, q, r, s) -> (k, c, r, s)>, map_o = affine_map<(n, g, k, c, p, q, r, s) -> (n, k, p, q)>}> : (memref<1x3x8x8xf32>, memref<4x3x3x3xf32>, memref<4xf32>, memref<1x4x8x8xf32>) -> ()
  func.return
}
// CHECK: 'conv1': a bias operand and a bias map ('map_b') go together

// -----

func.func @f(%x: memref<1x3x8x8xf32>, %w: memref<4x3x3x3xf32>, %y: memref<1x4x8x8xf32>) {
  "nest.contract"(%x, %w, %y) <{node = "conv1", kind = "conv", dims = #nest.dims<N=1, G=1, K=4, C=3, P=8, Q=8, R=3, S=3>, stride = array<i64: 1, 1>, dilation = array<i64: 1, 1>, pad = array<i64: 1, 1, 1, 1>, alpha = 1.0 : f64, beta = 1.0 : f64, map_i = affine_map<(n, g, k, c, p, q, r, s) -> (n, g * 3 + c, p + r - 1, q + s - 1)>, map_w = affine_map<(n, g, k, c, p, q, r, s) -> (k floordiv 2, c, r, s)>, map_o = affine_map<(n, g, k, c, p, q, r, s) -> (n, k, p, q)>}> : (memref<1x3x8x8xf32>, memref<4x3x3x3xf32>, memref<1x4x8x8xf32>) -> ()
  func.return
}
// CHECK: 'conv1': W map: '(d2 floordiv 2)' is not linear in (n, g, k, c, p, q, r, s)

// -----

func.func @f(%x: memref<1x3x8x8xf32>, %w: memref<4x3x3x3xf32>, %y: memref<1x4x8x8xf32>) {
  "nest.contract"(%x, %w, %y) <{node = "conv1", kind = "conv", dims = #nest.dims<N=1, G=1, K=4, C=3, P=8, Q=8, R=3, S=3>, stride = array<i64: 1, 1>, dilation = array<i64: 1, 1>, pad = array<i64: 1, 1, 1, 1>, alpha = 1.0 : f64, beta = 1.0 : f64, map_i = affine_map<(n, g, k, c, p, q, r, s) -> (n, g * 3 + c, p + r - 1, q + s - 1)>, map_w = affine_map<(n, g, k, c, p, q, r, s) -> (k, c, r, s)>, map_o = affine_map<(n, k, p, q) -> (n, k, p, q)>}> : (memref<1x3x8x8xf32>, memref<4x3x3x3xf32>, memref<1x4x8x8xf32>) -> ()
  func.return
}
// CHECK: 'conv1': O map: access map must have 8 dims (n, g, k, c, p, q, r, s) and no symbols, got 4 dims and 0 symbols

// -----

func.func @f(%x: memref<1x3x8x8xf32>, %w: memref<4x3x3x3xf32>, %y: memref<1x4x8x8xf32>) {
  nest.contract "conv1" conv dims<N=1, G=1, K=4, C=3, P=8, Q=8, R=3, S=3> stride [1, 1] dilation [1, 1] pad [1, 1, 1, 1] ins(%x[n, g * 3 + c, p + r - 1, q + s - 1], %w[g * 4 + k, c, r]) outs(%y[n, g * 4 + k, p, q]) : memref<1x3x8x8xf32>, memref<4x3x3x3xf32> -> memref<1x4x8x8xf32>
  func.return
}
// CHECK: 'conv1': W map has 3 results but W has rank 4

// -----

func.func @f(%x: memref<1x3x8x8xf32>, %w: memref<4x3x3x3xf32>, %y: memref<1x4x8x8xf32>) {
  nest.contract "conv1" conv dims<N=1, G=1, K=4, C=3, P=8, Q=8, R=3, S=3> stride [1, 1] dilation [1, 1] pad [1, 1, 1, 1] ins(%x[n, g * 3 + c, p + r - 1, q + s - 1], %w[g * 4 + k, c, r, s]) outs(%y[n, g * 4 + k + c, p, q]) : memref<1x3x8x8xf32>, memref<4x3x3x3xf32> -> memref<1x4x8x8xf32>
  func.return
}
// CHECK: 'conv1': O map must not use the reduction dims, uses C

// -----

func.func @f(%x: memref<1x3x8x8xf32>, %w: memref<4x3x3x3xf32>, %y: memref<1x4x8x8xf32>, %b: memref<6xf32>) {
  nest.contract "conv1" conv dims<N=1, G=1, K=4, C=3, P=8, Q=8, R=3, S=3> stride [1, 1] dilation [1, 1] pad [1, 1, 1, 1] ins(%x[n, g * 3 + c, p + r - 1, q + s - 1], %w[g * 4 + k, c, r, s]) bias(%b[k + r]) outs(%y[n, g * 4 + k, p, q]) : memref<1x3x8x8xf32>, memref<4x3x3x3xf32>, memref<6xf32> -> memref<1x4x8x8xf32>
  func.return
}
// CHECK: 'conv1': B map must not use the reduction dims, uses R

// -----

func.func @f(%a: memref<2x3xf32>, %b: memref<3x4xf32>, %o: memref<2x4xf32>) {
  nest.contract "mm" matmul dims<N=1, G=1, K=4, C=3, P=2, Q=1, R=1, S=1> stride [2, 1] ins(%a[p, c], %b[c, k]) outs(%o[p, k]) : memref<2x3xf32>, memref<3x4xf32> -> memref<2x4xf32>
  func.return
}
// CHECK: 'mm': matmul must have unit stride and dilation and no padding

// -----

func.func @f(%x: memref<3x8x8xf32>, %w: memref<4x3x3x3xf32>, %y: memref<1x4x8x8xf32>) {
  nest.contract "conv1" conv dims<N=1, G=1, K=4, C=3, P=8, Q=8, R=3, S=3> stride [1, 1] dilation [1, 1] pad [1, 1, 1, 1] ins(%x[g * 3 + c, p + r - 1, q + s - 1], %w[g * 4 + k, c, r, s]) outs(%y[n, g * 4 + k, p, q]) : memref<3x8x8xf32>, memref<4x3x3x3xf32> -> memref<1x4x8x8xf32>
  func.return
}
// CHECK: 'conv1': conv input must have rank 4, got 3x8x8

// -----

func.func @f(%x: memref<1x5x8x8xf32>, %w: memref<4x3x3x3xf32>, %y: memref<1x4x8x8xf32>) {
  nest.contract "conv1" conv dims<N=1, G=2, K=2, C=3, P=8, Q=8, R=3, S=3> stride [1, 1] dilation [1, 1] pad [1, 1, 1, 1] ins(%x[n, g * 3 + c, p + r - 1, q + s - 1], %w[g * 2 + k, c, r, s]) outs(%y[n, g * 2 + k, p, q]) : memref<1x5x8x8xf32>, memref<4x3x3x3xf32> -> memref<1x4x8x8xf32>
  func.return
}
// CHECK: 'conv1': input has 5 channels, not G*C = 2*3 (channels must divide into G groups)

// -----

func.func @f(%x: memref<1x3x8x8xf32>, %w: memref<4x3x3x3xf32>, %y: memref<1x4x8x8xf32>) {
  nest.contract "conv1" conv dims<N=1, G=1, K=2, C=3, P=8, Q=8, R=3, S=3> stride [1, 1] dilation [1, 1] pad [1, 1, 1, 1] ins(%x[n, g * 3 + c, p + r - 1, q + s - 1], %w[g * 4 + k, c, r, s]) outs(%y[n, g * 4 + k, p, q]) : memref<1x3x8x8xf32>, memref<4x3x3x3xf32> -> memref<1x4x8x8xf32>
  func.return
}
// CHECK: 'conv1': output has 4 channels, not G*K = 1*2 (output channels must divide into G groups)

// -----

func.func @f(%x: memref<1x3x8x8xf32>, %w: memref<4x3x3x3xf32>, %y: memref<1x4x8x8xf32>) {
  nest.contract "conv1" conv dims<N=1, G=1, K=4, C=3, P=8, Q=8, R=1, S=3> stride [1, 1] dilation [1, 1] pad [1, 1, 1, 1] ins(%x[n, g * 3 + c, p + r, q + s - 1], %w[g * 4 + k, c, r, s]) outs(%y[n, g * 4 + k, p, q]) : memref<1x3x8x8xf32>, memref<4x3x3x3xf32> -> memref<1x4x8x8xf32>
  func.return
}
// CHECK: 'conv1': weight shape 4x3x3x3 does not match dims, expected 4x3x1x3 (G*K x C x R x S)

// -----

func.func @f(%x: memref<1x3x8x8xf32>, %w: memref<4x3x3x3xf32>, %y: memref<1x4x8x8xf32>) {
  nest.contract "conv1" conv dims<N=1, G=1, K=4, C=3, P=7, Q=8, R=3, S=3> stride [1, 1] dilation [1, 1] pad [1, 1, 1, 1] ins(%x[n, g * 3 + c, p + r - 1, q + s - 1], %w[g * 4 + k, c, r, s]) outs(%y[n, g * 4 + k, p, q]) : memref<1x3x8x8xf32>, memref<4x3x3x3xf32> -> memref<1x4x8x8xf32>
  func.return
}
// CHECK: 'conv1': output shape 1x4x8x8 does not match dims, expected 1x4x7x8 (N x G*K x P x Q)

// -----

func.func @f(%x: memref<2x3x8x8xf32>, %w: memref<4x3x3x3xf32>, %y: memref<1x4x8x8xf32>) {
  nest.contract "conv1" conv dims<N=1, G=1, K=4, C=3, P=8, Q=8, R=3, S=3> stride [1, 1] dilation [1, 1] pad [1, 1, 1, 1] ins(%x[n, g * 3 + c, p + r - 1, q + s - 1], %w[g * 4 + k, c, r, s]) outs(%y[n, g * 4 + k, p, q]) : memref<2x3x8x8xf32>, memref<4x3x3x3xf32> -> memref<1x4x8x8xf32>
  func.return
}
// CHECK: 'conv1': input batch 2 differs from N=1

// -----

func.func @f(%x: memref<1x3x8x8xf32>, %w: memref<4x3x3x3xf32>, %y: memref<1x4x8x8xf32>) {
  nest.contract "conv1" conv dims<N=1, G=1, K=4, C=3, P=8, Q=8, R=3, S=3> stride [1, 1] dilation [1, 1] pad [0, 0, 0, 0] ins(%x[n, g * 3 + c, p + r, q + s], %w[g * 4 + k, c, r, s]) outs(%y[n, g * 4 + k, p, q]) : memref<1x3x8x8xf32>, memref<4x3x3x3xf32> -> memref<1x4x8x8xf32>
  func.return
}
// CHECK: 'conv1': P=8 but input extent 8, kernel 3, stride 1, dilation 1, pads 0+0 give 6

// -----

func.func @f(%a: memref<2x3xf32>, %b: memref<3x4xf32>, %o: memref<2x4xf32>) {
  nest.contract "fc" gemm dims<N=1, G=1, K=4, C=3, P=2, Q=2, R=1, S=1> ins(%a[p, c], %b[c, k]) outs(%o[p, k]) : memref<2x3xf32>, memref<3x4xf32> -> memref<2x4xf32>
  func.return
}
// CHECK: 'fc': gemm must have Q=1, got <N=1, G=1, K=4, C=3, P=2, Q=2, R=1, S=1>

// -----

func.func @f(%a: memref<2x2x3xf32>, %b: memref<3x4xf32>, %o: memref<2x2x4xf32>) {
  nest.contract "fc" gemm dims<N=2, G=1, K=4, C=3, P=2, Q=1, R=1, S=1> ins(%a[n, p, c], %b[c, k]) outs(%o[n, p, k]) : memref<2x2x3xf32>, memref<3x4xf32> -> memref<2x2x4xf32>
  func.return
}
// CHECK: 'fc': gemm must have N=1 and G=1, got <N=2, G=1, K=4, C=3, P=2, Q=1, R=1, S=1>

// -----

func.func @f(%a: memref<1x2x3xf32>, %b: memref<3x4xf32>, %o: memref<2x4xf32>) {
  nest.contract "fc" gemm dims<N=1, G=1, K=4, C=3, P=2, Q=1, R=1, S=1> ins(%a[n, p, c], %b[c, k]) outs(%o[p, k]) : memref<1x2x3xf32>, memref<3x4xf32> -> memref<2x4xf32>
  func.return
}
// CHECK: 'fc': gemm input must have rank 2, got 1x2x3

// -----

func.func @f(%a: memref<2x3xf32>, %b: memref<3x4xf32>, %o: memref<4x2xf32>) {
  nest.contract "fc" gemm dims<N=1, G=1, K=4, C=3, P=2, Q=1, R=1, S=1> ins(%a[p, c], %b[c, k]) outs(%o[k, p]) : memref<2x3xf32>, memref<3x4xf32> -> memref<4x2xf32>
  func.return
}
// CHECK: 'fc': output shape 4x2 does not match dims, expected 2x4 (P x K)

// -----

func.func @f(%a: memref<2x3xf32>, %b: memref<3x4xf16>, %o: memref<2x4xf32>) {
  nest.contract "fc" gemm dims<N=1, G=1, K=4, C=3, P=2, Q=1, R=1, S=1> ins(%a[p, c], %b[c, k]) outs(%o[p, k]) : memref<2x3xf32>, memref<3x4xf16> -> memref<2x4xf32>
  func.return
}
// CHECK: 'fc': float operands must share one element type, got I: f32, W: f16, O: f32

// -----

func.func @f(%a: memref<2x3xi8>, %b: memref<3x4xi16>, %o: memref<2x4xi8>) {
  nest.contract "mmi" matmul dims<N=1, G=1, K=4, C=3, P=2, Q=1, R=1, S=1> ins(%a[p, c], %b[c, k]) outs(%o[p, k]) : memref<2x3xi8>, memref<3x4xi16> -> memref<2x4xi8>
  func.return
}
// CHECK: 'mmi': integer output type i8 is narrower than the inputs (i8, i16)

// -----

func.func @f(%a: memref<2x3xi8>, %b: memref<3x4xi8>, %c: memref<4xi8>, %o: memref<2x4xi32>) {
  nest.contract "mmi" matmul dims<N=1, G=1, K=4, C=3, P=2, Q=1, R=1, S=1> ins(%a[p, c], %b[c, k]) bias(%c[k]) outs(%o[p, k]) : memref<2x3xi8>, memref<3x4xi8>, memref<4xi8> -> memref<2x4xi32>
  func.return
}
// CHECK: 'mmi': integer bias type i8 must equal the output type i32

// -----

func.func @f(%x: memref<1x3x8x8xf32>, %w: memref<4x3x3x3xf32>, %y: memref<1x4x8x8xf32>) {
  nest.contract "conv1" conv dims<N=1, G=1, K=4, C=3, P=8, Q=8, R=3, S=3> stride [1, 1] dilation [1, 1] pad [1, 1, 1, 1] ins(%x[n, g * 3 + c, p + r - 2, q + s - 1], %w[g * 4 + k, c, r, s]) outs(%y[n, g * 4 + k, p, q]) : memref<1x3x8x8xf32>, memref<4x3x3x3xf32> -> memref<1x4x8x8xf32>
  func.return
}
// CHECK: 'conv1': I access 'p + r - 2' (dim 2) spans [-2, 7] but I has extent 8 (after padding); the dims <N=1, G=1, K=4, C=3, P=8, Q=8, R=3, S=3> do not fit I's shape 1x3x8x8

// -----

func.func @f(%a: memref<2x3xf32>, %b: memref<3x4xf32>, %o: memref<2x4xf32>) {
  nest.contract "mm" matmul dims<N=1, G=1, K=4, C=3, P=2, Q=1, R=1, S=1> ins(%a[p, c], %b[c + 1, k]) outs(%o[p, k]) : memref<2x3xf32>, memref<3x4xf32> -> memref<2x4xf32>
  func.return
}
// CHECK: 'mm': W access 'c + 1' (dim 0) spans [1, 3] but W has extent 3; the dims <N=1, G=1, K=4, C=3, P=2, Q=1, R=1, S=1> do not fit W's shape 3x4

// -----

func.func @f(%a: memref<2x3xf32>, %b: memref<3x4xf32>, %o: memref<2x5xf32>) {
  nest.contract "mm" matmul dims<N=1, G=1, K=4, C=3, P=2, Q=1, R=1, S=1> ins(%a[p, c], %b[c, k]) outs(%o[p, k]) : memref<2x3xf32>, memref<3x4xf32> -> memref<2x5xf32>
  func.return
}
// CHECK: 'mm': O access 'k' (dim 1) spans [0, 3], must cover the output extent 5 exactly

// -----

func.func @f(%a: memref<2x3xf32>, %b: memref<3x3xf32>, %o: memref<4xf32>) {
  nest.contract "mm" matmul dims<N=1, G=1, K=3, C=3, P=2, Q=1, R=1, S=1> ins(%a[p, c], %b[c, k]) outs(%o[p + k]) : memref<2x3xf32>, memref<3x3xf32> -> memref<4xf32>
  func.return
}
// CHECK: 'mm': the output dims <N=1, G=1, K=3, C=3, P=2, Q=1, R=1, S=1> give 6 output points but O has shape 4 (4 elements)

// -----

func.func @f(%a: memref<2x3xf32>, %b: memref<3xf32>, %o: memref<2x3xf32>) {
  nest.elementwise "e" silu ins(%a) outs(%o) : memref<2x3xf32> -> memref<2x3xf32>
  func.return
}
// CHECK: 'e': unknown elementwise function 'silu', expected one of relu, clip, sigmoid, tanh, erf, exp, sqrt, neg, abs, reciprocal, gelu, add, sub, mul, div, pow, max, min

// -----

func.func @f(%a: memref<2x3xf32>, %b: memref<3xf32>, %o: memref<2x3xf32>) {
  nest.elementwise "e" add ins(%a) outs(%o) : memref<2x3xf32> -> memref<2x3xf32>
  func.return
}
// CHECK: 'e': 'add' takes 2 input(s), got 1

// -----

func.func @f(%a: memref<2x3xf32>, %b: memref<3xf32>, %o: memref<2x3xf32>, %c: memref<2xf32>) {
  nest.elementwise "e" mul ins(%a, %c) outs(%o) : memref<2x3xf32>, memref<2xf32> -> memref<2x3xf32>
  func.return
}
// CHECK: 'e': input 1 of shape 2 does not broadcast to the output shape 2x3

// -----

func.func @f(%a: memref<2x3xf32>, %b: memref<3xf32>, %o: memref<2x3xf32>, %h: memref<2x3xf16>) {
  nest.elementwise "e" relu ins(%h) outs(%o) : memref<2x3xf16> -> memref<2x3xf32>
  func.return
}
// CHECK: 'e': input 0 element type f16 differs from output element type f32

// -----

func.func @f(%a: memref<2x3xf32>, %b: memref<3xf32>, %o: memref<2x3xf32>) {
  "nest.elementwise"(%a, %o) <{node = "e", fn = "relu", min = 0.0 : f64}> : (memref<2x3xf32>, memref<2x3xf32>) -> ()
  func.return
}
// CHECK: 'e': min/max are only allowed on 'clip', not on 'relu'


// -----

func.func @f(%a: memref<2x3xf32>, %b: memref<3xf32>, %o: memref<2x3xf32>) {
  nest.elementwise "e" erf(tanh) ins(%a) outs(%o) : memref<2x3xf32> -> memref<2x3xf32>
  func.return
}
// CHECK: 'e': 'approximate' is only allowed on 'gelu', not on 'erf'

// -----

func.func @f(%a: memref<2x3xf32>, %b: memref<3xf32>, %o: memref<2x3xf32>) {
  nest.elementwise "e" gelu(fast) ins(%a) outs(%o) : memref<2x3xf32> -> memref<2x3xf32>
  func.return
}
// CHECK: 'e': gelu approximate must be none or tanh, got 'fast'

// -----

func.func @f(%x: memref<1x2x8x8xf32>, %y: memref<1x2x4x4xf32>) {
  nest.pool "p" lp kernel [2, 2] stride [2, 2] pad [0, 0, 0, 0] ins(%x) outs(%y) : memref<1x2x8x8xf32> -> memref<1x2x4x4xf32>
  func.return
}
// CHECK: 'p': unknown pool kind 'lp', expected max or avg

// -----

func.func @f(%x: memref<1x2x8x8xf32>, %y: memref<1x2x4x4xf32>) {
  nest.pool "p" max kernel [2, 2, 2] stride [2, 2] pad [0, 0, 0, 0] ins(%x) outs(%y) : memref<1x2x8x8xf32> -> memref<1x2x4x4xf32>
  func.return
}
// CHECK: 'p': kernel needs 2 values, got [2, 2, 2]

// -----

func.func @f(%x: memref<1x2x8x8xf32>, %y: memref<1x2x4x4xf32>) {
  nest.pool "p" max kernel [2, 2] stride [2, 2] pad [0, 0, 0, 0] count_include_pad ins(%x) outs(%y) : memref<1x2x8x8xf32> -> memref<1x2x4x4xf32>
  func.return
}
// CHECK: 'p': count_include_pad is only allowed on avg pools

// -----

func.func @f(%x: memref<2x8x8xf32>, %y: memref<2x4x4xf32>) {
  nest.pool "p" max kernel [2, 2] stride [2, 2] pad [0, 0, 0, 0] ins(%x) outs(%y) : memref<2x8x8xf32> -> memref<2x4x4xf32>
  func.return
}
// CHECK: 'p': pool needs rank-4 (NCHW) buffers, got 2x8x8 -> 2x4x4

// -----

func.func @f(%x: memref<1x2x8x8xf32>, %y: memref<1x2x4x4xf32>) {
  nest.pool "p" max kernel [3, 3] stride [2, 2] pad [0, 0, 0, 0] ins(%x) outs(%y) : memref<1x2x8x8xf32> -> memref<1x2x4x4xf32>
  func.return
}
// CHECK: 'p': output shape 1x2x4x4 does not match the pooling of 1x2x8x8 with kernel [3, 3], stride [2, 2], dilation [1, 1], pad [0, 0, 0, 0]: expected 1x2x3x3

// -----

func.func @f(%a: memref<2x3xf32>, %b: memref<3xf32>, %o: memref<2x3xf32>) {
  nest.softmax "s" axis 2 ins(%a) outs(%o) : memref<2x3xf32> -> memref<2x3xf32>
  func.return
}
// CHECK: 's': axis 2 is out of range for rank 2

// -----

func.func @f(%a: memref<2x3xf32>, %b: memref<3xf32>, %o: memref<2x3xf32>, %t: memref<3x2xf32>) {
  nest.softmax "s" axis 1 ins(%a) outs(%t) : memref<2x3xf32> -> memref<3x2xf32>
  func.return
}
// CHECK: 's': output shape 3x2 differs from input shape 2x3

// -----

func.func @f(%i: memref<2x3xi32>) {
  nest.softmax "s" axis 1 ins(%i) outs(%i) : memref<2x3xi32> -> memref<2x3xi32>
  func.return
}
// CHECK: 's': softmax needs a float type, got i32

// -----

func.func @f(%a: memref<2x3xf32>, %b: memref<3xf32>, %o: memref<2x3xf32>) {
  nest.layernorm "ln" axis -1 epsilon 1.0e-05 ins(%a, %b) outs(%o) : memref<2x3xf32>, memref<3xf32> -> memref<2x3xf32>
  func.return
}
// CHECK: 'ln': axis -1 is out of range for rank 2

// -----

func.func @f(%a: memref<2x3xf32>, %b: memref<3xf32>, %o: memref<2x3xf32>, %t: memref<3x2xf32>) {
  nest.layernorm "ln" axis 1 epsilon 1.0e-05 ins(%a, %b) outs(%t) : memref<2x3xf32>, memref<3xf32> -> memref<3x2xf32>
  func.return
}
// CHECK: 'ln': output shape 3x2 differs from input shape 2x3

// -----

func.func @f(%a: memref<2x3xf32>, %b: memref<3xf32>, %o: memref<2x3xf32>, %c: memref<2xf32>) {
  nest.layernorm "ln" axis 1 epsilon 1.0e-05 ins(%a, %b, %c) outs(%o) : memref<2x3xf32>, memref<3xf32>, memref<2xf32> -> memref<2x3xf32>
  func.return
}
// CHECK: 'ln': bias of shape 2 does not broadcast to the input shape 2x3

// -----

func.func @f(%a: memref<2x3xf32>, %b: memref<3xf32>, %o: memref<2x3xf32>) {
  nest.layernorm "ln" axis 1 epsilon 0.0 ins(%a, %b) outs(%o) : memref<2x3xf32>, memref<3xf32> -> memref<2x3xf32>
  func.return
}
// CHECK: 'ln': epsilon must be positive, got 0.0

// -----

func.func @f(%i: memref<2x3xi32>, %j: memref<3xi32>) {
  nest.layernorm "ln" axis 1 epsilon 1.0e-05 ins(%i, %j) outs(%i) : memref<2x3xi32>, memref<3xi32> -> memref<2x3xi32>
  func.return
}
// CHECK: 'ln': layernorm needs a float type, got i32

// -----

func.func @f(%a: memref<2x3xf32>, %b: memref<3xf32>, %o: memref<2x3xf32>, %c: memref<2xf32>) {
  nest.reduce "r" prod axes [1] ins(%a) outs(%c) : memref<2x3xf32> -> memref<2xf32>
  func.return
}
// CHECK: 'r': unknown reduction 'prod', expected one of mean, sum, max

// -----

func.func @f(%a: memref<2x3xf32>, %b: memref<3xf32>, %o: memref<2x3xf32>) {
  nest.reduce "r" sum axes [] ins(%a) outs(%o) : memref<2x3xf32> -> memref<2x3xf32>
  func.return
}
// CHECK: 'r': axes must not be empty

// -----

func.func @f(%a: memref<2x3xf32>, %b: memref<3xf32>, %o: memref<2x3xf32>, %c: memref<f32>) {
  nest.reduce "r" sum axes [1, 0] ins(%a) outs(%c) : memref<2x3xf32> -> memref<f32>
  func.return
}
// CHECK: 'r': axes [1, 0] must be increasing, unique and in [0, 2)

// -----

func.func @f(%a: memref<2x3xf32>, %b: memref<3xf32>, %o: memref<2x3xf32>, %c: memref<2xf32>) {
  nest.reduce "r" max axes [1] keepdims ins(%a) outs(%c) : memref<2x3xf32> -> memref<2xf32>
  func.return
}
// CHECK: 'r': output shape 2 does not match reducing 2x3 over axes [1] with keepdims: expected 2x1

// -----

func.func @f(%a: memref<2x3xf32>, %b: memref<3xf32>, %o: memref<2x3xf32>, %c: memref<7xf32>) {
  nest.reshape "rs" ins(%a) outs(%c) : memref<2x3xf32> -> memref<7xf32>
  func.return
}
// CHECK: 'rs': cannot reshape 2x3 (6 elements) into 7 (7 elements)

// -----

func.func @f(%a: memref<2x3xf32>, %b: memref<3xf32>, %o: memref<2x3xf32>, %c: memref<6xf16>) {
  nest.reshape "rs" ins(%a) outs(%c) : memref<2x3xf32> -> memref<6xf16>
  func.return
}
// CHECK: 'rs': output element type f16 differs from input element type f32

// -----

func.func @f(%a: memref<2x3xf32>, %b: memref<3xf32>, %o: memref<2x3xf32>) {
  nest.transpose "t" perm [0, 0] ins(%a) outs(%o) : memref<2x3xf32> -> memref<2x3xf32>
  func.return
}
// CHECK: 't': perm [0, 0] is not a permutation of the 2 axes

// -----

func.func @f(%a: memref<2x3xf32>, %b: memref<3xf32>, %o: memref<2x3xf32>) {
  nest.transpose "t" perm [1, 0] ins(%a) outs(%o) : memref<2x3xf32> -> memref<2x3xf32>
  func.return
}
// CHECK: 't': output shape 2x3 does not match transposing 2x3 by [1, 0]: expected 3x2

// -----

func.func @f(%a: memref<2x3xf32>, %b: memref<3xf32>, %o: memref<2x3xf32>, %c: memref<2x6xf32>) {
  nest.concat "cat" axis 2 ins(%a, %a) outs(%c) : memref<2x3xf32>, memref<2x3xf32> -> memref<2x6xf32>
  func.return
}
// CHECK: 'cat': axis 2 is out of range for rank 2

// -----

func.func @f(%a: memref<2x3xf32>, %b: memref<3xf32>, %o: memref<2x3xf32>, %c: memref<2x6xf32>) {
  nest.concat "cat" axis 1 ins(%a, %b) outs(%c) : memref<2x3xf32>, memref<3xf32> -> memref<2x6xf32>
  func.return
}
// CHECK: 'cat': input 1 of shape 3 does not match the output shape 2x6 outside axis 1

// -----

func.func @f(%a: memref<2x3xf32>, %b: memref<3xf32>, %o: memref<2x3xf32>, %c: memref<2x7xf32>) {
  nest.concat "cat" axis 1 ins(%a, %a) outs(%c) : memref<2x3xf32>, memref<2x3xf32> -> memref<2x7xf32>
  func.return
}
// CHECK: 'cat': the inputs add up to 6 along axis 1 but the output has 7

// -----

func.func @dataflow_bad_factors(%x: memref<1x3x8x8xf32>, %w: memref<4x3x3x3xf32>, %y: memref<1x4x4x4xf32>) {
  nest.contract "conv1" conv dims<N=1, G=1, K=4, C=3, P=4, Q=4, R=3, S=3> stride [2, 2] dilation [1, 1] pad [1, 1, 1, 1] ins(%x[n, g * 3 + c, p * 2 + r - 1, q * 2 + s - 1], %w[g * 4 + k, c, r, s]) outs(%y[n, g * 4 + k, p, q]) {dataflow = #nest.dataflow<arch "tiny", mapper miredo, objective edp, spatial {cores = [K:2], rows = [C:3, R:3], cols = []}, temporal [P:4, S:3, Q:4], levels {I = [DRAM, LB, LB], W = [DRAM, DRAM, Macro], O = [DRAM, LB, OReg]}, bypass {I = [GB], W = [GB], O = [GB]}, double_buffer [LB:I], latency 1234, energy 5678.5, edp 7007269.0, status optimal, gap 0.0>} : memref<1x3x8x8xf32>, memref<4x3x3x3xf32> -> memref<1x4x4x4xf32>
  func.return
}

// CHECK: 'conv1': dataflow: factors of K multiply to 2, but the bound of K is 4
