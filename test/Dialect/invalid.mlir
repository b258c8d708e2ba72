// RUN: mstream-opt %s -split-input-file -verify-diagnostics

func.func @embedding_ids_rank(%ids: tensor<16xi32>, %tok: tensor<64x16xf32>, %pos: tensor<32x16xf32>) {
  // expected-error @+1 {{ids must be [batch, seq], got 'tensor<16xi32>'}}
  %0 = mstream.embedding %ids, %tok, %pos : (tensor<16xi32>, tensor<64x16xf32>, tensor<32x16xf32>) -> tensor<16x16xf32>
  return
}

// -----

func.func @embedding_table_rank(%ids: tensor<2x8xi32>, %tok: tensor<64xf32>, %pos: tensor<32x16xf32>) {
  // expected-error @+1 {{token table must be [vocab, d], got 'tensor<64xf32>'}}
  %0 = mstream.embedding %ids, %tok, %pos : (tensor<2x8xi32>, tensor<64xf32>, tensor<32x16xf32>) -> tensor<2x8x16xf32>
  return
}

// -----

func.func @embedding_position_width(%ids: tensor<2x8xi32>, %tok: tensor<64x16xf32>, %pos: tensor<32x8xf32>) {
  // expected-error @+1 {{position table must have shape [?, 16], got 'tensor<32x8xf32>'}}
  %0 = mstream.embedding %ids, %tok, %pos : (tensor<2x8xi32>, tensor<64x16xf32>, tensor<32x8xf32>) -> tensor<2x8x16xf32>
  return
}

// -----

func.func @embedding_too_long(%ids: tensor<2x64xi32>, %tok: tensor<64x16xf32>, %pos: tensor<32x16xf32>) {
  // expected-error @+1 {{sequence length 64 exceeds the position table's 32 rows}}
  %0 = mstream.embedding %ids, %tok, %pos : (tensor<2x64xi32>, tensor<64x16xf32>, tensor<32x16xf32>) -> tensor<2x64x16xf32>
  return
}

// -----

func.func @embedding_result(%ids: tensor<2x8xi32>, %tok: tensor<64x16xf32>, %pos: tensor<32x16xf32>) {
  // expected-error @+1 {{result must be [2, 8, 16] of 'f32', got 'tensor<2x8x32xf32>'}}
  %0 = mstream.embedding %ids, %tok, %pos : (tensor<2x8xi32>, tensor<64x16xf32>, tensor<32x16xf32>) -> tensor<2x8x32xf32>
  return
}

// -----

func.func @embedding_float_ids(%ids: tensor<2x8xf32>, %tok: tensor<64x16xf32>, %pos: tensor<32x16xf32>) {
  // expected-error @+1 {{operand #0 must be ranked tensor of signless integer values}}
  %0 = mstream.embedding %ids, %tok, %pos : (tensor<2x8xf32>, tensor<64x16xf32>, tensor<32x16xf32>) -> tensor<2x8x16xf32>
  return
}

// -----

func.func @layer_norm_gain(%x: tensor<2x8x16xf32>, %w: tensor<8xf32>) {
  // expected-error @+1 {{gain must be a [16] vector of 'f32' to match the input 'tensor<2x8x16xf32>', got 'tensor<8xf32>'}}
  %0 = mstream.layer_norm %x, %w : tensor<2x8x16xf32>, tensor<8xf32>
  return
}

// -----

func.func @layer_norm_eps(%x: tensor<2x8x16xf32>, %w: tensor<16xf32>) {
  // expected-error @+1 {{eps must be positive, got 0}}
  %0 = mstream.layer_norm %x, %w {eps = 0.0 : f64} : tensor<2x8x16xf32>, tensor<16xf32>
  return
}

// -----

func.func @layer_norm_scalar(%x: tensor<f32>, %w: tensor<16xf32>) {
  // expected-error @+1 {{input must have a static feature axis, got 'tensor<f32>'}}
  %0 = mstream.layer_norm %x, %w : tensor<f32>, tensor<16xf32>
  return
}

