// RUN: mstream-opt %s --mstream-outline-loop-nests | FileCheck %s

// Each top-level loop nest becomes a call to a private, non-inlined,
// internal function named after the function and the loop's location name
// (a repeated name gets a suffix), placed in program order after its
// function; values used from above become its arguments, constants are
// cloned in, loop results become its results, and an inner loop stays
// inside its nest.
// CHECK-LABEL: func.func @step(
// CHECK-SAME: %[[A:[^:]*]]: memref<4x8xf32>, %[[B:[^:]*]]: memref<4x8xf32>)
// CHECK-NOT: scf.for
// CHECK: call @step.layers.0.attn(%[[A]], %[[B]]) : (memref<4x8xf32>, memref<4x8xf32>) -> ()
// CHECK-NEXT: %[[SUM:.*]] = call @step.layers.0.attn_0(%[[B]]) : (memref<4x8xf32>) -> f32
// CHECK-NEXT: %[[NEXT:.*]] = call @step.loop(%[[SUM]], %[[A]]) : (f32, memref<4x8xf32>) -> f32
// CHECK-NEXT: memref.store %[[NEXT]], %[[A]]
// CHECK-NEXT: return

// CHECK-LABEL: func.func private @step.layers.0.attn(
// CHECK-SAME: %[[IN:[^:]*]]: memref<4x8xf32>, %[[OUT:[^:]*]]: memref<4x8xf32>)
// CHECK-SAME: attributes {llvm.linkage = #llvm.linkage<internal>, passthrough = ["noinline"]}
// CHECK: scf.for %[[I:[^ ]*]] =
// CHECK-NEXT: scf.for %[[J:[^ ]*]] =
// CHECK-NEXT: %[[X:.*]] = memref.load %[[IN]][%[[I]], %[[J]]]
// CHECK-NEXT: memref.store %[[X]], %[[OUT]][%[[I]], %[[J]]]
// CHECK-NOT: call
// CHECK: return

// CHECK-LABEL: func.func private @step.layers.0.attn_0(
// CHECK-SAME: %{{[^:]*}}: memref<4x8xf32>) -> f32
// CHECK-DAG: %[[FROM:.*]] = arith.constant 0.0
// CHECK: %[[R0:.*]] = scf.for {{.*}} iter_args(%{{.*}} = %[[FROM]]) -> (f32)
// CHECK: return %[[R0]] : f32

