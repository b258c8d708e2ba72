// RUN: mstream-opt %s --mstream-lower-to-linalg --split-input-file | FileCheck %s

// Global norm: one full reduction per gradient, then scalar arithmetic.
// CHECK-LABEL: func.func @clip
// CHECK: linalg.generic {{.*}}iterator_types = ["reduction", "reduction"]
// CHECK: linalg.generic {{.*}}iterator_types = ["reduction"]
// CHECK: math.sqrt
// CHECK: arith.minimumf
// CHECK-COUNT-2: tensor.from_elements
// CHECK-NOT: mstream.
func.func @clip(%g0: tensor<4x8xf32>, %g1: tensor<8xf32>) -> (tensor<f32>, tensor<f32>) {
  %norm, %scale = mstream.clip_by_global_norm %g0, %g1 : tensor<4x8xf32>, tensor<8xf32>
  return %norm, %scale : tensor<f32>, tensor<f32>
}

// -----

// AdamW: the bias corrections are scalars; each parameter is one generic
// reading p, g, m, v once and writing p', m', v' once.
// CHECK-LABEL: func.func @adamw
// CHECK-COUNT-2: math.powf
// CHECK: linalg.generic {{.*}} ins(%arg0, %arg2, %arg4, %arg6 : tensor<16x8xf32>, tensor<16x8xf32>, tensor<16x8xf32>, tensor<16x8xf32>) outs(%{{.*}}, %{{.*}}, %{{.*}} : tensor<16x8xf32>, tensor<16x8xf32>, tensor<16x8xf32>)
// CHECK: math.sqrt
// CHECK: linalg.generic {{.*}} ins(%arg1, %arg3, %arg5, %arg7 : tensor<8xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>) outs(%{{.*}}, %{{.*}}, %{{.*}} : tensor<8xf32>, tensor<8xf32>, tensor<8xf32>)
// CHECK-NOT: mstream.
func.func @adamw(%p0: tensor<16x8xf32>, %p1: tensor<8xf32>, %g0: tensor<16x8xf32>, %g1: tensor<8xf32>,
                 %m0: tensor<16x8xf32>, %m1: tensor<8xf32>, %v0: tensor<16x8xf32>, %v1: tensor<8xf32>,
                 %lr: tensor<f32>, %t: tensor<f32>, %s: tensor<f32>) -> tensor<8xf32> {
  %p:2, %m:2, %v:2 = mstream.adamw_update params(%p0, %p1) grads(%g0, %g1) m(%m0, %m1) v(%v0, %v1)
      lr(%lr) step(%t) scale(%s) : tensor<16x8xf32>, tensor<8xf32>
  return %p#1 : tensor<8xf32>
}

// -----

// Muon on a square matrix: momentum in one generic, Frobenius
// normalisation, then NS5 as BLAS batch GEMMs in an scf.for (Gram, its
// square, the polynomial times the iterate), and the lr · 1 update.
// CHECK-LABEL: func.func @muon_square
// CHECK: linalg.generic {{.*}} ins(%arg1, %arg2 : tensor<12x12xf32>, tensor<12x12xf32>) outs(%{{.*}}, %{{.*}} : tensor<12x12xf32>, tensor<12x12xf32>)
// CHECK: scf.for
// CHECK-COUNT-3: linalg.batch_matmul {{.*}}ins(%{{.*}}, %{{.*}} : tensor<1x12x12xf32>, tensor<1x12x12xf32>)
// CHECK: scf.yield
// CHECK-NOT: mstream.
func.func @muon_square(%p: tensor<12x12xf32>, %g: tensor<12x12xf32>, %b: tensor<12x12xf32>, %lr: tensor<f32>, %s: tensor<f32>) -> tensor<12x12xf32> {
  %p1, %b1 = mstream.muon_update params(%p) grads(%g) bufs(%b) lr(%lr) scale(%s) : tensor<12x12xf32>
  return %p1 : tensor<12x12xf32>
}

// -----

