// RUN: mstream-opt %s --mstream-distribute-token-loops --split-input-file --verify-diagnostics | FileCheck %s

// One token per block: the feature loop's points spread over the threads,
// the reduction (a serial loop writing memory) in thread 0, the scalar it
// leaves read by every thread after a barrier; the matrix iteration runs in
// every thread, its nest spread inside it.
// CHECK-LABEL: func.func @token
// CHECK: scf.parallel (%[[T:.*]]) = (%c0{{.*}}) to (%c8) step (%c1{{.*}})
// CHECK: %[[TID:.*]] = gpu.thread_id x
// CHECK: %[[THREADS:.*]] = gpu.block_dim x
// CHECK: gpu.barrier
// CHECK: scf.for %{{.*}} = %[[TID]] to %{{.*}} step %[[THREADS]]
// CHECK: memref.store
// CHECK: gpu.barrier
// CHECK: %[[FIRST:.*]] = arith.cmpi eq, %[[TID]], %c0{{.*}}
// CHECK: scf.if %[[FIRST]]
// CHECK: memref.store %{{.*}}, %[[ACC:.*]][]
// CHECK: scf.for
// CHECK: gpu.barrier
// CHECK: memref.load %[[ACC]][]
// CHECK: scf.for %{{.*}} = %c0 to %c3 step %c1
// CHECK: gpu.barrier
// CHECK: scf.for %{{.*}} = %[[TID]] to %{{.*}} step %[[THREADS]]
// CHECK: gpu.barrier
// CHECK: } {mstream.token_slots = 4 : i64}
// CHECK-NOT: scf.forall
func.func @token(%x: memref<8x16xf32>, %acc: memref<f32>, %y: memref<8x16xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c3 = arith.constant 3 : index
  %c16 = arith.constant 16 : index
  %zero = arith.constant 0.0 : f32
  scf.forall (%t) in (8) {
    scf.parallel (%j) = (%c0) to (%c16) step (%c1) {
      %v = memref.load %x[%t, %j] : memref<8x16xf32>
      %w = arith.mulf %v, %v : f32
      memref.store %w, %y[%t, %j] : memref<8x16xf32>
      scf.reduce
    }
    memref.store %zero, %acc[] : memref<f32>
    scf.for %j = %c0 to %c16 step %c1 {
      %v = memref.load %y[%t, %j] : memref<8x16xf32>
      %s = memref.load %acc[] : memref<f32>
      %n = arith.addf %s, %v : f32
      memref.store %n, %acc[] : memref<f32>
    }
    %sum = memref.load %acc[] : memref<f32>
    scf.for %i = %c0 to %c3 step %c1 {
      scf.parallel (%j) = (%c0) to (%c16) step (%c1) {
        %v = memref.load %y[%t, %j] : memref<8x16xf32>
        %w = arith.divf %v, %sum : f32
        memref.store %w, %y[%t, %j] : memref<8x16xf32>
        scf.reduce
      }
    }
  } {mstream.token_slots = 4 : i64}
  return
}

// -----

// A copy becomes a spread loop too.
// CHECK-LABEL: func.func @copy
// CHECK-NOT: memref.copy
// CHECK: scf.for %{{.*}} = %{{.*}} to %{{.*}} step %{{.*}}
// CHECK: memref.load
// CHECK: memref.store
func.func @copy(%x: memref<8x16xf32>, %y: memref<8x16xf32>) {
  scf.forall (%t) in (8) {
    %a = memref.subview %x[%t, 0] [1, 16] [1, 1] : memref<8x16xf32> to memref<16xf32, strided<[1], offset: ?>>
    %b = memref.subview %y[%t, 0] [1, 16] [1, 1] : memref<8x16xf32> to memref<16xf32, strided<[1], offset: ?>>
    memref.copy %a, %b : memref<16xf32, strided<[1], offset: ?>> to memref<16xf32, strided<[1], offset: ?>>
  } {mstream.token_slots = 8 : i64}
  return
}

// -----

func.func private @gemm()
func.func @call() {
  scf.forall (%t) in (8) {
    // expected-error @below {{a token loop cannot call 'gemm' on the GPU}}
    func.call @gemm() : () -> ()
  } {mstream.token_slots = 8 : i64}
  return
}

// -----

func.func @no_slots(%y: memref<8xf32>) {
  %zero = arith.constant 0.0 : f32
  // expected-error @below {{expected mstream-token-buffers-to-scratch to have run: no mstream.token_slots}}
  scf.forall (%t) in (8) {
    memref.store %zero, %y[%t] : memref<8xf32>
  }
  return
}

// -----

// A token's buffer in its block's shared memory is the block's, so every
// thread takes the same one (it stays where it is) and thread 0's write to
// it waits for the barrier like any other.
// CHECK-LABEL: func.func @shared_buffer
// CHECK: scf.parallel
// CHECK: %[[LOCAL:.*]] = memref.alloca() : memref<64xi8, #gpu.address_space<workgroup>>
// CHECK: gpu.barrier
// CHECK: scf.if
// CHECK: memref.store %{{.*}}, %[[LOCAL]]
func.func @shared_buffer() {
  %c0 = arith.constant 0 : index
  %x = arith.constant 1 : i8
  scf.forall (%t) in (8) {
    %local = memref.alloca() : memref<64xi8, #gpu.address_space<workgroup>>
    memref.store %x, %local[%c0] : memref<64xi8, #gpu.address_space<workgroup>>
  } {mstream.token_slots = 8 : i64}
  return
}

// -----

func.func @private_buffer() {
  scf.forall (%t) in (8) {
    // expected-error @below {{a token loop's buffers must be placed in its scratch buffer}}
    %local = memref.alloca() : memref<64xi8>
  } {mstream.token_slots = 8 : i64}
  return
}
