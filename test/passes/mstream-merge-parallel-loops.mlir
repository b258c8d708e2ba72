// RUN: mstream-opt %s --mstream-merge-parallel-loops --split-input-file | FileCheck %s

// Three independent updates (a weight optimizer's group): one loop over
// 8 + 12 + 4 points, a tree of branches on the flat index, each leaf the
// original body at its local point; the dealloc of a buffer the first loop
// read moves after the merged loop, the alloc and the unrelated load stay
// before it.
// CHECK-LABEL: func.func @updates
// CHECK: memref.alloc
// CHECK: memref.load %arg6[]
// CHECK-NOT: scf.parallel
// CHECK: %[[END1:.*]] = arith.addi %c0{{.*}}, %{{.*}} : index
// CHECK: %[[END2:.*]] = arith.addi %[[END1]], %{{.*}} : index
// CHECK: %[[END3:.*]] = arith.addi %[[END2]], %{{.*}} : index
// CHECK: scf.parallel (%[[I:.*]]) = (%c0{{.*}}) to (%[[END3]]) step (%c1{{.*}})
// CHECK: %[[FIRST:.*]] = arith.cmpi ult, %[[I]], %[[END1]]
// CHECK: scf.if %[[FIRST]] {
// CHECK: memref.store %{{.*}}, %arg1[
// CHECK: } else {
// CHECK: %[[SECOND:.*]] = arith.cmpi ult, %[[I]], %[[END2]]
// CHECK: scf.if %[[SECOND]] {
// CHECK: %[[LOCAL:.*]] = arith.subi %[[I]], %[[END1]]
// CHECK: arith.remui %[[LOCAL]], %[[COLS:.*]] : index
// CHECK: arith.divui %[[LOCAL]], %[[COLS]] : index
// CHECK: memref.store %{{.*}}, %arg3[
// CHECK: } else {
// CHECK: arith.subi %[[I]], %[[END2]]
// CHECK: memref.store %{{.*}}, %[[NEW:.*]][
// CHECK: scf.reduce
// CHECK-NEXT: }
// CHECK-NEXT: memref.dealloc %[[TMP:.*]] :
// CHECK-NOT: scf.parallel
// CHECK: return
func.func @updates(%p0: memref<8xf32>, %o0: memref<8xf32>, %p1: memref<3x4xf32>,
                   %o1: memref<3x4xf32>, %p2: memref<4xf32>, %tmp: memref<8xf32>,
                   %lr: memref<f32>) -> memref<4xf32> {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c3 = arith.constant 3 : index
  %c4 = arith.constant 4 : index
  %c8 = arith.constant 8 : index
  %t = memref.alloc() : memref<8xf32>
  memref.copy %tmp, %t : memref<8xf32> to memref<8xf32>
  scf.parallel (%i) = (%c0) to (%c8) step (%c1) {
    %v = memref.load %p0[%i] : memref<8xf32>
    %w = memref.load %t[%i] : memref<8xf32>
    %s = arith.addf %v, %w : f32
    memref.store %s, %o0[%i] : memref<8xf32>
    scf.reduce
  }
  memref.dealloc %t : memref<8xf32>
  %new = memref.alloc() : memref<4xf32>
  %rate = memref.load %lr[] : memref<f32>
  scf.parallel (%i, %j) = (%c0, %c0) to (%c3, %c4) step (%c1, %c1) {
    %v = memref.load %p1[%i, %j] : memref<3x4xf32>
    %s = arith.mulf %v, %rate : f32
    memref.store %s, %o1[%i, %j] : memref<3x4xf32>
    scf.reduce
  }
  scf.parallel (%i) = (%c0) to (%c4) step (%c1) {
    %v = memref.load %p2[%i] : memref<4xf32>
    memref.store %v, %new[%i] : memref<4xf32>
    scf.reduce
  }
  return %new : memref<4xf32>
}

// -----

// The second loop reads what the first writes: two kernels, in order.
// CHECK-LABEL: func.func @dependent
// CHECK: scf.parallel
// CHECK: memref.store %{{.*}}, %arg1[
// CHECK: scf.parallel
// CHECK: memref.load %arg1[
// CHECK-NOT: scf.if
func.func @dependent(%a: memref<8xf32>, %b: memref<8xf32>, %c: memref<8xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c8 = arith.constant 8 : index
  scf.parallel (%i) = (%c0) to (%c8) step (%c1) {
    %v = memref.load %a[%i] : memref<8xf32>
    memref.store %v, %b[%i] : memref<8xf32>
    scf.reduce
  }
  scf.parallel (%i) = (%c0) to (%c8) step (%c1) {
    %v = memref.load %b[%i] : memref<8xf32>
    memref.store %v, %c[%i] : memref<8xf32>
    scf.reduce
  }
  return
}

// -----

// A view of the first loop's output is the same buffer; the second loop
// writes what the first reads.
// CHECK-LABEL: func.func @views
// CHECK-COUNT-2: scf.parallel
// CHECK-NOT: scf.if
func.func @views(%a: memref<8xf32>, %b: memref<8xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  %c8 = arith.constant 8 : index
  scf.parallel (%i) = (%c0) to (%c8) step (%c1) {
    %v = memref.load %a[%i] : memref<8xf32>
    memref.store %v, %b[%i] : memref<8xf32>
    scf.reduce
  }
  %view = memref.subview %b[4] [4] [1] : memref<8xf32> to memref<4xf32, strided<[1], offset: 4>>
  scf.parallel (%i) = (%c0) to (%c4) step (%c1) {
    %v = memref.load %view[%i] : memref<4xf32, strided<[1], offset: 4>>
    memref.store %v, %a[%i] : memref<8xf32>
    scf.reduce
  }
  return
}

