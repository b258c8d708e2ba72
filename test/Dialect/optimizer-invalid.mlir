// RUN: mstream-opt %s -split-input-file -verify-diagnostics

func.func @adamw_state_type(%p: tensor<4x8xf32>, %g: tensor<4x8xf32>, %m: tensor<8x4xf32>, %v: tensor<4x8xf32>, %s: tensor<f32>) {
  // expected-error @+1 {{m #0 must have the type of params #0 ('tensor<4x8xf32>'), got 'tensor<8x4xf32>'}}
  %0:3 = "mstream.adamw_update"(%p, %g, %m, %v, %s, %s, %s) : (tensor<4x8xf32>, tensor<4x8xf32>, tensor<8x4xf32>, tensor<4x8xf32>, tensor<f32>, tensor<f32>, tensor<f32>) -> (tensor<4x8xf32>, tensor<4x8xf32>, tensor<4x8xf32>)
  return
}

// -----

func.func @adamw_beta(%p: tensor<8xf32>, %s: tensor<f32>) {
  // expected-error @+1 {{beta2 must lie in [0, 1), got 1}}
  %0:3 = mstream.adamw_update params(%p) grads(%p) m(%p) v(%p) lr(%s) step(%s) scale(%s) {beta2 = 1.0} : tensor<8xf32>
  return
}

// -----

func.func @adamw_decay(%p: tensor<8xf32>, %s: tensor<f32>) {
  // expected-error @+1 {{weight_decay must not be negative, got -1.000000e-01}}
  %0:3 = mstream.adamw_update params(%p) grads(%p) m(%p) v(%p) lr(%s) step(%s) scale(%s) {weight_decay = -0.1} : tensor<8xf32>
  return
}

// -----

func.func @adamw_lr_rank(%p: tensor<8xf32>, %s: tensor<f32>, %lr: tensor<1xf32>) {
  // expected-error @+1 {{operand #4 must be 0-d f32 tensor}}
  %0:3 = "mstream.adamw_update"(%p, %p, %p, %p, %lr, %s, %s) : (tensor<8xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>, tensor<1xf32>, tensor<f32>, tensor<f32>) -> (tensor<8xf32>, tensor<8xf32>, tensor<8xf32>)
  return
}

// -----

func.func @muon_vector(%p: tensor<8xf32>, %s: tensor<f32>) {
  // expected-error @+1 {{params #0 must be a static [out, in] matrix, got 'tensor<8xf32>'}}
  %0:2 = mstream.muon_update params(%p) grads(%p) bufs(%p) lr(%s) scale(%s) : tensor<8xf32>
  return
}

// -----

func.func @muon_momentum(%p: tensor<4x8xf32>, %s: tensor<f32>) {
  // expected-error @+1 {{momentum must lie in [0, 1), got 1.5}}
  %0:2 = mstream.muon_update params(%p) grads(%p) bufs(%p) lr(%s) scale(%s) {momentum = 1.5} : tensor<4x8xf32>
  return
}

// -----

func.func @muon_coefficients(%p: tensor<4x8xf32>, %s: tensor<f32>) {
  // expected-error @+1 {{coefficients must hold the three quintic coefficients [a, b, c], got 2 values}}
  %0:2 = mstream.muon_update params(%p) grads(%p) bufs(%p) lr(%s) scale(%s) {coefficients = array<f64: 1.0, 2.0>} : tensor<4x8xf32>
  return
}

// -----

func.func @clip_empty() {
  // expected-error @+1 {{needs at least one gradient}}
  %n, %s = "mstream.clip_by_global_norm"() : () -> (tensor<f32>, tensor<f32>)
  return
}
