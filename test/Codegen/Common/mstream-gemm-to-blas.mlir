// RUN: mstream-opt %s --mstream-gemm-to-blas --split-input-file | FileCheck %s
// RUN: mstream-opt %s --mstream-gemm-to-blas=in-token-loops=false --split-input-file | FileCheck %s --check-prefix=KERNEL

// A token's per-token product: to the BLAS on the CPU; kept as a loop nest
// for a GPU kernel (in-token-loops=false), while the one outside still goes.
// CHECK-LABEL: func.func @in_token_loop
// CHECK: scf.forall
// CHECK: call @mstream_sgemm
// CHECK: call @mstream_sgemm
// KERNEL-LABEL: func.func @in_token_loop
// KERNEL: scf.forall
// KERNEL: linalg.matmul
// KERNEL: }
// KERNEL: call @mstream_sgemm
func.func @in_token_loop(%a: memref<8x4x4xf32>, %c: memref<8x4x4xf32>, %x: memref<4x4xf32>, %y: memref<4x4xf32>) {
  scf.forall (%t) in (8) {
    %ta = memref.subview %a[%t, 0, 0] [1, 4, 4] [1, 1, 1] : memref<8x4x4xf32> to memref<4x4xf32, strided<[4, 1], offset: ?>>
    %tc = memref.subview %c[%t, 0, 0] [1, 4, 4] [1, 1, 1] : memref<8x4x4xf32> to memref<4x4xf32, strided<[4, 1], offset: ?>>
    linalg.matmul ins(%ta, %ta : memref<4x4xf32, strided<[4, 1], offset: ?>>, memref<4x4xf32, strided<[4, 1], offset: ?>>) outs(%tc : memref<4x4xf32, strided<[4, 1], offset: ?>>)
  }
  linalg.matmul ins(%x, %x : memref<4x4xf32>, memref<4x4xf32>) outs(%y : memref<4x4xf32>)
  return
}

// -----

// A zero fill of C right before the product goes: the call overwrites C
// (accumulate = 0). A fill of another value, or one with an op between it
// and the product, stays, and the product accumulates (accumulate = 1).
// CHECK-LABEL: func.func @zero_fill
// CHECK-DAG: %[[C0:.*]] = arith.constant 0 : index
// CHECK-DAG: %[[C1:.*]] = arith.constant 1 : index
// CHECK-NOT: linalg.fill
// CHECK: call @mstream_sgemm({{.*}}, %[[C0]])
// CHECK: linalg.fill ins(%{{.*}} : f32) outs(%[[Y:.*]] : memref<4x4xf32>)
// CHECK: call @mstream_sgemm({{.*}}, %[[C1]])
// CHECK: linalg.fill
// CHECK: memref.store
// CHECK: call @mstream_sgemm({{.*}}, %[[C1]])
func.func @zero_fill(%x: memref<4x4xf32>, %y: memref<4x4xf32>, %z: memref<4x4xf32>, %i: index) {
  %zero = arith.constant 0.0 : f32
  %one = arith.constant 1.0 : f32
  linalg.fill ins(%zero : f32) outs(%y : memref<4x4xf32>)
  linalg.matmul ins(%x, %x : memref<4x4xf32>, memref<4x4xf32>) outs(%y : memref<4x4xf32>)
  linalg.fill ins(%one : f32) outs(%y : memref<4x4xf32>)
  linalg.matmul ins(%x, %x : memref<4x4xf32>, memref<4x4xf32>) outs(%y : memref<4x4xf32>)
  linalg.fill ins(%zero : f32) outs(%z : memref<4x4xf32>)
  memref.store %one, %z[%i, %i] : memref<4x4xf32>
  linalg.matmul ins(%x, %x : memref<4x4xf32>, memref<4x4xf32>) outs(%z : memref<4x4xf32>)
  return
}

// -----

#a = affine_map<(m, n, k) -> (m, k)>
#bt = affine_map<(m, n, k) -> (n, k)>
#c = affine_map<(m, n, k) -> (m, n)>

