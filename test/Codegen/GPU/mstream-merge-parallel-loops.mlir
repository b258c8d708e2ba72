// RUN: mstream-opt %s --mstream-merge-parallel-loops --split-input-file | FileCheck %s
// RUN: mstream-opt %s --mstream-merge-parallel-loops="max-argument-bytes=120" --split-input-file | FileCheck %s --check-prefix=BUDGET
// RUN: mstream-opt %s --mstream-merge-parallel-loops --canonicalize --split-input-file | FileCheck %s --check-prefix=CROWDED

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

// A call's effects are unknown: the loops on either side stay apart.
// CHECK-LABEL: func.func @call
// CHECK: scf.parallel
// CHECK: call @opaque
// CHECK: scf.parallel
// CHECK-NOT: scf.if
func.func private @opaque()
func.func @call(%a: memref<8xf32>, %b: memref<8xf32>, %c: memref<8xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c8 = arith.constant 8 : index
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
  return
}

// -----

// What depends on the run follows the merged loop: the host read of the
// first loop's output (and the store of what it read), and the loop that
// overwrites what the run reads. Loops with a reduction and token loops are
// not merged; they touch nothing the run writes, so they stay before it.
// CHECK-LABEL: func.func @deferred
// CHECK: scf.parallel {{.*}} init
// CHECK: scf.parallel
// CHECK: } {mstream.token_slots = 4 : i64}
// CHECK: scf.parallel
// CHECK: scf.if
// CHECK: memref.store %{{.*}}, %arg2[
// CHECK: } else {
// CHECK: memref.store %{{.*}}, %arg3[
// CHECK: scf.reduce
// CHECK-NEXT: }
// CHECK-NEXT: %[[FIRST:.*]] = memref.load %arg2[%c0]
// CHECK-NEXT: memref.store %[[FIRST]], %arg5[]
// CHECK-NEXT: scf.parallel
// CHECK: memref.store %{{.*}}, %arg0[
// CHECK-NOT: scf.if
// CHECK: return
func.func @deferred(%a: memref<8xf32>, %b: memref<8xf32>, %c: memref<8xf32>,
                    %d: memref<8xf32>, %e: memref<8xf32>, %f: memref<f32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c8 = arith.constant 8 : index
  %zero = arith.constant 0.0 : f32
  scf.parallel (%i) = (%c0) to (%c8) step (%c1) {
    %v = memref.load %a[%i] : memref<8xf32>
    memref.store %v, %c[%i] : memref<8xf32>
    scf.reduce
  }
  %first = memref.load %c[%c0] : memref<8xf32>
  memref.store %first, %f[] : memref<f32>
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
    %v = memref.load %a[%i] : memref<8xf32>
    memref.store %v, %d[%i] : memref<8xf32>
    scf.reduce
  }
  scf.parallel (%i) = (%c0) to (%c8) step (%c1) {
    %v = memref.load %b[%i] : memref<8xf32>
    memref.store %v, %a[%i] : memref<8xf32>
    scf.reduce
  }
  return
}

// -----

