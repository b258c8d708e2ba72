// RUN: mstream-opt %s --mstream-free-after-last-use --split-input-file | FileCheck %s

// Each temporary is freed right after its last use, before the next one is
// allocated, instead of at the end of the function.
// CHECK-LABEL: func.func @chain
// CHECK: %[[A:.*]] = memref.alloc() : memref<4xf32>
// CHECK-NEXT: linalg.fill ins(%{{.*}} : f32) outs(%[[A]] : memref<4xf32>)
// CHECK-NEXT: %[[B:.*]] = memref.alloc() : memref<4xf32>
// CHECK-NEXT: linalg.copy ins(%[[A]] : memref<4xf32>) outs(%[[B]] : memref<4xf32>)
// CHECK-NEXT: memref.dealloc %[[A]]
// CHECK-NEXT: linalg.copy ins(%[[B]] : memref<4xf32>) outs(%{{.*}} : memref<4xf32>)
// CHECK-NEXT: memref.dealloc %[[B]]
// CHECK-NEXT: %[[C:.*]] = memref.alloc() : memref<4xf32>
// CHECK-NEXT: memref.dealloc %[[C]]
// CHECK-NEXT: return
func.func @chain(%out: memref<4xf32>) {
  %zero = arith.constant 0.0 : f32
  %a = memref.alloc() : memref<4xf32>
  linalg.fill ins(%zero : f32) outs(%a : memref<4xf32>)
  %b = memref.alloc() : memref<4xf32>
  linalg.copy ins(%a : memref<4xf32>) outs(%b : memref<4xf32>)
  linalg.copy ins(%b : memref<4xf32>) outs(%out : memref<4xf32>)
  %c = memref.alloc() : memref<4xf32>
  memref.dealloc %a : memref<4xf32>
  memref.dealloc %b : memref<4xf32>
  memref.dealloc %c : memref<4xf32>
  return
}

// -----

// A view keeps its buffer alive, and so does a use inside a loop: the
// dealloc goes after the loop that reads the view.
// CHECK-LABEL: func.func @aliases
// CHECK: %[[A:.*]] = memref.alloc() : memref<8xf32>
// CHECK: %[[V:.*]] = memref.subview %[[A]]
// CHECK: scf.for
// CHECK: memref.load %[[V]]
// CHECK: }
// CHECK-NEXT: memref.dealloc %[[A]]
// CHECK-NEXT: memref.store
// CHECK-NEXT: return
func.func @aliases(%out: memref<f32>) {
  %zero = arith.constant 0.0 : f32
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  %a = memref.alloc() : memref<8xf32>
  linalg.fill ins(%zero : f32) outs(%a : memref<8xf32>)
  %v = memref.subview %a[4] [4] [1] : memref<8xf32> to memref<4xf32, strided<[1], offset: 4>>
  %sum = scf.for %i = %c0 to %c4 step %c1 iter_args(%acc = %zero) -> f32 {
    %x = memref.load %v[%i] : memref<4xf32, strided<[1], offset: 4>>
    %next = arith.addf %acc, %x : f32
    scf.yield %next : f32
  }
  memref.store %sum, %out[] : memref<f32>
  memref.dealloc %a : memref<8xf32>
  return
}

// -----

// Left alone: a buffer allocated in another block, and one that a call may
// return an alias of, which the loop body yields.
// CHECK-LABEL: func.func @stays
// CHECK: %[[OUTER:.*]] = memref.alloc() : memref<4xf32>
// CHECK: scf.for
// CHECK-NEXT: %[[INNER:.*]] = memref.alloc() : memref<4xf32>
// CHECK-NEXT: linalg.copy ins(%[[INNER]] : memref<4xf32>) outs(%[[OUTER]] : memref<4xf32>)
// CHECK-NEXT: %[[ALIAS:.*]] = func.call @alias(%[[INNER]])
// CHECK-NEXT: memref.dealloc %[[OUTER]]
// CHECK-NEXT: memref.dealloc %[[INNER]]
// CHECK-NEXT: scf.yield %[[ALIAS]]
func.func private @alias(memref<4xf32>) -> memref<4xf32>
func.func @stays(%n: index) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %outer = memref.alloc() : memref<4xf32>
  %init = memref.alloc() : memref<4xf32>
  %last = scf.for %i = %c0 to %n step %c1 iter_args(%carried = %init) -> memref<4xf32> {
    %inner = memref.alloc() : memref<4xf32>
    linalg.copy ins(%inner : memref<4xf32>) outs(%outer : memref<4xf32>)
    %alias = func.call @alias(%inner) : (memref<4xf32>) -> memref<4xf32>
    memref.dealloc %outer : memref<4xf32>
    memref.dealloc %inner : memref<4xf32>
    scf.yield %alias : memref<4xf32>
  }
  return
}
