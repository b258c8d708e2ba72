// Malformed IR gets a located error and a non-zero exit, never a crash.
// RUN: split-file %s %t
// RUN: not mstream-opt %t/unknown-op.mlir 2>&1 | FileCheck %s --check-prefix=UNKNOWN
// RUN: not mstream-opt %t/missing-keyword.mlir 2>&1 | FileCheck %s --check-prefix=KEYWORD
// RUN: not mstream-opt %t/truncated.mlir 2>&1 | FileCheck %s --check-prefix=TRUNCATED
// RUN: not mstream-opt %t/verifier.mlir 2>&1 | FileCheck %s --check-prefix=VERIFIER

// UNKNOWN: unknown-op.mlir:2:8: error: custom op 'mstream.nesterov_tmm' is unknown
// KEYWORD: missing-keyword.mlir:2:19: error: custom op 'mstream.gd' expected 'x'
// TRUNCATED: truncated.mlir:{{[0-9]+}}:{{[0-9]+}}: error:
// VERIFIER: verifier.mlir:2:10: error: 'mstream.muon' op heads = 3 must be positive and divide the feature width d = 16 of x

//--- unknown-op.mlir
func.func @f(%x: tensor<2x8x16xf32>) {
  %0 = mstream.nesterov_tmm %x : tensor<2x8x16xf32>
  return
}
//--- missing-keyword.mlir
func.func @f(%x: tensor<2x8x16xf32>) {
  %0 = mstream.gd %x, %x : tensor<2x8x16xf32>
  return
}
//--- truncated.mlir
func.func @f(%x: tensor<2x8x16xf32>) {
  %0 = mstream.gd x(%x) grad(
//--- verifier.mlir
func.func @f(%x: tensor<2x8x16xf32>, %c: tensor<1xf32>, %w: tensor<16xf32>) {
  %0:2 = mstream.muon x(%x) m(%x) grad(%x) beta(%c) gamma(%c) ln_u(%w) {heads = 3 : i64} : tensor<2x8x16xf32>, tensor<1xf32>, tensor<16xf32>
  return
}