// -----

func.func @layer_norm_dynamic(%x: tensor<2x?xf32>, %w: tensor<16xf32>) {
  // expected-error @+1 {{input must have a static feature axis, got 'tensor<2x?xf32>'}}
  %0 = mstream.layer_norm %x, %w : tensor<2x?xf32>, tensor<16xf32>
  return
}

// -----

func.func @attention_rank(%x: tensor<8x16xf32>, %wqkv: tensor<48x16xf32>, %wo: tensor<16x16xf32>) {
  // expected-error @+1 {{input must be [batch, seq, d], got 'tensor<8x16xf32>'}}
  %0 = mstream.attention %x, %wqkv, %wo {heads = 4 : i64} : tensor<8x16xf32>, tensor<48x16xf32>, tensor<16x16xf32>
  return
}

// -----

func.func @attention_heads(%x: tensor<2x8x16xf32>, %wqkv: tensor<48x16xf32>, %wo: tensor<16x16xf32>) {
  // expected-error @+1 {{heads = 3 must be positive and divide the model width d = 16}}
  %0 = mstream.attention %x, %wqkv, %wo {heads = 3 : i64} : tensor<2x8x16xf32>, tensor<48x16xf32>, tensor<16x16xf32>
  return
}

// -----

func.func @attention_qkv(%x: tensor<2x8x16xf32>, %wqkv: tensor<16x48xf32>, %wo: tensor<16x16xf32>) {
  // expected-error @+1 {{qkv weight must have shape [48, 16], got 'tensor<16x48xf32>'}}
  %0 = mstream.attention %x, %wqkv, %wo {heads = 4 : i64} : tensor<2x8x16xf32>, tensor<16x48xf32>, tensor<16x16xf32>
  return
}

// -----

func.func @attention_out_element(%x: tensor<2x8x16xf32>, %wqkv: tensor<48x16xf32>, %wo: tensor<16x16xf64>) {
  // expected-error @+1 {{output weight must have element type 'f32', got 'tensor<16x16xf64>'}}
  %0 = mstream.attention %x, %wqkv, %wo {heads = 4 : i64} : tensor<2x8x16xf32>, tensor<48x16xf32>, tensor<16x16xf64>
  return
}

// -----

func.func @attention_missing_heads(%x: tensor<2x8x16xf32>, %wqkv: tensor<48x16xf32>, %wo: tensor<16x16xf32>) {
  // expected-error @+1 {{requires attribute 'heads'}}
  %0 = mstream.attention %x, %wqkv, %wo : tensor<2x8x16xf32>, tensor<48x16xf32>, tensor<16x16xf32>
  return
}

// -----

func.func @mlp_w1_rank(%x: tensor<2x8x16xf32>, %w1: tensor<64xf32>, %w2: tensor<16x64xf32>) {
  // expected-error @+1 {{w1 must be [hidden, d], got 'tensor<64xf32>'}}
  %0 = mstream.mlp %x, %w1, %w2 : tensor<2x8x16xf32>, tensor<64xf32>, tensor<16x64xf32>
  return
}

// -----

func.func @mlp_w1_width(%x: tensor<2x8x16xf32>, %w1: tensor<64x8xf32>, %w2: tensor<16x64xf32>) {
  // expected-error @+1 {{w1 must have shape [64, 16], got 'tensor<64x8xf32>'}}
  %0 = mstream.mlp %x, %w1, %w2 : tensor<2x8x16xf32>, tensor<64x8xf32>, tensor<16x64xf32>
  return
}

// -----

func.func @mlp_w2(%x: tensor<2x8x16xf32>, %w1: tensor<64x16xf32>, %w2: tensor<64x16xf32>) {
  // expected-error @+1 {{w2 must have shape [16, 64], got 'tensor<64x16xf32>'}}
  %0 = mstream.mlp %x, %w1, %w2 : tensor<2x8x16xf32>, tensor<64x16xf32>, tensor<64x16xf32>
  return
}

