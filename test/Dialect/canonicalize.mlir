// RUN: mstream-opt %s -canonicalize -split-input-file | FileCheck %s

// ln(e - 1) rounded to f32 has softplus exactly 1.0f: tmm is nesterov.
// CHECK-LABEL: func.func @tmm_unit_nu
// CHECK-SAME: (%[[X:.*]]: tensor<2x8x16xf32>, %[[V:.*]]: tensor<2x8x16xf32>, %[[G:.*]]: tensor<2x8x16xf32>, %[[B:.*]]: tensor<1xf32>, %[[W:.*]]: tensor<16xf32>)
// CHECK: %{{.*}}, %{{.*}} = mstream.nesterov x(%[[X]]) v(%[[V]]) grad(%[[G]]) beta(%[[B]]) gamma(%[[B]]) ln_v(%[[W]])
// CHECK-NOT: mstream.tmm
func.func @tmm_unit_nu(%x: tensor<2x8x16xf32>, %v: tensor<2x8x16xf32>, %g: tensor<2x8x16xf32>, %b: tensor<1xf32>, %w: tensor<16xf32>) -> (tensor<2x8x16xf32>, tensor<2x8x16xf32>) {
  %nu = arith.constant dense<0.541324854> : tensor<1xf32>
  %0:2 = mstream.tmm x(%x) v(%v) grad(%g) beta(%b) gamma(%b) nu(%nu) ln_v(%w) : tensor<2x8x16xf32>, tensor<1xf32>, tensor<16xf32>
  return %0#0, %0#1 : tensor<2x8x16xf32>, tensor<2x8x16xf32>
}

// -----

// The paper's init 0.5413248 gives softplus = 1 - 3.8e-8 = 0.99999994f: kept.
// CHECK-LABEL: func.func @tmm_paper_init_nu
// CHECK: mstream.tmm
func.func @tmm_paper_init_nu(%x: tensor<2x8x16xf32>, %b: tensor<1xf32>, %w: tensor<16xf32>) -> tensor<2x8x16xf32> {
  %nu = arith.constant dense<0.5413248> : tensor<1xf32>
  %0:2 = mstream.tmm x(%x) v(%x) grad(%x) beta(%b) gamma(%b) nu(%nu) ln_v(%w) : tensor<2x8x16xf32>, tensor<1xf32>, tensor<16xf32>
  return %0#0 : tensor<2x8x16xf32>
}

// -----

// A learned (non-constant) nu is kept.
// CHECK-LABEL: func.func @tmm_learned_nu
// CHECK: mstream.tmm
func.func @tmm_learned_nu(%x: tensor<2x8x16xf32>, %b: tensor<1xf32>, %w: tensor<16xf32>) -> tensor<2x8x16xf32> {
  %0:2 = mstream.tmm x(%x) v(%x) grad(%x) beta(%b) gamma(%b) nu(%b) ln_v(%w) : tensor<2x8x16xf32>, tensor<1xf32>, tensor<16xf32>
  return %0#0 : tensor<2x8x16xf32>
}

// -----

// sigmoid(-200) = 1.4e-87 is 0 in f32: AdamW without decay is Adam.
// CHECK-LABEL: func.func @adamw_no_decay
// CHECK: mstream.adam x(
// CHECK-SAME: {denom_eps = 5.000000e-01 : f64}
// CHECK-NOT: mstream.adamw
func.func @adamw_no_decay(%x: tensor<2x8x16xf32>, %c: tensor<1xf32>, %w: tensor<16xf32>) -> tensor<2x8x16xf32> {
  %lam = arith.constant dense<-200.0> : tensor<f32>
  %0:3 = mstream.adamw x(%x) m(%x) s(%x) grad(%x) beta1(%c) beta2(%c) gamma(%c) lambda(%lam : tensor<f32>) ln_u(%w) {denom_eps = 0.5 : f64} : tensor<2x8x16xf32>, tensor<1xf32>, tensor<16xf32>
  return %0#0 : tensor<2x8x16xf32>
}

// -----

// In f64, sigmoid(-200) = 1.4e-87 is not 0: the decay stays.
// CHECK-LABEL: func.func @adamw_tiny_decay_f64
// CHECK: mstream.adamw
func.func @adamw_tiny_decay_f64(%x: tensor<2x8x16xf64>, %c: tensor<1xf64>, %w: tensor<16xf64>) -> tensor<2x8x16xf64> {
  %lam = arith.constant dense<-200.0> : tensor<f64>
  %0:3 = mstream.adamw x(%x) m(%x) s(%x) grad(%x) beta1(%c) beta2(%c) gamma(%c) lambda(%lam : tensor<f64>) ln_u(%w) : tensor<2x8x16xf64>, tensor<1xf64>, tensor<16xf64>
  return %0#0 : tensor<2x8x16xf64>
}