// -----

// What stays apart: a call between two loops (its effects are unknown), a
// host load of a buffer the loop before it wrote, a loop with a reduction
// and a token loop.
// CHECK-LABEL: func.func @barriers
// CHECK-COUNT-6: scf.parallel
// CHECK-NOT: scf.if
func.func private @opaque()
func.func @barriers(%a: memref<8xf32>, %b: memref<8xf32>, %c: memref<8xf32>,
                    %d: memref<8xf32>, %e: memref<8xf32>, %f: memref<f32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c8 = arith.constant 8 : index
  %zero = arith.constant 0.0 : f32
  scf.parallel (%i) = (%c0) to (%c8) step (%c1) {
    %v = memref.load %a[%i] : memref<8xf32>
    memref.store %v, %b[%i] : memref<8xf32>
    scf.reduce
  }
  func.call @opaque() : () -> ()
  scf.parallel (%i) = (%c0) to (%c8) step (%c1) {
    %v = memref.load %a[%i] : memref<8xf32>
    memref.store %v, %c[%i] : memref<8xf32>
    scf.reduce
  }
  %first = memref.load %c[%c0] : memref<8xf32>
  memref.store %first, %f[] : memref<f32>
  scf.parallel (%i) = (%c0) to (%c8) step (%c1) {
    %v = memref.load %a[%i] : memref<8xf32>
    memref.store %v, %d[%i] : memref<8xf32>
    scf.reduce
  }
  %sum = scf.parallel (%i) = (%c0) to (%c8) step (%c1) init (%zero) -> f32 {
    %v = memref.load %a[%i] : memref<8xf32>
    scf.reduce(%v : f32) {
    ^bb0(%x: f32, %y: f32):
      %s = arith.addf %x, %y : f32
      scf.reduce.return %s : f32
    }
  }
  scf.parallel (%i) = (%c0) to (%c8) step (%c1) {
    %v = memref.load %a[%i] : memref<8xf32>
    memref.store %v, %e[%i] : memref<8xf32>
    scf.reduce
  } {mstream.token_slots = 4 : i64}
  scf.parallel (%i) = (%c0) to (%c8) step (%c1) {
    %v = memref.load %b[%i] : memref<8xf32>
    memref.store %v, %a[%i] : memref<8xf32>
    scf.reduce
  }
  return
}

// -----

// Loops inside a host loop merge there; a memref an scf.for carries is one
// of the buffers it may hold (its init or what its body yields), so loops
// that only read it still merge.
// CHECK-LABEL: func.func @nested
// CHECK: scf.for
// CHECK-COUNT-1: scf.parallel
// CHECK: scf.if
// CHECK: scf.yield
// CHECK-COUNT-1: scf.parallel
// CHECK: scf.if
// CHECK-NOT: scf.parallel
func.func @nested(%a: memref<8xf32>, %b: memref<8xf32>, %c: memref<8xf32>,
                  %d: memref<8xf32>, %e: memref<8xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c8 = arith.constant 8 : index
  %init = memref.alloc() : memref<8xf32>
  %last = scf.for %k = %c0 to %c8 step %c1 iter_args(%x = %init) -> (memref<8xf32>) {
    scf.parallel (%i) = (%c0) to (%c8) step (%c1) {
      %v = memref.load %a[%i] : memref<8xf32>
      memref.store %v, %b[%i] : memref<8xf32>
      scf.reduce
    }
    scf.parallel (%i) = (%c0) to (%c8) step (%c1) {
      %v = memref.load %a[%i] : memref<8xf32>
      memref.store %v, %c[%i] : memref<8xf32>
      scf.reduce
    }
    %next = memref.alloc() : memref<8xf32>
    scf.yield %next : memref<8xf32>
  }
  scf.parallel (%i) = (%c0) to (%c8) step (%c1) {
    %v = memref.load %last[%i] : memref<8xf32>
    memref.store %v, %d[%i] : memref<8xf32>
    scf.reduce
  }
  scf.parallel (%i) = (%c0) to (%c8) step (%c1) {
    %v = memref.load %last[%i] : memref<8xf32>
    memref.store %v, %e[%i] : memref<8xf32>
    scf.reduce
  }
  return
}

// -----

// The first loop writes the buffer the scf.for started from, which the
// second may read: they stay apart.
// CHECK-LABEL: func.func @carried
// CHECK-COUNT-2: scf.parallel
// CHECK-NOT: scf.if
func.func @carried(%a: memref<8xf32>, %d: memref<8xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c8 = arith.constant 8 : index
  %init = memref.alloc() : memref<8xf32>
  %last = scf.for %k = %c0 to %c8 step %c1 iter_args(%x = %init) -> (memref<8xf32>) {
    scf.yield %x : memref<8xf32>
  }
  scf.parallel (%i) = (%c0) to (%c8) step (%c1) {
    %v = memref.load %a[%i] : memref<8xf32>
    memref.store %v, %init[%i] : memref<8xf32>
    scf.reduce
  }
  scf.parallel (%i) = (%c0) to (%c8) step (%c1) {
    %v = memref.load %last[%i] : memref<8xf32>
    memref.store %v, %d[%i] : memref<8xf32>
    scf.reduce
  }
  return
}