// -----

func.func @tied_head_table_rank(%x: tensor<2x8x16xf32>, %tok: tensor<64xf32>) {
  // expected-error @+1 {{token table must be [vocab, d], got 'tensor<64xf32>'}}
  %0 = mstream.tied_head %x, %tok : (tensor<2x8x16xf32>, tensor<64xf32>) -> tensor<2x8x64xf32>
  return
}

// -----

func.func @tied_head_width(%x: tensor<2x8x16xf32>, %tok: tensor<64x8xf32>) {
  // expected-error @+1 {{token table must have shape [64, 16], got 'tensor<64x8xf32>'}}
  %0 = mstream.tied_head %x, %tok : (tensor<2x8x16xf32>, tensor<64x8xf32>) -> tensor<2x8x64xf32>
  return
}

// -----

func.func @tied_head_result(%x: tensor<2x8x16xf32>, %tok: tensor<64x16xf32>) {
  // expected-error @+1 {{result must be [2, 8, 64] of 'f32', got 'tensor<2x8x16xf32>'}}
  %0 = mstream.tied_head %x, %tok : (tensor<2x8x16xf32>, tensor<64x16xf32>) -> tensor<2x8x16xf32>
  return
}

// -----

func.func @cross_entropy_rank(%l: tensor<64xf32>, %t: tensor<i32>) {
  // expected-error @+1 {{logits must have a position axis and a class axis, got 'tensor<64xf32>'}}
  %0 = mstream.cross_entropy %l, %t : tensor<64xf32>, tensor<i32> -> tensor<f32>
  return
}

// -----

func.func @cross_entropy_targets(%l: tensor<2x8x64xf32>, %t: tensor<2x4xi32>) {
  // expected-error @+1 {{targets must have shape [2, 8] (the logits without the class axis), got 'tensor<2x4xi32>'}}
  %0 = mstream.cross_entropy %l, %t : tensor<2x8x64xf32>, tensor<2x4xi32> -> tensor<f32>
  return
}

// -----

func.func @cross_entropy_loss(%l: tensor<2x8x64xf32>, %t: tensor<2x8xi32>) {
  // expected-error @+1 {{loss must have the logits' element type 'f32', got 'tensor<f64>'}}
  %0 = mstream.cross_entropy %l, %t : tensor<2x8x64xf32>, tensor<2x8xi32> -> tensor<f64>
  return
}

// -----

func.func @newton_schulz_rank(%z: tensor<16xf32>) {
  // expected-error @+1 {{input must end in a [heads, head_dim] matrix, got 'tensor<16xf32>'}}
  %0 = mstream.newton_schulz %z : tensor<16xf32>
  return
}

// -----

func.func @newton_schulz_iterations(%z: tensor<4x4xf32>) {
  // expected-error @+1 {{iterations must be at least 1, got 0}}
  %0 = mstream.newton_schulz %z {iterations = 0 : i64} : tensor<4x4xf32>
  return
}

// -----

func.func @newton_schulz_coefficients(%z: tensor<4x4xf32>) {
  // expected-error @+1 {{coefficients must hold the three quintic coefficients [a, b, c], got 2 values}}
  %0 = mstream.newton_schulz %z {coefficients = array<f64: 1.0, 2.0>} : tensor<4x4xf32>
  return
}

// -----

func.func @newton_schulz_eps(%z: tensor<4x4xf32>) {
  // expected-error @+1 {{eps must be positive, got -1}}
  %0 = mstream.newton_schulz %z {eps = -1.0 : f64} : tensor<4x4xf32>
  return
}

// -----

func.func @inv_sqrt_square(%r: tensor<2x4x3xf32>) {
  // expected-error @+1 {{input must end in a square [n, n] matrix, got 'tensor<2x4x3xf32>'}}
  %0 = mstream.inv_sqrt %r : tensor<2x4x3xf32>
  return
}

// -----

