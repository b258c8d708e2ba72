// RUN: mstream-opt %s --mstream-fuse-preconditioners --split-input-file | FileCheck %s

// A standalone Newton-Schulz: every axis before the trailing H x Dh matrix
// is a token axis, and the body iterates on one token's matrix.
// CHECK-LABEL: func.func @newton_schulz(
// CHECK: %[[R:.*]] = mstream.fused "newton_schulz" tokens [2, 8](%arg0) : (tensor<2x8x4x32xf32>) -> tensor<2x8x4x32xf32> {
// CHECK-NEXT: ^bb0(%[[Z:.*]]: tensor<1x1x4x32xf32>):
// CHECK-NEXT: %[[Y:.*]] = mstream.newton_schulz %[[Z]] : tensor<1x1x4x32xf32>
// CHECK-NEXT: mstream.yield %[[Y]] : tensor<1x1x4x32xf32>
// CHECK: return %[[R]]
func.func @newton_schulz(%z: tensor<2x8x4x32xf32>) -> tensor<2x8x4x32xf32> {
  %y = mstream.newton_schulz %z : tensor<2x8x4x32xf32>
  return %y : tensor<2x8x4x32xf32>
}

// -----

// A soap step: x, m and the per-token Dh x Dh statistics r are per token;
// the raw scalars and the gain are shared.
// CHECK-LABEL: func.func @soap(
// CHECK: mstream.fused "layers.2.attn" tokens [2, 8]
// CHECK-NEXT: ^bb0(%{{.*}}: tensor<1x1x16xf32>, %{{.*}}: tensor<1x1x16xf32>, %{{.*}}: tensor<1x1x4x4xf32>, %{{.*}}: tensor<1x1x16xf32>, %{{.*}}: tensor<1xf32>, %{{.*}}: tensor<1xf32>, %{{.*}}: tensor<1xf32>, %{{.*}}: tensor<16xf32>):
// CHECK-NEXT: mstream.soap
// CHECK-NEXT: mstream.yield
func.func @soap(%x: tensor<2x8x16xf32>, %m: tensor<2x8x16xf32>, %r: tensor<2x8x4x4xf32>, %g: tensor<2x8x16xf32>, %b1: tensor<1xf32>, %br: tensor<1xf32>, %c: tensor<1xf32>, %lnu: tensor<16xf32>) -> (tensor<2x8x16xf32>, tensor<2x8x16xf32>, tensor<2x8x4x4xf32>) {
  %0:3 = mstream.soap x(%x) m(%m) r(%r : tensor<2x8x4x4xf32>) grad(%g) beta1(%b1) beta_r(%br) gamma(%c) ln_u(%lnu) {heads = 4 : i64} : tensor<2x8x16xf32>, tensor<1xf32>, tensor<16xf32> loc("layers.2.attn")
  return %0#0, %0#1, %0#2 : tensor<2x8x16xf32>, tensor<2x8x16xf32>, tensor<2x8x4x4xf32>
}

// -----

// Negative: steps without a matrix iteration, and ops already in a region,
// are left alone.
// CHECK-LABEL: func.func @untouched(
// CHECK-NEXT: mstream.tmm
// CHECK-NEXT: mstream.fused "done"
// CHECK-NEXT: ^bb0
// CHECK-NEXT: mstream.newton_schulz
// CHECK-NEXT: mstream.yield
// CHECK-NEXT: }
// CHECK-NEXT: return
func.func @untouched(%x: tensor<2x8x16xf32>, %v: tensor<2x8x16xf32>, %s: tensor<1xf32>, %w: tensor<16xf32>, %z: tensor<2x8x4x4xf32>) -> (tensor<2x8x16xf32>, tensor<2x8x4x4xf32>) {
  %x1, %v1 = mstream.tmm x(%x) v(%v) grad(%v) beta(%s) gamma(%s) nu(%s) ln_v(%w) : tensor<2x8x16xf32>, tensor<1xf32>, tensor<16xf32>
  %y = mstream.fused "done" tokens [2, 8] (%z) : (tensor<2x8x4x4xf32>) -> tensor<2x8x4x4xf32> {
  ^bb0(%t: tensor<1x1x4x4xf32>):
    %n = mstream.newton_schulz %t : tensor<1x1x4x4xf32>
    mstream.yield %n : tensor<1x1x4x4xf32>
  }
  return %x1, %y : tensor<2x8x16xf32>, tensor<2x8x4x4xf32>
}