// A tall [24, 8] matrix (aspect 3) runs NS5 in the 8x8 Gram space,
// unrolled: the Gram XᵀX; per step its square, the polynomial and the
// running product P p; between steps the Gram moves on as sym(p² A). The
// squares of the symmetric A and p are written A Aᵀ and p pᵀ (explicit
// maps), which the runtime runs as ssyrk. After
// 3 steps the iterate X P is formed and its Gram recomputed; the result is
// X P, scaled by lr · sqrt(24/8).
// CHECK-LABEL: func.func @muon_tall
// CHECK-NOT: scf.for
// CHECK: %[[Y:.*]] = linalg.generic {{.*}}ins(%{{.*}}, %{{.*}} : tensor<1x24x8xf32>, tensor<1xf32>)
// CHECK: %[[A0:.*]] = linalg.batch_matmul {{.*}}ins(%[[Y]], %[[Y]] : tensor<1x24x8xf32>, tensor<1x24x8xf32>) outs(%{{.*}} : tensor<1x8x8xf32>)
// CHECK: %[[SQ0:.*]] = linalg.batch_matmul indexing_maps = {{.*}} ins(%[[A0]], %[[A0]] :
// CHECK: %[[P0:.*]] = linalg.generic {{.*}}ins(%[[A0]], %[[SQ0]] :
// CHECK: %[[PP0:.*]] = linalg.batch_matmul indexing_maps = {{.*}} ins(%[[P0]], %[[P0]] :
// CHECK: %[[M0:.*]] = linalg.batch_matmul ins(%[[PP0]], %[[A0]] :
// CHECK: %[[A1:.*]] = linalg.generic {{.*}}ins(%[[M0]], %[[M0]] :
// CHECK: %[[SQ1:.*]] = linalg.batch_matmul indexing_maps = {{.*}} ins(%[[A1]], %[[A1]] :
// CHECK: %[[P1:.*]] = linalg.generic {{.*}}ins(%[[A1]], %[[SQ1]] :
// CHECK: linalg.batch_matmul ins(%[[P0]], %[[P1]] :
// CHECK: linalg.batch_matmul indexing_maps = {{.*}} ins(%{{.*}}, %{{.*}} : tensor<1x8x8xf32>, tensor<1x8x8xf32>)
// CHECK: linalg.batch_matmul ins(%{{.*}}, %{{.*}} : tensor<1x8x8xf32>, tensor<1x8x8xf32>)
// CHECK: linalg.generic
// CHECK: linalg.batch_matmul indexing_maps = {{.*}} ins(%{{.*}}, %{{.*}} : tensor<1x8x8xf32>, tensor<1x8x8xf32>)
// CHECK: linalg.batch_matmul ins(%{{.*}}, %{{.*}} : tensor<1x8x8xf32>, tensor<1x8x8xf32>)
// CHECK: %[[Y3:.*]] = linalg.batch_matmul ins(%[[Y]], %{{.*}} : tensor<1x24x8xf32>, tensor<1x8x8xf32>) outs(%{{.*}} : tensor<1x24x8xf32>)
// CHECK: linalg.batch_matmul {{.*}}ins(%[[Y3]], %[[Y3]] : tensor<1x24x8xf32>, tensor<1x24x8xf32>) outs(%{{.*}} : tensor<1x8x8xf32>)
// CHECK: linalg.batch_matmul ins(%[[Y3]], %{{.*}} : tensor<1x24x8xf32>, tensor<1x8x8xf32>) outs(%{{.*}} : tensor<1x24x8xf32>)
// CHECK: arith.constant 1.73205
// CHECK-NOT: mstream.
func.func @muon_tall(%p: tensor<24x8xf32>, %g: tensor<24x8xf32>, %b: tensor<24x8xf32>, %lr: tensor<f32>, %s: tensor<f32>) -> tensor<24x8xf32> {
  %p1, %b1 = mstream.muon_update params(%p) grads(%g) bufs(%b) lr(%lr) scale(%s) : tensor<24x8xf32>
  return %p1 : tensor<24x8xf32>
}