func.func @inv_sqrt_iterations(%r: tensor<4x4xf32>) {
  // expected-error @+1 {{iterations must be at least 1, got -2}}
  %0 = mstream.inv_sqrt %r {iterations = -2 : i64} : tensor<4x4xf32>
  return
}

// -----

func.func @eye_square() {
  // expected-error @+1 {{result must be a static tensor ending in a square [n, n] matrix, got 'tensor<2x4x3xf32>'}}
  %0 = mstream.eye : tensor<2x4x3xf32>
  return
}

// -----

func.func @eye_dynamic() {
  // expected-error @+1 {{result must be a static tensor ending in a square [n, n] matrix, got 'tensor<?x4x4xf32>'}}
  %0 = mstream.eye : tensor<?x4x4xf32>
  return
}

// -----

func.func @lookahead_mu(%x: tensor<2x8x16xf32>, %mu: tensor<2xf32>) {
  // expected-error @+1 {{raw scalar 'mu' must be a one-element tensor of shape [1] or [] with element type 'f32', got 'tensor<2xf32>'}}
  %0 = mstream.lookahead x(%x) v(%x) mu(%mu) : tensor<2x8x16xf32>, tensor<2xf32>
  return
}

// -----

func.func @step_feature_axis(%x: tensor<2x?xf32>, %c: tensor<1xf32>, %w: tensor<16xf32>) {
  // expected-error @+1 {{x must have a static feature axis, got 'tensor<2x?xf32>'}}
  %0:2 = mstream.heavy_ball x(%x) v(%x) grad(%x) beta(%c) gamma(%c) ln_v(%w) : tensor<2x?xf32>, tensor<1xf32>, tensor<16xf32>
  return
}

// -----

func.func @step_scalar_shape(%x: tensor<2x8x16xf32>, %c: tensor<2xf32>, %w: tensor<16xf32>) {
  // expected-error @+1 {{raw scalar 'beta' must be a one-element tensor of shape [1] or [] with element type 'f32', got 'tensor<2xf32>'}}
  %0:2 = mstream.tmm x(%x) v(%x) grad(%x) beta(%c) gamma(%c) nu(%c) ln_v(%w) : tensor<2x8x16xf32>, tensor<2xf32>, tensor<16xf32>
  return
}

// -----

func.func @step_scalar_element(%x: tensor<2x8x16xf32>, %c: tensor<1xf32>, %lam: tensor<f64>, %w: tensor<16xf32>) {
  // expected-error @+1 {{raw scalar 'lambda' must be a one-element tensor of shape [1] or [] with element type 'f32', got 'tensor<f64>'}}
  %0:3 = mstream.adamw x(%x) m(%x) s(%x) grad(%x) beta1(%c) beta2(%c) gamma(%c) lambda(%lam : tensor<f64>) ln_u(%w) : tensor<2x8x16xf32>, tensor<1xf32>, tensor<16xf32>
  return
}

// -----

func.func @step_gain(%x: tensor<2x8x16xf32>, %c: tensor<1xf32>, %w: tensor<8xf32>) {
  // expected-error @+1 {{LayerNorm gain 'ln_u' must have shape [16] and element type 'f32' to match x 'tensor<2x8x16xf32>', got 'tensor<8xf32>'}}
  %0:2 = mstream.rmsprop x(%x) s(%x) grad(%x) beta2(%c) gamma(%c) ln_u(%w) : tensor<2x8x16xf32>, tensor<1xf32>, tensor<8xf32>
  return
}

// -----

func.func @step_heads(%x: tensor<2x8x16xf32>, %c: tensor<1xf32>, %w: tensor<16xf32>) {
  // expected-error @+1 {{heads = 5 must be positive and divide the feature width d = 16 of x}}
  %0:2 = mstream.muon x(%x) m(%x) grad(%x) beta(%c) gamma(%c) ln_u(%w) {heads = 5 : i64} : tensor<2x8x16xf32>, tensor<1xf32>, tensor<16xf32>
  return
}

