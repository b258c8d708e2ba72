// RUN: mstream-opt %s --mstream-private-fill-inits --split-input-file | FileCheck %s
// RUN: mstream-opt %s --mstream-private-fill-inits --one-shot-bufferize="allow-return-allocs-from-loops" --split-input-file | FileCheck %s --check-prefix=BUF

// One fill (as CSE leaves it) initialises two GEMMs: each gets its own,
// right before it, and the shared one goes. Bufferized, both GEMMs write
// into fresh buffers: no copy of a shared zero buffer.
// CHECK-LABEL: func.func @shared
// CHECK-NEXT: %[[ZERO:.*]] = arith.constant 0.0
// CHECK-NEXT: %[[E1:.*]] = tensor.empty() : tensor<4x4xf32>
// CHECK-NEXT: %[[F1:.*]] = linalg.fill ins(%[[ZERO]] : f32) outs(%[[E1]] : tensor<4x4xf32>)
// CHECK-NEXT: %[[M1:.*]] = linalg.matmul ins(%{{.*}}, %{{.*}} : tensor<4x4xf32>, tensor<4x4xf32>) outs(%[[F1]] : tensor<4x4xf32>)
// CHECK-NEXT: %[[E2:.*]] = tensor.empty() : tensor<4x4xf32>
// CHECK-NEXT: %[[F2:.*]] = linalg.fill ins(%[[ZERO]] : f32) outs(%[[E2]] : tensor<4x4xf32>)
// CHECK-NEXT: linalg.matmul ins(%[[M1]], %{{.*}} : tensor<4x4xf32>, tensor<4x4xf32>) outs(%[[F2]] : tensor<4x4xf32>)
// CHECK-NOT: linalg.fill
// BUF-LABEL: func.func @shared
// BUF-NOT: memref.copy
// BUF: return
func.func @shared(%a: tensor<4x4xf32>, %b: tensor<4x4xf32>) -> tensor<4x4xf32> {
  %zero = arith.constant 0.0 : f32
  %empty = tensor.empty() : tensor<4x4xf32>
  %fill = linalg.fill ins(%zero : f32) outs(%empty : tensor<4x4xf32>) -> tensor<4x4xf32>
  %ab = linalg.matmul ins(%a, %b : tensor<4x4xf32>, tensor<4x4xf32>) outs(%fill : tensor<4x4xf32>) -> tensor<4x4xf32>
  %abb = linalg.matmul ins(%ab, %b : tensor<4x4xf32>, tensor<4x4xf32>) outs(%fill : tensor<4x4xf32>) -> tensor<4x4xf32>
  return %abb : tensor<4x4xf32>
}

// -----

// A fill hoisted out of an iteration moves back into it, and so does the
// empty of a fill already there: the iteration yields each step's GEMM
// result without copying it out of a buffer that the next step reuses.
// CHECK-LABEL: func.func @iteration
// CHECK: scf.for
// CHECK-NEXT: tensor.empty() : tensor<4x4xf32>
// CHECK-NEXT: linalg.fill
// CHECK-NEXT: linalg.matmul
// CHECK-NEXT: tensor.empty() : tensor<4x4xf32>
// CHECK-NEXT: linalg.fill
// CHECK-NEXT: linalg.matmul
// CHECK-NEXT: scf.yield
// BUF-LABEL: func.func @iteration
// BUF: scf.for
// BUF-NOT: memref.copy
// BUF: scf.yield
func.func @iteration(%x: tensor<4x4xf32>) -> tensor<4x4xf32> {
  %zero = arith.constant 0.0 : f32
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c5 = arith.constant 5 : index
  %empty = tensor.empty() : tensor<4x4xf32>
  %fill = linalg.fill ins(%zero : f32) outs(%empty : tensor<4x4xf32>) -> tensor<4x4xf32>
  %r = scf.for %i = %c0 to %c5 step %c1 iter_args(%y = %x) -> tensor<4x4xf32> {
    %yy = linalg.matmul ins(%y, %y : tensor<4x4xf32>, tensor<4x4xf32>) outs(%fill : tensor<4x4xf32>) -> tensor<4x4xf32>
    %inner = linalg.fill ins(%zero : f32) outs(%empty : tensor<4x4xf32>) -> tensor<4x4xf32>
    %next = linalg.matmul ins(%yy, %y : tensor<4x4xf32>, tensor<4x4xf32>) outs(%inner : tensor<4x4xf32>) -> tensor<4x4xf32>
    scf.yield %next : tensor<4x4xf32>
  }
  return %r : tensor<4x4xf32>
}