// -----

// A wide matrix uses the Gram X Xᵀ, multiplies the iterate from the left,
// and the factor 1.
// CHECK-LABEL: func.func @muon_wide
// CHECK: linalg.batch_matmul {{.*}}ins(%{{.*}}, %{{.*}} : tensor<1x8x24xf32>, tensor<1x8x24xf32>) outs(%{{.*}} : tensor<1x8x8xf32>)
// CHECK: linalg.batch_matmul ins(%{{.*}}, %{{.*}} : tensor<1x8x8xf32>, tensor<1x8x24xf32>)
// CHECK-NOT: arith.constant 1.73205
func.func @muon_wide(%p: tensor<8x24xf32>, %g: tensor<8x24xf32>, %b: tensor<8x24xf32>, %lr: tensor<f32>, %s: tensor<f32>) -> tensor<8x24xf32> {
  %p1, %b1 = mstream.muon_update params(%p) grads(%g) bufs(%b) lr(%lr) scale(%s) : tensor<8x24xf32>
  return %p1 : tensor<8x24xf32>
}

// -----

// Matrices of one shape are orthogonalised as one stack, in the order they
// first appear: each momentum update writes its slot of the stack, the
// Newton-Schulz products are batched over the stack, and each final update
// reads its slot.
// CHECK-LABEL: func.func @muon_stacks
// CHECK: %[[TALL:.*]] = tensor.empty() : tensor<2x24x8xf32>
// CHECK: %[[WIDE:.*]] = tensor.empty() : tensor<1x8x24xf32>
// CHECK: %[[SLOT0:.*]] = tensor.extract_slice %[[TALL]][0, 0, 0] [1, 24, 8] [1, 1, 1]
// CHECK: %[[MOVED0:.*]]:2 = linalg.generic {{.*}} outs(%{{.*}}, %[[SLOT0]] :
// CHECK: %[[TALL1:.*]] = tensor.insert_slice %[[MOVED0]]#1 into %[[TALL]][0, 0, 0] [1, 24, 8] [1, 1, 1]
// CHECK: tensor.extract_slice %[[WIDE]][0, 0, 0] [1, 8, 24] [1, 1, 1]
// CHECK: tensor.extract_slice %[[TALL1]][1, 0, 0] [1, 24, 8] [1, 1, 1]
// CHECK: linalg.batch_matmul {{.*}}ins(%{{.*}}, %{{.*}} : tensor<2x24x8xf32>, tensor<2x24x8xf32>) outs(%{{.*}} : tensor<2x8x8xf32>)
// CHECK: linalg.batch_matmul {{.*}}ins(%{{.*}}, %{{.*}} : tensor<1x8x24xf32>, tensor<1x8x24xf32>) outs(%{{.*}} : tensor<1x8x8xf32>)
// CHECK-COUNT-3: tensor.extract_slice %{{.*}}[{{[01]}}, 0, 0]
func.func @muon_stacks(%p0: tensor<24x8xf32>, %p1: tensor<8x24xf32>, %p2: tensor<24x8xf32>,
                       %g0: tensor<24x8xf32>, %g1: tensor<8x24xf32>, %g2: tensor<24x8xf32>,
                       %b0: tensor<24x8xf32>, %b1: tensor<8x24xf32>, %b2: tensor<24x8xf32>,
                       %lr: tensor<f32>, %s: tensor<f32>) -> (tensor<24x8xf32>, tensor<8x24xf32>, tensor<24x8xf32>) {
  %p:3, %b:3 = mstream.muon_update params(%p0, %p1, %p2) grads(%g0, %g1, %g2) bufs(%b0, %b1, %b2)
      lr(%lr) scale(%s) : tensor<24x8xf32>, tensor<8x24xf32>, tensor<24x8xf32>
  return %p#0, %p#1, %p#2 : tensor<24x8xf32>, tensor<8x24xf32>, tensor<24x8xf32>
}