// -----

// The paper's init sigmoid(-5) = 0.0067 is a real decay: kept.
// CHECK-LABEL: func.func @adamw_paper_init
// CHECK: mstream.adamw
func.func @adamw_paper_init(%x: tensor<2x8x16xf32>, %c: tensor<1xf32>, %w: tensor<16xf32>) -> tensor<2x8x16xf32> {
  %lam = arith.constant dense<-5.0> : tensor<f32>
  %0:3 = mstream.adamw x(%x) m(%x) s(%x) grad(%x) beta1(%c) beta2(%c) gamma(%c) lambda(%lam : tensor<f32>) ln_u(%w) : tensor<2x8x16xf32>, tensor<1xf32>, tensor<16xf32>
  return %0#0 : tensor<2x8x16xf32>
}

// -----

// With sigmoid(beta1) == 0, m' = g: Adam is RMSProp and m' is the oracle output.
// CHECK-LABEL: func.func @adam_no_momentum
// CHECK-SAME: (%[[X:.*]]: tensor<2x8x16xf32>, %[[M:.*]]: tensor<2x8x16xf32>, %[[S:.*]]: tensor<2x8x16xf32>, %[[G:.*]]: tensor<2x8x16xf32>, %[[C:.*]]: tensor<1xf32>, %[[W:.*]]: tensor<16xf32>)
// CHECK: %[[XN:.*]], %[[SN:.*]] = mstream.rmsprop x(%[[X]]) s(%[[S]]) grad(%[[G]]) beta2(%[[C]]) gamma(%[[C]]) ln_u(%[[W]])
// CHECK: return %[[XN]], %[[G]], %[[SN]]
func.func @adam_no_momentum(%x: tensor<2x8x16xf32>, %m: tensor<2x8x16xf32>, %s: tensor<2x8x16xf32>, %g: tensor<2x8x16xf32>, %c: tensor<1xf32>, %w: tensor<16xf32>) -> (tensor<2x8x16xf32>, tensor<2x8x16xf32>, tensor<2x8x16xf32>) {
  %b1 = arith.constant dense<0xFF800000> : tensor<1xf32>
  %0:3 = mstream.adam x(%x) m(%m) s(%s) grad(%g) beta1(%b1) beta2(%c) gamma(%c) ln_u(%w) : tensor<2x8x16xf32>, tensor<1xf32>, tensor<16xf32>
  return %0#0, %0#1, %0#2 : tensor<2x8x16xf32>, tensor<2x8x16xf32>, tensor<2x8x16xf32>
}

// -----

// CHECK-LABEL: func.func @muon_no_momentum
// CHECK-SAME: (%[[X:.*]]: tensor<2x8x16xf32>, %[[M:.*]]: tensor<2x8x16xf32>, %[[G:.*]]: tensor<2x8x16xf32>, %[[C:.*]]: tensor<1xf32>, %[[W:.*]]: tensor<16xf32>)
// CHECK: %[[XN:.*]] = mstream.ortho x(%[[X]]) grad(%[[G]]) gamma(%[[C]]) ln_u(%[[W]]) {heads = 4 : i64, ns_iterations = 3 : i64}
// CHECK: return %[[XN]], %[[G]]
func.func @muon_no_momentum(%x: tensor<2x8x16xf32>, %m: tensor<2x8x16xf32>, %g: tensor<2x8x16xf32>, %c: tensor<1xf32>, %w: tensor<16xf32>) -> (tensor<2x8x16xf32>, tensor<2x8x16xf32>) {
  %beta = arith.constant dense<-200.0> : tensor<1xf32>
  %0:2 = mstream.muon x(%x) m(%m) grad(%g) beta(%beta) gamma(%c) ln_u(%w) {heads = 4 : i64, ns_iterations = 3 : i64} : tensor<2x8x16xf32>, tensor<1xf32>, tensor<16xf32>
  return %0#0, %0#1 : tensor<2x8x16xf32>, tensor<2x8x16xf32>
}

// -----