// -----

func.func @step_ns_iterations(%x: tensor<2x8x16xf32>, %c: tensor<1xf32>, %w: tensor<16xf32>) {
  // expected-error @+1 {{ns_iterations must be at least 1, got 0}}
  %0 = mstream.ortho x(%x) grad(%x) gamma(%c) ln_u(%w) {heads = 4 : i64, ns_iterations = 0 : i64} : tensor<2x8x16xf32>, tensor<1xf32>, tensor<16xf32>
  return
}

// -----

func.func @step_ns_coefficients(%x: tensor<2x8x16xf32>, %c: tensor<1xf32>, %w: tensor<16xf32>) {
  // expected-error @+1 {{ns_coefficients must hold the three quintic coefficients [a, b, c], got 4 values}}
  %0 = mstream.ortho x(%x) grad(%x) gamma(%c) ln_u(%w) {heads = 4 : i64, ns_coefficients = array<f64: 1.0, 2.0, 3.0, 4.0>} : tensor<2x8x16xf32>, tensor<1xf32>, tensor<16xf32>
  return
}

// -----

func.func @step_ln_eps(%x: tensor<2x8x16xf32>, %c: tensor<1xf32>, %w: tensor<16xf32>) {
  // expected-error @+1 {{ln_eps must be positive, got 0}}
  %0:2 = mstream.heavy_ball x(%x) v(%x) grad(%x) beta(%c) gamma(%c) ln_v(%w) {ln_eps = 0.0 : f64} : tensor<2x8x16xf32>, tensor<1xf32>, tensor<16xf32>
  return
}

// -----

func.func @step_denom_eps(%x: tensor<2x8x16xf32>, %c: tensor<1xf32>, %w: tensor<16xf32>) {
  // expected-error @+1 {{denom_eps must be positive, got -1}}
  %0:3 = mstream.adam x(%x) m(%x) s(%x) grad(%x) beta1(%c) beta2(%c) gamma(%c) ln_u(%w) {denom_eps = -1.0 : f64} : tensor<2x8x16xf32>, tensor<1xf32>, tensor<16xf32>
  return
}

// -----

func.func @step_inv_sqrt_iterations(%x: tensor<2x8x16xf32>, %r: tensor<2x8x4x4xf32>, %c: tensor<1xf32>, %w: tensor<16xf32>) {
  // expected-error @+1 {{inv_sqrt_iterations must be at least 1, got 0}}
  %0:2 = mstream.shampoo x(%x) r(%r : tensor<2x8x4x4xf32>) grad(%x) beta_r(%c) gamma(%c) ln_u(%w) {heads = 4 : i64, inv_sqrt_iterations = 0 : i64} : tensor<2x8x16xf32>, tensor<1xf32>, tensor<16xf32>
  return
}

// -----

func.func @step_preconditioner_shape(%x: tensor<2x8x16xf32>, %r: tensor<2x8x8x8xf32>, %c: tensor<1xf32>, %w: tensor<16xf32>) {
  // expected-error @+1 {{r must have shape [2, 8, 4, 4] (the leading axes of x, then Dh x Dh with Dh = d / heads = 4) and element type 'f32', got 'tensor<2x8x8x8xf32>'}}
  %0:3 = mstream.soap x(%x) m(%x) r(%r : tensor<2x8x8x8xf32>) grad(%x) beta1(%c) beta_r(%c) gamma(%c) ln_u(%w) {heads = 4 : i64} : tensor<2x8x16xf32>, tensor<1xf32>, tensor<16xf32>
  return
}

// -----

func.func @step_missing_heads(%x: tensor<2x8x16xf32>, %r: tensor<2x8x4x4xf32>, %c: tensor<1xf32>, %w: tensor<16xf32>) {
  // expected-error @+1 {{requires attribute 'heads'}}
  %0:2 = mstream.shampoo x(%x) r(%r : tensor<2x8x4x4xf32>) grad(%x) beta_r(%c) gamma(%c) ln_u(%w) : tensor<2x8x16xf32>, tensor<1xf32>, tensor<16xf32>
  return
}