// x Wᵀ: batch 1, transB = 1, M = 16, N = 48, K = 16, lda = 16, ldb = 16, ldc = 48.
// CHECK-LABEL: func.func @linear
// CHECK-DAG: %[[C1:.*]] = arith.constant 1 : index
// CHECK-DAG: %[[C0:.*]] = arith.constant 0 : index
// CHECK-DAG: %[[C16:.*]] = arith.constant 16 : index
// CHECK-DAG: %[[C48:.*]] = arith.constant 48 : index
// CHECK: call @mstream_sgemm(%[[C1]], %[[C0]], %[[C1]], %[[C16]], %[[C48]], %[[C16]], %{{.*}}, %[[C16]], %[[C0]], %{{.*}}, %[[C16]], %[[C0]], %{{.*}}, %[[C48]], %[[C0]], %[[C1]])
// CHECK-NOT: linalg.matmul
// CHECK: func.func private @mstream_sgemm(index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index)
func.func @linear(%x: memref<16x16xf32>, %w: memref<48x16xf32>, %y: memref<16x48xf32>) {
  linalg.matmul indexing_maps = [#a, #bt, #c] ins(%x, %w : memref<16x16xf32>, memref<48x16xf32>) outs(%y : memref<16x48xf32>)
  return
}

// -----

// Batched, plain B: batch 8, strides 64 (A, 8x8), 32 (B, 8x4), 32 (C).
// CHECK-LABEL: func.func @batched
// CHECK-DAG: %[[C8:.*]] = arith.constant 8 : index
// CHECK-DAG: %[[C0:.*]] = arith.constant 0 : index
// CHECK-DAG: %[[C4:.*]] = arith.constant 4 : index
// CHECK-DAG: %[[C64:.*]] = arith.constant 64 : index
// CHECK-DAG: %[[C32:.*]] = arith.constant 32 : index
// CHECK-DAG: %[[C1:.*]] = arith.constant 1 : index
// CHECK: call @mstream_sgemm(%[[C8]], %[[C0]], %[[C0]], %[[C8]], %[[C4]], %[[C8]], %{{.*}}, %[[C8]], %[[C64]], %{{.*}}, %[[C4]], %[[C32]], %{{.*}}, %[[C4]], %[[C32]], %[[C1]])
func.func @batched(%p: memref<8x8x8xf32>, %v: memref<8x8x4xf32>, %o: memref<8x8x4xf32>) {
  linalg.batch_matmul ins(%p, %v : memref<8x8x8xf32>, memref<8x8x4xf32>) outs(%o : memref<8x8x4xf32>)
  return
}

// -----

// Not f32, or not yet bufferized: left for generated loops.
// CHECK-LABEL: func.func @kept
// CHECK: linalg.matmul ins(%{{.*}}, %{{.*}} : memref<4x4xf64>, memref<4x4xf64>)
// CHECK: linalg.matmul ins(%{{.*}}, %{{.*}} : tensor<4x4xf32>, tensor<4x4xf32>)
// CHECK-NOT: mstream_sgemm
func.func @kept(%a: memref<4x4xf64>, %c: memref<4x4xf64>, %t: tensor<4x4xf32>) -> tensor<4x4xf32> {
  linalg.matmul ins(%a, %a : memref<4x4xf64>, memref<4x4xf64>) outs(%c : memref<4x4xf64>)
  %0 = linalg.matmul ins(%t, %t : tensor<4x4xf32>, tensor<4x4xf32>) outs(%t : tensor<4x4xf32>) -> tensor<4x4xf32>
  return %0 : tensor<4x4xf32>
}

// -----

// A column slice has a non-unit inner stride: BLAS cannot read it.
// CHECK-LABEL: func.func @strided
// CHECK: linalg.matmul
// CHECK-NOT: mstream_sgemm
func.func @strided(%a: memref<4x4xf32, strided<[1, 4]>>, %c: memref<4x4xf32>) {
  linalg.matmul ins(%a, %a : memref<4x4xf32, strided<[1, 4]>>, memref<4x4xf32, strided<[1, 4]>>) outs(%c : memref<4x4xf32>)
  return
}


// -----

// bf16 operands into an f32 result (mstream-apply-precision's products)
// call the bf16 entry, with byte offsets of 2-byte elements (the view's
// 16 elements are 32 bytes); a product mixing f32 and bf16 operands has no
// BLAS call and stays a loop nest.
// CHECK-LABEL: func.func @bf16_operands
// CHECK: %[[BYTES:.*]] = arith.constant 32 : index
// CHECK: %[[A:.*]] = arith.addi %{{.*}}, %[[BYTES]] : index
// CHECK: call @mstream_gemm_bf16({{.*}}, %[[A]],
// CHECK: linalg.matmul ins(%{{.*}}, %{{.*}} : memref<4x4xbf16>, memref<4x4xf32>)
func.func @bf16_operands(%a: memref<8x4xbf16>, %b: memref<4x4xbf16>, %c: memref<4x4xf32>, %d: memref<4x4xbf16>, %e: memref<4x4xf32>) {
  %s = memref.subview %a[4, 0] [4, 4] [1, 1] : memref<8x4xbf16> to memref<4x4xbf16, strided<[4, 1], offset: 16>>
  linalg.matmul ins(%s, %b : memref<4x4xbf16, strided<[4, 1], offset: 16>>, memref<4x4xbf16>) outs(%c : memref<4x4xf32>)
  linalg.matmul ins(%d, %e : memref<4x4xbf16>, memref<4x4xf32>) outs(%c : memref<4x4xf32>)
  return
}
