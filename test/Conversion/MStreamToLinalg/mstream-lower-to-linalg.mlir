// RUN: mstream-opt %s --mstream-lower-to-linalg --split-input-file | FileCheck %s

// Two-pass statistics (sum, centered squares) then the normalised map.
// The reductions' adds may reassociate (so that they vectorise); the
// squares' products and differences keep their exact order.
// CHECK-LABEL: func.func @layer_norm
// CHECK: %[[SUM:.*]] = linalg.generic {{.*}}iterator_types = ["parallel", "parallel", "reduction"]
// CHECK: arith.addf %{{.*}}, %{{.*}} fastmath<reassoc> : f32
// CHECK: %[[MEAN:.*]] = linalg.generic {{.*}} ins(%[[SUM]] : tensor<2x8xf32>)
// CHECK: linalg.generic {{.*}}iterator_types = ["parallel", "parallel", "reduction"]{{.*}} ins(%{{.*}}, %[[MEAN]] : tensor<2x8x16xf32>, tensor<2x8xf32>)
// CHECK-NEXT: ^bb0
// CHECK-NEXT: arith.subf %{{.*}}, %{{.*}} : f32
// CHECK-NEXT: arith.mulf %{{.*}}, %{{.*}} : f32
// CHECK-NEXT: arith.addf %{{.*}}, %{{.*}} fastmath<reassoc> : f32
// CHECK: math.sqrt
// CHECK: %[[Y:.*]] = linalg.generic {{.*}} ins(%{{.*}}, %[[MEAN]], %{{.*}}, %{{.*}} : tensor<2x8x16xf32>, tensor<2x8xf32>, tensor<2x8xf32>, tensor<16xf32>)
// CHECK-NOT: mstream.
// CHECK: return %[[Y]]
func.func @layer_norm(%x: tensor<2x8x16xf32>, %w: tensor<16xf32>) -> tensor<2x8x16xf32> {
  %0 = mstream.layer_norm %x, %w : tensor<2x8x16xf32>, tensor<16xf32>
  return %0 : tensor<2x8x16xf32>
}

// -----

// GEMMs stay named ops (for BLAS), marked as oracle products (the bf16
// policy may round their operands); the core, per head [B*H, T, Dh], is
// mstream.flash_attention with scale 1/sqrt(Dh) and stays for the target.
// CHECK-LABEL: func.func @attention
// CHECK: linalg.matmul {{.*}}{mstream.oracle_product} ins(%{{.*}}, %{{.*}} : tensor<16x16xf32>, tensor<48x16xf32>)
// CHECK: %[[O:.*]] = tensor.empty() : tensor<8x8x4xf32>
// CHECK: %[[L:.*]] = tensor.empty() : tensor<8x8xf32>
// CHECK: mstream.flash_attention ins(%{{.*}}, %{{.*}}, %{{.*}} : tensor<8x8x4xf32>, tensor<8x8x4xf32>, tensor<8x8x4xf32>) outs(%[[O]], %[[L]] : tensor<8x8x4xf32>, tensor<8x8xf32>) {scale = 5.000000e-01 : f64}
// CHECK-NOT: linalg.batch_matmul
// CHECK: linalg.matmul {{.*}}{mstream.oracle_product} ins(%{{.*}}, %{{.*}} : tensor<16x16xf32>, tensor<16x16xf32>)
func.func @attention(%x: tensor<2x8x16xf32>, %wqkv: tensor<48x16xf32>, %wo: tensor<16x16xf32>) -> tensor<2x8x16xf32> {
  %0 = mstream.attention %x, %wqkv, %wo {heads = 4 : i64} : tensor<2x8x16xf32>, tensor<48x16xf32>, tensor<16x16xf32>
  return %0 : tensor<2x8x16xf32>
}

// -----

// CHECK-LABEL: func.func @mlp
// CHECK: linalg.matmul
// CHECK: math.erf
// CHECK: linalg.matmul
func.func @mlp(%x: tensor<2x8x16xf32>, %w1: tensor<64x16xf32>, %w2: tensor<16x64xf32>) -> tensor<2x8x16xf32> {
  %0 = mstream.mlp %x, %w1, %w2 : tensor<2x8x16xf32>, tensor<64x16xf32>, tensor<16x64xf32>
  return %0 : tensor<2x8x16xf32>
}

// -----