// CHECK-LABEL: func.func @soap_no_momentum
// CHECK-SAME: (%[[X:.*]]: tensor<2x8x16xf32>, %[[M:.*]]: tensor<2x8x16xf32>, %[[R:.*]]: tensor<2x8x4x4xf32>, %[[G:.*]]: tensor<2x8x16xf32>, %[[C:.*]]: tensor<1xf32>, %[[W:.*]]: tensor<16xf32>)
// CHECK: %[[XN:.*]], %[[RN:.*]] = mstream.shampoo x(%[[X]]) r(%[[R]] : tensor<2x8x4x4xf32>) grad(%[[G]]) beta_r(%[[C]]) gamma(%[[C]]) ln_u(%[[W]]) {heads = 4 : i64}
// CHECK: return %[[XN]], %[[G]], %[[RN]]
func.func @soap_no_momentum(%x: tensor<2x8x16xf32>, %m: tensor<2x8x16xf32>, %r: tensor<2x8x4x4xf32>, %g: tensor<2x8x16xf32>, %c: tensor<1xf32>, %w: tensor<16xf32>) -> (tensor<2x8x16xf32>, tensor<2x8x16xf32>, tensor<2x8x4x4xf32>) {
  %b1 = arith.constant dense<-200.0> : tensor<1xf32>
  %0:3 = mstream.soap x(%x) m(%m) r(%r : tensor<2x8x4x4xf32>) grad(%g) beta1(%b1) beta_r(%c) gamma(%c) ln_u(%w) {heads = 4 : i64} : tensor<2x8x16xf32>, tensor<1xf32>, tensor<16xf32>
  return %0#0, %0#1, %0#2 : tensor<2x8x16xf32>, tensor<2x8x16xf32>, tensor<2x8x4x4xf32>
}

// -----

// A momentum coefficient of sigmoid(0) = 0.5 is kept.
// CHECK-LABEL: func.func @soap_with_momentum
// CHECK: mstream.soap
func.func @soap_with_momentum(%x: tensor<2x8x16xf32>, %r: tensor<2x8x4x4xf32>, %c: tensor<1xf32>, %w: tensor<16xf32>) -> tensor<2x8x16xf32> {
  %b1 = arith.constant dense<0.0> : tensor<1xf32>
  %0:3 = mstream.soap x(%x) m(%x) r(%r : tensor<2x8x4x4xf32>) grad(%x) beta1(%b1) beta_r(%c) gamma(%c) ln_u(%w) {heads = 4 : i64} : tensor<2x8x16xf32>, tensor<1xf32>, tensor<16xf32>
  return %0#0 : tensor<2x8x16xf32>
}

// -----

// TMM-zerovel's first lookahead is x + mu * 0 = x.
// CHECK-LABEL: func.func @lookahead_zero_velocity
// CHECK-SAME: (%[[X:.*]]: tensor<2x8x16xf32>, %{{.*}}: tensor<1xf32>)
// CHECK-NOT: mstream.lookahead
// CHECK: return %[[X]]
func.func @lookahead_zero_velocity(%x: tensor<2x8x16xf32>, %mu: tensor<1xf32>) -> tensor<2x8x16xf32> {
  %zero = arith.constant dense<0.0> : tensor<2x8x16xf32>
  %0 = mstream.lookahead x(%x) v(%zero) mu(%mu) : tensor<2x8x16xf32>, tensor<1xf32>
  return %0 : tensor<2x8x16xf32>
}

// -----

// CHECK-LABEL: func.func @lookahead_zero_mu
// CHECK-SAME: (%[[X:.*]]: tensor<2x8x16xf32>, %{{.*}}: tensor<2x8x16xf32>)
// CHECK-NOT: mstream.lookahead
// CHECK: return %[[X]]
func.func @lookahead_zero_mu(%x: tensor<2x8x16xf32>, %v: tensor<2x8x16xf32>) -> tensor<2x8x16xf32> {
  %mu = arith.constant dense<-200.0> : tensor<1xf32>
  %0 = mstream.lookahead x(%x) v(%v) mu(%mu) : tensor<2x8x16xf32>, tensor<1xf32>
  return %0 : tensor<2x8x16xf32>
}

// -----

// CHECK-LABEL: func.func @lookahead_kept
// CHECK: mstream.lookahead
func.func @lookahead_kept(%x: tensor<2x8x16xf32>, %v: tensor<2x8x16xf32>) -> tensor<2x8x16xf32> {
  %mu = arith.constant dense<0.0> : tensor<1xf32>
  %0 = mstream.lookahead x(%x) v(%v) mu(%mu) : tensor<2x8x16xf32>, tensor<1xf32>
  return %0 : tensor<2x8x16xf32>
}

// -----

// CHECK-LABEL: func.func @gd_zero_grad
// CHECK-SAME: (%[[X:.*]]: tensor<2x8x16xf32>)
// CHECK-NOT: mstream.gd
// CHECK: return %[[X]]
func.func @gd_zero_grad(%x: tensor<2x8x16xf32>) -> tensor<2x8x16xf32> {
  %zero = arith.constant dense<0.0> : tensor<2x8x16xf32>
  %0 = mstream.gd x(%x) grad(%zero) : tensor<2x8x16xf32>
  return %0 : tensor<2x8x16xf32>
}