// -----

// A fill with ops between it and its only user moves next to the user,
// where mstream-gemm-to-blas finds it.
// CHECK-LABEL: func.func @separated
// CHECK: linalg.matmul
// CHECK-NEXT: tensor.empty() : tensor<4x4xf32>
// CHECK-NEXT: linalg.fill
// CHECK-NEXT: linalg.matmul
func.func @separated(%a: tensor<4x4xf32>, %b: tensor<4x4xf32>, %c: tensor<4x4xf32>) -> (tensor<4x4xf32>, tensor<4x4xf32>) {
  %zero = arith.constant 0.0 : f32
  %empty = tensor.empty() : tensor<4x4xf32>
  %fill = linalg.fill ins(%zero : f32) outs(%empty : tensor<4x4xf32>) -> tensor<4x4xf32>
  %ab = linalg.matmul ins(%a, %b : tensor<4x4xf32>, tensor<4x4xf32>) outs(%c : tensor<4x4xf32>) -> tensor<4x4xf32>
  %aa = linalg.matmul ins(%a, %a : tensor<4x4xf32>, tensor<4x4xf32>) outs(%fill : tensor<4x4xf32>) -> tensor<4x4xf32>
  return %ab, %aa : tensor<4x4xf32>, tensor<4x4xf32>
}

// -----

// One fill per init use, the op right before it (here the original's
// place); a fill read as an input and a fill of a dynamically shaped empty
// are left alone.
// CHECK-LABEL: func.func @private_already
// CHECK-COUNT-3: linalg.fill
// CHECK-NOT: linalg.fill
// CHECK: return
func.func @private_already(%a: tensor<4x4xf32>, %n: index) -> (tensor<4x4xf32>, tensor<4x4xf32>, tensor<?xf32>, tensor<?xf32>) {
  %zero = arith.constant 0.0 : f32
  %empty = tensor.empty() : tensor<4x4xf32>
  %fill = linalg.fill ins(%zero : f32) outs(%empty : tensor<4x4xf32>) -> tensor<4x4xf32>
  %aa = linalg.matmul ins(%a, %a : tensor<4x4xf32>, tensor<4x4xf32>) outs(%fill : tensor<4x4xf32>) -> tensor<4x4xf32>
  %empty2 = tensor.empty() : tensor<4x4xf32>
  %zeros = linalg.fill ins(%zero : f32) outs(%empty2 : tensor<4x4xf32>) -> tensor<4x4xf32>
  %za = linalg.matmul ins(%zeros, %a : tensor<4x4xf32>, tensor<4x4xf32>) outs(%a : tensor<4x4xf32>) -> tensor<4x4xf32>
  %zaz = linalg.matmul ins(%za, %zeros : tensor<4x4xf32>, tensor<4x4xf32>) outs(%a : tensor<4x4xf32>) -> tensor<4x4xf32>
  %dyn = tensor.empty(%n) : tensor<?xf32>
  %dfill = linalg.fill ins(%zero : f32) outs(%dyn : tensor<?xf32>) -> tensor<?xf32>
  return %aa, %zaz, %dfill, %dfill : tensor<4x4xf32>, tensor<4x4xf32>, tensor<?xf32>, tensor<?xf32>
}
