// RUN: not miredo-opt %s --emit=asm 2>&1 | filecheck %s
// RUN: not miredo-opt %s --emit=json -o %t 2>&1 | filecheck %s --check-prefix=FILE
// RUN: not test -e %t

// --emit on a module without a cim.program is one error line and a failure.
func.func @f() {
  func.return
}

// CHECK:      miredo-opt: error: --emit=asm: the module has no cim.program to emit (lower it to the cim dialect first)
// CHECK-NOT:  {{.}}
// FILE:       miredo-opt: error: --emit=json: the module has no cim.program to emit