// The five NS iterations are one scf.for over generated contractions.
// CHECK-LABEL: func.func @newton_schulz
// CHECK: %[[Z:.*]] = tensor.collapse_shape %{{.*}} {{\[}}[0, 1], [2], [3]] : tensor<2x8x4x4xf32> into tensor<16x4x4xf32>
// CHECK: math.sqrt
// CHECK: %[[C5:.*]] = arith.constant 5 : index
// CHECK: scf.for %{{.*}} = %{{.*}} to %[[C5]]
// CHECK-COUNT-3: linalg.generic {{.*}}iterator_types = ["parallel", "parallel", "reduction", "parallel"]
// CHECK: scf.yield
// CHECK: tensor.expand_shape
// CHECK-NOT: linalg.matmul
func.func @newton_schulz(%z: tensor<2x8x4x4xf32>) -> tensor<2x8x4x4xf32> {
  %0 = mstream.newton_schulz %z : tensor<2x8x4x4xf32>
  return %0 : tensor<2x8x4x4xf32>
}

// -----

// With fewer heads than head_dim the Gram is H x H (Y Yᵀ, 2x2 here), and
// the polynomial multiplies from the left; with H > Dh it is Dh x Dh (YᵀY).
// CHECK-LABEL: func.func @newton_schulz_small_gram
// CHECK: scf.for
// CHECK: linalg.generic {{.*}} ins(%{{.*}}, %{{.*}} : tensor<16x2x8xf32>, tensor<16x2x8xf32>) outs(%{{.*}} : tensor<16x2x2xf32>)
// CHECK: linalg.generic {{.*}} ins(%{{.*}}, %{{.*}} : tensor<16x2x2xf32>, tensor<16x2x2xf32>) outs(%{{.*}} : tensor<16x2x2xf32>)
// CHECK: linalg.generic {{.*}} ins(%{{.*}}, %{{.*}} : tensor<16x2x2xf32>, tensor<16x2x8xf32>) outs(%{{.*}} : tensor<16x2x8xf32>)
// CHECK-LABEL: func.func @newton_schulz_tall
// CHECK: linalg.generic {{.*}} ins(%{{.*}}, %{{.*}} : tensor<16x8x2xf32>, tensor<16x8x2xf32>) outs(%{{.*}} : tensor<16x2x2xf32>)
func.func @newton_schulz_small_gram(%z: tensor<2x8x2x8xf32>) -> tensor<2x8x2x8xf32> {
  %0 = mstream.newton_schulz %z : tensor<2x8x2x8xf32>
  return %0 : tensor<2x8x2x8xf32>
}
func.func @newton_schulz_tall(%z: tensor<2x8x8x2xf32>) -> tensor<2x8x8x2xf32> {
  %0 = mstream.newton_schulz %z : tensor<2x8x8x2xf32>
  return %0 : tensor<2x8x8x2xf32>
}

// -----

// InvSqrt in coupled form, unrolled: X_1 = T_0 = 1.5 I - 0.5 N (no
// product), P_1 = N T_0², then X_{k+1} = X_k T_k and P_{k+1} = P_k T_k²;
// the last step forms X_10 only: 27 products in all.
// CHECK-LABEL: func.func @inv_sqrt
// CHECK-NOT: scf.for
// CHECK: %[[N:.*]] = linalg.generic {{.*}} ins(%{{.*}}, %{{.*}} : tensor<16x4x4xf32>, tensor<16xf32>)
// CHECK: arith.divf
// CHECK: %[[T0:.*]] = linalg.generic {{.*}} ins(%[[N]] : tensor<16x4x4xf32>)
// CHECK: %[[S0:.*]] = linalg.generic {{.*}} ins(%[[T0]], %[[T0]] :
// CHECK: %[[P1:.*]] = linalg.generic {{.*}} ins(%[[N]], %[[S0]] :
// CHECK: %[[T1:.*]] = linalg.generic {{.*}} ins(%[[P1]] : tensor<16x4x4xf32>)
// CHECK: %[[X2:.*]] = linalg.generic {{.*}} ins(%[[T0]], %[[T1]] :
// CHECK: %[[S1:.*]] = linalg.generic {{.*}} ins(%[[T1]], %[[T1]] :
// CHECK: %[[P2:.*]] = linalg.generic {{.*}} ins(%[[P1]], %[[S1]] :
// CHECK: %[[T2:.*]] = linalg.generic {{.*}} ins(%[[P2]] : tensor<16x4x4xf32>)
// CHECK: linalg.generic {{.*}} ins(%[[X2]], %[[T2]] :
// CHECK-COUNT-21: iterator_types = ["parallel", "parallel", "reduction", "parallel"]
// CHECK-NOT: iterator_types = ["parallel", "parallel", "reduction", "parallel"]
// CHECK: math.sqrt
// CHECK: return
func.func @inv_sqrt(%r: tensor<2x8x4x4xf32>) -> tensor<2x8x4x4xf32> {
  %0 = mstream.inv_sqrt %r : tensor<2x8x4x4xf32>
  return %0 : tensor<2x8x4x4xf32>
}

