// RUN: mstream-opt %s | mstream-opt | FileCheck %s
// RUN: mstream-opt %s --mlir-print-op-generic | mstream-opt | FileCheck %s

// CHECK-LABEL: func.func @model_ops
func.func @model_ops(%ids: tensor<2x8xi32>, %tok: tensor<64x16xf32>,
                     %pos: tensor<32x16xf32>, %gain: tensor<16xf32>,
                     %wqkv: tensor<48x16xf32>, %wo: tensor<16x16xf32>,
                     %w1: tensor<64x16xf32>, %w2: tensor<16x64xf32>)
    -> tensor<f32> {
  // CHECK: %[[X:.*]] = mstream.embedding %{{.*}}, %{{.*}}, %{{.*}} : (tensor<2x8xi32>, tensor<64x16xf32>, tensor<32x16xf32>) -> tensor<2x8x16xf32>
  %x = mstream.embedding %ids, %tok, %pos : (tensor<2x8xi32>, tensor<64x16xf32>, tensor<32x16xf32>) -> tensor<2x8x16xf32>
  // CHECK: %[[H:.*]] = mstream.layer_norm %[[X]], %{{.*}} : tensor<2x8x16xf32>, tensor<16xf32>
  %h = mstream.layer_norm %x, %gain : tensor<2x8x16xf32>, tensor<16xf32>
  // CHECK: mstream.layer_norm %[[X]], %{{.*}} {eps = 1.250000e-01 : f64}
  %h2 = mstream.layer_norm %x, %gain {eps = 0.125 : f64} : tensor<2x8x16xf32>, tensor<16xf32>
  // CHECK: %[[A:.*]] = mstream.attention %[[H]], %{{.*}}, %{{.*}} {heads = 4 : i64} : tensor<2x8x16xf32>, tensor<48x16xf32>, tensor<16x16xf32>
  %a = mstream.attention %h, %wqkv, %wo {heads = 4 : i64} : tensor<2x8x16xf32>, tensor<48x16xf32>, tensor<16x16xf32>
  // CHECK: %[[M:.*]] = mstream.mlp %[[A]], %{{.*}}, %{{.*}} : tensor<2x8x16xf32>, tensor<64x16xf32>, tensor<16x64xf32>
  %m = mstream.mlp %a, %w1, %w2 : tensor<2x8x16xf32>, tensor<64x16xf32>, tensor<16x64xf32>
  // CHECK: %[[L:.*]] = mstream.tied_head %[[M]], %{{.*}} : (tensor<2x8x16xf32>, tensor<64x16xf32>) -> tensor<2x8x64xf32>
  %logits = mstream.tied_head %m, %tok : (tensor<2x8x16xf32>, tensor<64x16xf32>) -> tensor<2x8x64xf32>
  // CHECK: mstream.cross_entropy %[[L]], %{{.*}} : tensor<2x8x64xf32>, tensor<2x8xi32> -> tensor<f32>
  %loss = mstream.cross_entropy %logits, %ids : tensor<2x8x64xf32>, tensor<2x8xi32> -> tensor<f32>
  return %loss : tensor<f32>
}

// CHECK-LABEL: func.func @matrix_ops
func.func @matrix_ops(%z: tensor<2x8x4x4xf32>) -> (tensor<2x8x4x4xf32>, tensor<2x8x4x4xf32>, tensor<2x8x4x4xf32>, tensor<2x8x4x4xf32>) {
  // CHECK: mstream.newton_schulz %{{.*}} : tensor<2x8x4x4xf32>
  %0 = mstream.newton_schulz %z : tensor<2x8x4x4xf32>
  // CHECK: mstream.newton_schulz %{{.*}} {coefficients = array<f64: 2.000000e+00, -1.500000e+00, 5.000000e-01>, iterations = 3 : i64} : tensor<2x8x4x4xf32>
  %1 = mstream.newton_schulz %z {iterations = 3 : i64, coefficients = array<f64: 2.0, -1.5, 0.5>} : tensor<2x8x4x4xf32>
  // CHECK: mstream.inv_sqrt %{{.*}} : tensor<2x8x4x4xf32>
  %2 = mstream.inv_sqrt %z : tensor<2x8x4x4xf32>
  // CHECK: mstream.eye : tensor<2x8x4x4xf32>
  %3 = mstream.eye : tensor<2x8x4x4xf32>
  return %0, %1, %2, %3 : tensor<2x8x4x4xf32>, tensor<2x8x4x4xf32>, tensor<2x8x4x4xf32>, tensor<2x8x4x4xf32>
}