// Three chains of three loops, each loop reading what the one before
// wrote: the loops of a level merge and the next level follows. The third
// chain first overwrites what the first chain's first loop reads, so it
// starts a level later: four kernels, the last one the third chain's end.
// CHECK-LABEL: func.func @levels
// CHECK: scf.parallel
// CHECK: memref.store %{{.*}}, %arg3[
// CHECK: scf.parallel
// CHECK: memref.store %{{.*}}, %arg4[
// CHECK: memref.store %{{.*}}, %arg0[
// CHECK: scf.parallel
// CHECK: memref.store %{{.*}}, %arg5[
// CHECK: memref.store %{{.*}}, %arg1[
// CHECK: scf.parallel
// CHECK-NOT: scf.if
// CHECK: memref.store %{{.*}}, %arg2[
// CHECK-NOT: scf.parallel
// CHECK: memref.dealloc
// CHECK: return
func.func @levels(%a: memref<8xf32>, %b: memref<8xf32>, %c: memref<8xf32>,
                  %x: memref<8xf32>, %y: memref<8xf32>, %z: memref<8xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c8 = arith.constant 8 : index
  scf.parallel (%i) = (%c0) to (%c8) step (%c1) {
    %v = memref.load %a[%i] : memref<8xf32>
    memref.store %v, %x[%i] : memref<8xf32>
    scf.reduce
  }
  scf.parallel (%i) = (%c0) to (%c8) step (%c1) {
    %v = memref.load %x[%i] : memref<8xf32>
    memref.store %v, %y[%i] : memref<8xf32>
    scf.reduce
  }
  scf.parallel (%i) = (%c0) to (%c8) step (%c1) {
    %v = memref.load %y[%i] : memref<8xf32>
    memref.store %v, %z[%i] : memref<8xf32>
    scf.reduce
  }
  %x2 = memref.alloc() : memref<8xf32>
  %y2 = memref.alloc() : memref<8xf32>
  %z2 = memref.alloc() : memref<8xf32>
  scf.parallel (%i) = (%c0) to (%c8) step (%c1) {
    %v = memref.load %b[%i] : memref<8xf32>
    memref.store %v, %x2[%i] : memref<8xf32>
    scf.reduce
  }
  scf.parallel (%i) = (%c0) to (%c8) step (%c1) {
    %v = memref.load %x2[%i] : memref<8xf32>
    memref.store %v, %y2[%i] : memref<8xf32>
    scf.reduce
  }
  scf.parallel (%i) = (%c0) to (%c8) step (%c1) {
    %v = memref.load %y2[%i] : memref<8xf32>
    memref.store %v, %z2[%i] : memref<8xf32>
    scf.reduce
  }
  scf.parallel (%i) = (%c0) to (%c8) step (%c1) {
    %v = memref.load %c[%i] : memref<8xf32>
    memref.store %v, %a[%i] : memref<8xf32>
    scf.reduce
  }
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
  memref.dealloc %x2 : memref<8xf32>
  memref.dealloc %y2 : memref<8xf32>
  memref.dealloc %z2 : memref<8xf32>
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

// -----

// A 1-D memref takes 40 parameter bytes; constant bounds take none (they
// are sunk into the kernel): the first loop 80, the second adds 40 (%a is
// already there), the third 40 more. Unbounded, the three loops merge; at
// 120 bytes the third starts a run of its own.
// CHECK-LABEL: func.func @budget
// CHECK-COUNT-1: scf.parallel
// CHECK-NOT: scf.parallel
// BUDGET-LABEL: func.func @budget
// BUDGET: scf.parallel
// BUDGET: scf.if
// BUDGET: memref.store %{{.*}}, %arg1[
// BUDGET: memref.store %{{.*}}, %arg2[
// BUDGET: scf.parallel
// BUDGET-NOT: scf.if
// BUDGET: memref.store %{{.*}}, %arg3[
// BUDGET-NOT: scf.parallel
func.func @budget(%a: memref<8xf32>, %b: memref<8xf32>, %c: memref<8xf32>, %d: memref<8xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c8 = arith.constant 8 : index
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
  scf.parallel (%i) = (%c0) to (%c8) step (%c1) {
    %v = memref.load %a[%i] : memref<8xf32>
    memref.store %v, %d[%i] : memref<8xf32>
    scf.reduce
  }
  return
}

// -----

// A large loop and ten one-point loops, all independent: the large one and
// the first 8 small ones merge (264 points); the 2 small ones beyond those
// wait for a run of their own, so that the large loop's threads do not
// carry the pointers of a hundred small parts.
// CHECK-LABEL: func.func @crowded
// BUDGET-LABEL: func.func @crowded
// CROWDED-LABEL: func.func @crowded
// CROWDED: scf.parallel (%{{.*}}) = (%c0) to (%c264) step (%c1)
// CROWDED: scf.parallel (%{{.*}}) = (%c0) to (%c2) step (%c1)
// CROWDED-NOT: scf.parallel
func.func @crowded(%big: memref<256xf32>, %s0: memref<1xf32>, %s1: memref<1xf32>, %s2: memref<1xf32>, %s3: memref<1xf32>, %s4: memref<1xf32>, %s5: memref<1xf32>, %s6: memref<1xf32>, %s7: memref<1xf32>, %s8: memref<1xf32>, %s9: memref<1xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c256 = arith.constant 256 : index
  %x = arith.constant 1.0 : f32
  scf.parallel (%i) = (%c0) to (%c256) step (%c1) {
    memref.store %x, %big[%i] : memref<256xf32>
    scf.reduce
  }
  scf.parallel (%i) = (%c0) to (%c1) step (%c1) {
    memref.store %x, %s0[%i] : memref<1xf32>
    scf.reduce
  }
  scf.parallel (%i) = (%c0) to (%c1) step (%c1) {
    memref.store %x, %s1[%i] : memref<1xf32>
    scf.reduce
  }
  scf.parallel (%i) = (%c0) to (%c1) step (%c1) {
    memref.store %x, %s2[%i] : memref<1xf32>
    scf.reduce
  }
  scf.parallel (%i) = (%c0) to (%c1) step (%c1) {
    memref.store %x, %s3[%i] : memref<1xf32>
    scf.reduce
  }
  scf.parallel (%i) = (%c0) to (%c1) step (%c1) {
    memref.store %x, %s4[%i] : memref<1xf32>
    scf.reduce
  }
  scf.parallel (%i) = (%c0) to (%c1) step (%c1) {
    memref.store %x, %s5[%i] : memref<1xf32>
    scf.reduce
  }
  scf.parallel (%i) = (%c0) to (%c1) step (%c1) {
    memref.store %x, %s6[%i] : memref<1xf32>
    scf.reduce
  }
  scf.parallel (%i) = (%c0) to (%c1) step (%c1) {
    memref.store %x, %s7[%i] : memref<1xf32>
    scf.reduce
  }
  scf.parallel (%i) = (%c0) to (%c1) step (%c1) {
    memref.store %x, %s8[%i] : memref<1xf32>
    scf.reduce
  }
  scf.parallel (%i) = (%c0) to (%c1) step (%c1) {
    memref.store %x, %s9[%i] : memref<1xf32>
    scf.reduce
  }
  return
}