// -----

// tmm: the scalars are mapped once, in operand order (sigmoid of beta,
// softplus of gamma and nu), then beta v + gamma g, its LayerNorm, and
// x + nu v'.
// CHECK-LABEL: func.func @tmm
// CHECK: tensor.extract %arg3
// CHECK: tensor.extract %arg4
// CHECK: math.log1p
// CHECK: tensor.extract %arg5
// CHECK: math.log1p
// CHECK: %[[PRE:.*]] = linalg.generic {{.*}} ins(%arg1, %arg2 : tensor<2x8x16xf32>, tensor<2x8x16xf32>)
// CHECK: iterator_types = ["parallel", "parallel", "reduction"]{{.*}} ins(%[[PRE]] : tensor<2x8x16xf32>)
// CHECK: %[[V:.*]] = linalg.generic {{.*}} ins(%[[PRE]], {{.*}}, %arg6 : tensor<2x8x16xf32>, tensor<2x8xf32>, tensor<2x8xf32>, tensor<16xf32>)
// CHECK: %[[X:.*]] = linalg.generic {{.*}} ins(%arg0, %[[V]] : tensor<2x8x16xf32>, tensor<2x8x16xf32>)
// CHECK: return %[[X]], %[[V]]
func.func @tmm(%x: tensor<2x8x16xf32>, %v: tensor<2x8x16xf32>, %g: tensor<2x8x16xf32>, %b: tensor<1xf32>, %c: tensor<1xf32>, %n: tensor<1xf32>, %w: tensor<16xf32>) -> (tensor<2x8x16xf32>, tensor<2x8x16xf32>) {
  %0:2 = mstream.tmm x(%x) v(%v) grad(%g) beta(%b) gamma(%c) nu(%n) ln_v(%w) : tensor<2x8x16xf32>, tensor<1xf32>, tensor<16xf32>
  return %0#0, %0#1 : tensor<2x8x16xf32>, tensor<2x8x16xf32>
}

// -----

// soap: G viewed per head, GᵀG per token, InvSqrt (its square root of the
// norm last), M' x R^-1/2.
// CHECK-LABEL: func.func @soap
// CHECK: tensor.expand_shape %arg3 {{.*}} into tensor<2x8x4x4xf32>
// CHECK: linalg.generic {{.*}}iterator_types = ["parallel", "parallel", "reduction", "parallel"]
// CHECK: math.sqrt
// CHECK: math.sqrt
// CHECK: tensor.collapse_shape {{.*}} into tensor<2x8x16xf32>
// CHECK-NOT: mstream.
func.func @soap(%x: tensor<2x8x16xf32>, %m: tensor<2x8x16xf32>, %r: tensor<2x8x4x4xf32>, %g: tensor<2x8x16xf32>, %c: tensor<1xf32>, %w: tensor<16xf32>) -> tensor<2x8x16xf32> {
  %0:3 = mstream.soap x(%x) m(%m) r(%r : tensor<2x8x4x4xf32>) grad(%g) beta1(%c) beta_r(%c) gamma(%c) ln_u(%w) {heads = 4 : i64} : tensor<2x8x16xf32>, tensor<1xf32>, tensor<16xf32>
  return %0#0 : tensor<2x8x16xf32>
}

// -----

// CHECK-LABEL: func.func @embedding_and_loss
// CHECK: tensor.extract_slice %arg2[0, 0] [8, 16] [1, 1] : tensor<32x16xf32> to tensor<8x16xf32>
// CHECK: arith.index_cast
// CHECK: tensor.extract %arg1
// CHECK: linalg.matmul
// CHECK: math.log
// CHECK: %[[COUNT:.*]] = arith.constant 1.600000e+01 : f32
// CHECK: arith.divf %{{.*}}, %[[COUNT]]
func.func @embedding_and_loss(%ids: tensor<2x8xi32>, %tok: tensor<64x16xf32>, %pos: tensor<32x16xf32>) -> tensor<f32> {
  %x = mstream.embedding %ids, %tok, %pos : (tensor<2x8xi32>, tensor<64x16xf32>, tensor<32x16xf32>) -> tensor<2x8x16xf32>
  %l = mstream.tied_head %x, %tok : (tensor<2x8x16xf32>, tensor<64x16xf32>) -> tensor<2x8x64xf32>
  %loss = mstream.cross_entropy %l, %ids : tensor<2x8x64xf32>, tensor<2x8xi32> -> tensor<f32>
  return %loss : tensor<f32>
}