// CHECK-LABEL: func.func @step_ops
func.func @step_ops(%x: tensor<2x8x16xf32>, %s1: tensor<2x8x16xf32>,
                    %s2: tensor<2x8x16xf32>, %g: tensor<2x8x16xf32>,
                    %r: tensor<2x8x4x4xf32>, %c0: tensor<1xf32>,
                    %c1: tensor<1xf32>, %c2: tensor<1xf32>, %c3: tensor<1xf32>,
                    %lam: tensor<f32>, %w: tensor<16xf32>) {
  // CHECK: mstream.lookahead x(%{{.*}}) v(%{{.*}}) mu(%{{.*}}) : tensor<2x8x16xf32>, tensor<1xf32>
  %xt = mstream.lookahead x(%x) v(%s1) mu(%c0) : tensor<2x8x16xf32>, tensor<1xf32>
  // CHECK: mstream.gd x(%{{.*}}) grad(%{{.*}}) : tensor<2x8x16xf32>
  %0 = mstream.gd x(%x) grad(%g) : tensor<2x8x16xf32>
  // CHECK: mstream.heavy_ball x(%{{.*}}) v(%{{.*}}) grad(%{{.*}}) beta(%{{.*}}) gamma(%{{.*}}) ln_v(%{{.*}}) : tensor<2x8x16xf32>, tensor<1xf32>, tensor<16xf32>
  %1:2 = mstream.heavy_ball x(%x) v(%s1) grad(%g) beta(%c0) gamma(%c1) ln_v(%w) : tensor<2x8x16xf32>, tensor<1xf32>, tensor<16xf32>
  // CHECK: mstream.nesterov x(%{{.*}}) v(%{{.*}}) grad(%{{.*}}) beta(%{{.*}}) gamma(%{{.*}}) ln_v(%{{.*}}) {ln_eps = 2.500000e-01 : f64}
  %2:2 = mstream.nesterov x(%x) v(%s1) grad(%g) beta(%c0) gamma(%c1) ln_v(%w) {ln_eps = 0.25 : f64} : tensor<2x8x16xf32>, tensor<1xf32>, tensor<16xf32>
  // CHECK: mstream.tmm x(%{{.*}}) v(%{{.*}}) grad(%{{.*}}) beta(%{{.*}}) gamma(%{{.*}}) nu(%{{.*}}) ln_v(%{{.*}}) : tensor<2x8x16xf32>, tensor<1xf32>, tensor<16xf32>
  %3:2 = mstream.tmm x(%x) v(%s1) grad(%g) beta(%c0) gamma(%c1) nu(%c2) ln_v(%w) : tensor<2x8x16xf32>, tensor<1xf32>, tensor<16xf32>
  // CHECK: mstream.adam x(%{{.*}}) m(%{{.*}}) s(%{{.*}}) grad(%{{.*}}) beta1(%{{.*}}) beta2(%{{.*}}) gamma(%{{.*}}) ln_u(%{{.*}}) : tensor<2x8x16xf32>, tensor<1xf32>, tensor<16xf32>
  %4:3 = mstream.adam x(%x) m(%s1) s(%s2) grad(%g) beta1(%c0) beta2(%c1) gamma(%c2) ln_u(%w) : tensor<2x8x16xf32>, tensor<1xf32>, tensor<16xf32>
  // CHECK: mstream.adamw x(%{{.*}}) m(%{{.*}}) s(%{{.*}}) grad(%{{.*}}) beta1(%{{.*}}) beta2(%{{.*}}) gamma(%{{.*}}) lambda(%{{.*}} : tensor<f32>) ln_u(%{{.*}}) {denom_eps = 5.000000e-01 : f64}
  %5:3 = mstream.adamw x(%x) m(%s1) s(%s2) grad(%g) beta1(%c0) beta2(%c1) gamma(%c2) lambda(%lam : tensor<f32>) ln_u(%w) {denom_eps = 0.5 : f64} : tensor<2x8x16xf32>, tensor<1xf32>, tensor<16xf32>
  // CHECK: mstream.rmsprop x(%{{.*}}) s(%{{.*}}) grad(%{{.*}}) beta2(%{{.*}}) gamma(%{{.*}}) ln_u(%{{.*}}) : tensor<2x8x16xf32>, tensor<1xf32>, tensor<16xf32>
  %6:2 = mstream.rmsprop x(%x) s(%s2) grad(%g) beta2(%c0) gamma(%c1) ln_u(%w) : tensor<2x8x16xf32>, tensor<1xf32>, tensor<16xf32>
  // CHECK: mstream.muon x(%{{.*}}) m(%{{.*}}) grad(%{{.*}}) beta(%{{.*}}) gamma(%{{.*}}) ln_u(%{{.*}}) {heads = 4 : i64} : tensor<2x8x16xf32>, tensor<1xf32>, tensor<16xf32>
  %7:2 = mstream.muon x(%x) m(%s1) grad(%g) beta(%c0) gamma(%c1) ln_u(%w) {heads = 4 : i64} : tensor<2x8x16xf32>, tensor<1xf32>, tensor<16xf32>
  // CHECK: mstream.ortho x(%{{.*}}) grad(%{{.*}}) gamma(%{{.*}}) ln_u(%{{.*}}) {heads = 4 : i64, ns_iterations = 3 : i64} : tensor<2x8x16xf32>, tensor<1xf32>, tensor<16xf32>
  %8 = mstream.ortho x(%x) grad(%g) gamma(%c1) ln_u(%w) {heads = 4 : i64, ns_iterations = 3 : i64} : tensor<2x8x16xf32>, tensor<1xf32>, tensor<16xf32>
  // CHECK: mstream.shampoo x(%{{.*}}) r(%{{.*}} : tensor<2x8x4x4xf32>) grad(%{{.*}}) beta_r(%{{.*}}) gamma(%{{.*}}) ln_u(%{{.*}}) {heads = 4 : i64} : tensor<2x8x16xf32>, tensor<1xf32>, tensor<16xf32>
  %9:2 = mstream.shampoo x(%x) r(%r : tensor<2x8x4x4xf32>) grad(%g) beta_r(%c0) gamma(%c1) ln_u(%w) {heads = 4 : i64} : tensor<2x8x16xf32>, tensor<1xf32>, tensor<16xf32>
  // CHECK: mstream.soap x(%{{.*}}) m(%{{.*}}) r(%{{.*}} : tensor<2x8x4x4xf32>) grad(%{{.*}}) beta1(%{{.*}}) beta_r(%{{.*}}) gamma(%{{.*}}) ln_u(%{{.*}}) {heads = 4 : i64, inv_sqrt_iterations = 5 : i64} : tensor<2x8x16xf32>, tensor<1xf32>, tensor<16xf32>
  %10:3 = mstream.soap x(%x) m(%s1) r(%r : tensor<2x8x4x4xf32>) grad(%g) beta1(%c0) beta_r(%c1) gamma(%c2) ln_u(%w) {heads = 4 : i64, inv_sqrt_iterations = 5 : i64} : tensor<2x8x16xf32>, tensor<1xf32>, tensor<16xf32>
  return
}