// -----

// The custom form infers every stream type from x; the generic form can
// spell a mismatched stream, which the stream-type constraint rejects.
func.func @step_stream_types(%x: tensor<2x8x16xf32>, %v: tensor<2x4x16xf32>, %c: tensor<1xf32>, %w: tensor<16xf32>) {
  // expected-error @+1 {{failed to verify that all of {x, v, grad, x_new, v_new} have same type}}
  %0:2 = "mstream.tmm"(%x, %v, %x, %c, %c, %c, %w) : (tensor<2x8x16xf32>, tensor<2x4x16xf32>, tensor<2x8x16xf32>, tensor<1xf32>, tensor<1xf32>, tensor<1xf32>, tensor<16xf32>) -> (tensor<2x8x16xf32>, tensor<2x8x16xf32>)
  return
}

// -----

func.func @step_stream_count(%x: tensor<2x8x16xf32>, %c: tensor<1xf32>, %w: tensor<16xf32>) {
  // expected-error @+1 {{expected 7 operands, but found 6}}
  %0:2 = "mstream.tmm"(%x, %x, %x, %c, %c, %w) : (tensor<2x8x16xf32>, tensor<2x8x16xf32>, tensor<2x8x16xf32>, tensor<1xf32>, tensor<1xf32>, tensor<16xf32>) -> (tensor<2x8x16xf32>, tensor<2x8x16xf32>)
  return
}

// -----

func.func @step_result_count(%x: tensor<2x8x16xf32>, %c: tensor<1xf32>, %w: tensor<16xf32>) {
  // expected-error @+1 {{expected 3 results}}
  %0:2 = "mstream.adam"(%x, %x, %x, %x, %c, %c, %c, %w) : (tensor<2x8x16xf32>, tensor<2x8x16xf32>, tensor<2x8x16xf32>, tensor<2x8x16xf32>, tensor<1xf32>, tensor<1xf32>, tensor<1xf32>, tensor<16xf32>) -> (tensor<2x8x16xf32>, tensor<2x8x16xf32>)
  return
}

// -----

func.func @fused_wrong_slice(%x: tensor<2x8x16xf32>) -> tensor<2x8x16xf32> {
  // expected-error @+1 {{input 0 of type 'tensor<2x8x16xf32>' is seen in the body as 'tensor<2x1x16xf32>'; it must be the same type (shared) or its slice for one token of [2, 8]}}
  %r = mstream.fused "s" tokens [2, 8] (%x) : (tensor<2x8x16xf32>) -> tensor<2x8x16xf32> {
  ^bb0(%t: tensor<2x1x16xf32>):
    mstream.yield %t : tensor<2x1x16xf32>
  }
  return %r : tensor<2x8x16xf32>
}

// -----

func.func @fused_yield_count(%x: tensor<2x8x16xf32>) -> tensor<2x8x16xf32> {
  // expected-error @+1 {{body yields 2 values for 1 results}}
  %r = mstream.fused "s" tokens [2, 8] (%x) : (tensor<2x8x16xf32>) -> tensor<2x8x16xf32> {
  ^bb0(%t: tensor<1x1x16xf32>):
    mstream.yield %t, %t : tensor<1x1x16xf32>, tensor<1x1x16xf32>
  }
  return %r : tensor<2x8x16xf32>
}

// -----

func.func @fused_tokens(%x: tensor<2x8x16xf32>) -> tensor<2x8x16xf32> {
  // expected-error @+1 {{token dimensions must be positive, got [2, 0]}}
  %r = mstream.fused "s" tokens [2, 0] (%x) : (tensor<2x8x16xf32>) -> tensor<2x8x16xf32> {
  ^bb0(%t: tensor<2x8x16xf32>):
    mstream.yield %t : tensor<2x8x16xf32>
  }
  return %r : tensor<2x8x16xf32>
}