// CHECK-LABEL: func.func private @step.loop(
// CHECK-SAME: %[[INIT:[^:]*]]: f32, %[[M:[^:]*]]: memref<4x8xf32>) -> f32
// CHECK-SAME: attributes {llvm.linkage = #llvm.linkage<internal>, passthrough = ["noinline"]}
// CHECK-DAG: arith.constant 4 : index
// CHECK: %[[R:.*]] = scf.for {{.*}} iter_args(%{{.*}} = %[[INIT]]) -> (f32)
// CHECK: memref.load %[[M]]
// CHECK: return %[[R]] : f32
func.func @step(%a: memref<4x8xf32>, %b: memref<4x8xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  %c8 = arith.constant 8 : index
  %zero = arith.constant 0.0 : f32
  scf.for %i = %c0 to %c4 step %c1 {
    scf.for %j = %c0 to %c8 step %c1 {
      %x = memref.load %a[%i, %j] : memref<4x8xf32>
      memref.store %x, %b[%i, %j] : memref<4x8xf32>
    }
  } loc(#attn)
  %sum = scf.for %i = %c0 to %c4 step %c1 iter_args(%acc = %zero) -> (f32) {
    %x = memref.load %b[%i, %c0] : memref<4x8xf32>
    %s = arith.addf %acc, %x : f32
    scf.yield %s : f32
  } loc(#attn)
  %next = scf.for %i = %c0 to %c4 step %c1 iter_args(%acc = %sum) -> (f32) {
    %x = memref.load %a[%i, %c0] : memref<4x8xf32>
    %s = arith.addf %acc, %x : f32
    scf.yield %s : f32
  }
  memref.store %next, %a[%c0, %c0] : memref<4x8xf32>
  return
}

// A function without loops and an external declaration are left alone.
// CHECK-LABEL: func.func @no_loops(
// CHECK-NEXT: return
func.func @no_loops(%a: memref<4xf32>) {
  return
}
// CHECK: func.func private @blas(memref<4xf32>)
func.func private @blas(memref<4xf32>)

#attn = loc("layers.0.attn"("config.json":3:5))

// A bufferized token loop becomes a function of its token range, marked for
// mstream-dispatch-token-ranges: it runs tokens [begin, end) in an scf.for,
// and the call passes the whole range.
// CHECK-LABEL: func.func @tokens(
// CHECK-SAME: %[[X:[^:]*]]: memref<8x4xf32>, %[[Y:[^:]*]]: memref<8x4xf32>)
// CHECK-DAG: %[[ZERO:.*]] = arith.constant 0 : index
// CHECK-DAG: %[[EIGHT:.*]] = arith.constant 8 : index
// CHECK: call @tokens.layers.0.attn(%[[ZERO]], %[[EIGHT]], %[[X]], %[[Y]]) : (index, index, memref<8x4xf32>, memref<8x4xf32>) -> ()
// CHECK-NOT: scf.forall
// CHECK-LABEL: func.func private @tokens.layers.0.attn(
// CHECK-SAME: %[[BEGIN:[^:]*]]: index, %[[END:[^:]*]]: index, %[[IN:[^:]*]]: memref<8x4xf32>, %[[OUT:[^:]*]]: memref<8x4xf32>)
// CHECK-SAME: mstream.token_range
// CHECK: scf.for %[[T:.*]] = %[[BEGIN]] to %[[END]] step
// CHECK: memref.subview %[[IN]][%[[T]], 0] [1, 4] [1, 1]
// CHECK: memref.subview %[[OUT]][%[[T]], 0] [1, 4] [1, 1]
// CHECK: memref.copy
// CHECK-NOT: scf.forall.in_parallel
// CHECK: return
func.func @tokens(%x: memref<8x4xf32>, %y: memref<8x4xf32>) {
  scf.forall (%t) in (8) {
    %in = memref.subview %x[%t, 0] [1, 4] [1, 1] : memref<8x4xf32> to memref<1x4xf32, strided<[4, 1], offset: ?>>
    %out = memref.subview %y[%t, 0] [1, 4] [1, 1] : memref<8x4xf32> to memref<1x4xf32, strided<[4, 1], offset: ?>>
    memref.copy %in, %out : memref<1x4xf32, strided<[4, 1], offset: ?>> to memref<1x4xf32, strided<[4, 1], offset: ?>>
  } loc(#attn)
  return
}

// A top-level scf.parallel (the parallel dimensions of an op outside a
// token loop) with at least 2^16 operations of work becomes a token-range
// function over its first dimension, its other dimensions an scf.parallel
// inside; a smaller one becomes a plain function, run on the calling
// thread. Here: 256 x 512 iterations of three operations, and 4 x 8 of two.
// CHECK-LABEL: func.func @rows(
// CHECK-SAME: %[[BIG:[^:]*]]: memref<256x512xf32>, %[[SMALL:[^:]*]]: memref<4x8xf32>)
// CHECK-DAG: %[[ROWS:.*]] = arith.constant 256 : index
// CHECK: %[[ZERO:.*]] = arith.constant 0 : index
// CHECK-NEXT: call @rows.loop(%[[ZERO]], %[[ROWS]], %[[BIG]]) : (index, index, memref<256x512xf32>) -> ()
// CHECK-NEXT: call @[[SMALLFN:rows.loop_[0-9]+]](%[[SMALL]]) : (memref<4x8xf32>) -> ()
// CHECK-NOT: scf.parallel
// CHECK-LABEL: func.func private @rows.loop(
// CHECK-SAME: %[[BEGIN:[^:]*]]: index, %[[END:[^:]*]]: index, %[[M:[^:]*]]: memref<256x512xf32>)
// CHECK-SAME: mstream.token_range
// CHECK: scf.for %[[I:.*]] = %[[BEGIN]] to %[[END]] step
// CHECK-NEXT: scf.parallel (%[[J:.*]]) = (%{{.*}}) to (%{{.*}}) step (%{{.*}}) {
// CHECK-NEXT: %[[X:.*]] = memref.load %[[M]][%[[I]], %[[J]]]
// CHECK-NEXT: %[[Y:.*]] = arith.negf %[[X]]
// CHECK-NEXT: memref.store %[[Y]], %[[M]][%[[I]], %[[J]]]
// CHECK: func.func private @[[SMALLFN]](
// CHECK-NOT: mstream.token_range
// CHECK: scf.parallel
// CHECK: return
func.func @rows(%big: memref<256x512xf32>, %small: memref<4x8xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  %c8 = arith.constant 8 : index
  %c256 = arith.constant 256 : index
  %c512 = arith.constant 512 : index
  scf.parallel (%i, %j) = (%c0, %c0) to (%c256, %c512) step (%c1, %c1) {
    %x = memref.load %big[%i, %j] : memref<256x512xf32>
    %y = arith.negf %x : f32
    memref.store %y, %big[%i, %j] : memref<256x512xf32>
  }
  scf.parallel (%i, %j) = (%c0, %c0) to (%c4, %c8) step (%c1, %c1) {
    %x = memref.load %small[%i, %j] : memref<4x8xf32>
    memref.store %x, %small[%i, %j] : memref<4x8xf32>
  }
  return
}