// Raw scalars may be 0-d or [1], and per-token streams need not be batched.
// CHECK-LABEL: func.func @unbatched_zero_dim_scalars
func.func @unbatched_zero_dim_scalars(%x: tensor<16xf64>, %v: tensor<16xf64>, %c: tensor<f64>, %w: tensor<16xf64>) -> tensor<16xf64> {
  // CHECK: mstream.tmm {{.*}} : tensor<16xf64>, tensor<f64>, tensor<16xf64>
  %0:2 = mstream.tmm x(%x) v(%v) grad(%v) beta(%c) gamma(%c) nu(%c) ln_v(%w) : tensor<16xf64>, tensor<f64>, tensor<16xf64>
  return %0#0 : tensor<16xf64>
}

// A fused region: per-token inputs are seen as one token's slice, shared
// ones (the scalar, the gain) as they are; the gain cotangent-like result
// is a token sum.
// CHECK-LABEL: func.func @fused_region
func.func @fused_region(%x: tensor<2x8x16xf32>, %v: tensor<2x8x16xf32>, %mu: tensor<1xf32>, %gain: tensor<16xf32>) -> (tensor<2x8x16xf32>, tensor<16xf32>) {
  // CHECK: %[[R:.*]]:2 = mstream.fused "layers.0.attn" tokens [2, 8](%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}) : (tensor<2x8x16xf32>, tensor<2x8x16xf32>, tensor<1xf32>, tensor<16xf32>) -> (tensor<2x8x16xf32>, tensor<16xf32>) {
  // CHECK-NEXT: ^bb0(%[[TX:.*]]: tensor<1x1x16xf32>, %[[TV:.*]]: tensor<1x1x16xf32>, %[[MU:.*]]: tensor<1xf32>, %[[G:.*]]: tensor<16xf32>):
  // CHECK: %[[LA:.*]] = mstream.lookahead x(%[[TX]]) v(%[[TV]]) mu(%[[MU]])
  // CHECK: %[[H:.*]] = mstream.layer_norm %[[LA]], %[[G]]
  // CHECK: mstream.yield %[[H]], %[[G]] : tensor<1x1x16xf32>, tensor<16xf32>
  %r:2 = mstream.fused "layers.0.attn" tokens [2, 8] (%x, %v, %mu, %gain) : (tensor<2x8x16xf32>, tensor<2x8x16xf32>, tensor<1xf32>, tensor<16xf32>) -> (tensor<2x8x16xf32>, tensor<16xf32>) {
  ^bb0(%tx: tensor<1x1x16xf32>, %tv: tensor<1x1x16xf32>, %m: tensor<1xf32>, %g: tensor<16xf32>):
    %la = mstream.lookahead x(%tx) v(%tv) mu(%m) : tensor<1x1x16xf32>, tensor<1xf32>
    %h = mstream.layer_norm %la, %g : tensor<1x1x16xf32>, tensor<16xf32>
    mstream.yield %h, %g : tensor<1x1x16xf32>, tensor<16xf32>
  }
  return %r#0, %r#1 : tensor<2x8x16xf32>, tensor<16xf32>
}
