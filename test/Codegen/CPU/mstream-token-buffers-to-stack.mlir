// RUN: mstream-opt %s --mstream-token-buffers-to-stack --split-input-file | FileCheck %s
// RUN: mstream-opt %s --mstream-token-buffers-to-stack="max-bytes=40" --split-input-file | FileCheck %s --check-prefix=BUDGET

// A token's buffer, and one an inner loop allocates each iteration, move to
// the frame: one alloca each at the entry, no malloc or free per token.
// CHECK-LABEL: func.func private @tokens
// CHECK-SAME: mstream.token_range
// CHECK-NEXT: %[[A:.*]] = memref.alloca() {alignment = 64 : i64} : memref<8xf32>
// CHECK-NEXT: %[[B:.*]] = memref.alloca() : memref<4xf32>
// CHECK-NOT: memref.alloc(
// CHECK-NOT: memref.dealloc
// CHECK: linalg.fill ins(%{{.*}} : f32) outs(%[[A]] : memref<8xf32>)
// CHECK: linalg.fill ins(%{{.*}} : f32) outs(%[[B]] : memref<4xf32>)
// BUDGET-LABEL: func.func private @tokens
// BUDGET-NEXT: %[[A:.*]] = memref.alloca() {alignment = 64 : i64} : memref<8xf32>
// BUDGET: memref.alloc() : memref<4xf32>
// BUDGET: memref.dealloc
func.func private @tokens(%begin: index, %end: index, %out: memref<16xf32>) attributes {mstream.token_range} {
  %zero = arith.constant 0.0 : f32
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c3 = arith.constant 3 : index
  scf.for %t = %begin to %end step %c1 {
    %a = memref.alloc() {alignment = 64 : i64} : memref<8xf32>
    linalg.fill ins(%zero : f32) outs(%a : memref<8xf32>)
    scf.for %i = %c0 to %c3 step %c1 {
      %b = memref.alloc() : memref<4xf32>
      linalg.fill ins(%zero : f32) outs(%b : memref<4xf32>)
      %x = memref.load %b[%c0] : memref<4xf32>
      memref.store %x, %a[%i] : memref<8xf32>
      memref.dealloc %b : memref<4xf32>
    }
    %y = memref.load %a[%c0] : memref<8xf32>
    memref.store %y, %out[%t] : memref<16xf32>
    memref.dealloc %a : memref<8xf32>
  }
  return
}

// -----

// Left on the heap: a buffer a loop yields to its next iteration (its
// lifetime is not one run of its block), one freed in another block, one
// of dynamic size, and any buffer of a function that is not a token range.
// CHECK-LABEL: func.func private @escapes
// CHECK-NOT: memref.alloca
// CHECK-COUNT-3: memref.alloc(
// CHECK-LABEL: func.func @not_a_token_range
// CHECK-NOT: memref.alloca
func.func private @escapes(%begin: index, %end: index, %n: index, %init: memref<4xf32>) attributes {mstream.token_range} {
  %zero = arith.constant 0.0 : f32
  %c1 = arith.constant 1 : index
  %last = scf.for %t = %begin to %end step %c1 iter_args(%prev = %init) -> memref<4xf32> {
    %next = memref.alloc() : memref<4xf32>
    memref.copy %prev, %next : memref<4xf32> to memref<4xf32>
    scf.yield %next : memref<4xf32>
  }
  %outer = memref.alloc() : memref<4xf32>
  scf.for %t = %begin to %end step %c1 {
    linalg.fill ins(%zero : f32) outs(%outer : memref<4xf32>)
    memref.dealloc %outer : memref<4xf32>
  }
  %dynamic = memref.alloc(%n) : memref<?xf32>
  linalg.fill ins(%zero : f32) outs(%dynamic : memref<?xf32>)
  memref.dealloc %dynamic : memref<?xf32>
  return
}

func.func @not_a_token_range(%out: memref<4xf32>) {
  %zero = arith.constant 0.0 : f32
  %a = memref.alloc() : memref<4xf32>
  linalg.fill ins(%zero : f32) outs(%a : memref<4xf32>)
  memref.copy %a, %out : memref<4xf32> to memref<4xf32>
  memref.dealloc %a : memref<4xf32>
  return
}
