// RUN: mstream-opt %s --mstream-distribute-token-loops --split-input-file --verify-diagnostics | FileCheck %s
// RUN: mstream-opt %s --mstream-distribute-token-loops=one-thread --split-input-file --verify-diagnostics | FileCheck %s --check-prefix=ONE

// One token per block: the feature loop's points spread over the threads,
// the reduction of its 16 results in warp 0 (a butterfly of shuffles, the
// accumulator's initial value combined in thread 0 without a store before),
// the scalar it leaves read by every thread after a barrier; the matrix
// iteration runs in every thread, its nest spread inside it.
// CHECK-LABEL: func.func @token
// CHECK: scf.parallel (%[[T:.*]]) = (%c0{{.*}}) to (%c8) step (%c1{{.*}})
// CHECK: %[[TID:.*]] = gpu.thread_id x
// CHECK: %[[THREADS:.*]] = gpu.block_dim x
// CHECK: gpu.barrier
// CHECK: scf.for %{{.*}} = %[[TID]] to %{{.*}} step %[[THREADS]]
// CHECK: memref.store
// CHECK: gpu.barrier
// CHECK-NOT: memref.store
// CHECK: %[[WARP:.*]] = arith.cmpi ult, %[[TID]], %c32
// CHECK: scf.if %[[WARP]]
// CHECK: %[[LANE:.*]] = arith.andi %[[TID]], %c15
// CHECK: %[[P:.*]] = memref.load %{{.*}}[%[[T]], %[[LANE]]]
// CHECK: %[[S8:.*]], %{{.*}} = gpu.shuffle xor %[[P]], %c8_i32, %c32_i32
// CHECK: %[[R8:.*]] = arith.addf %[[S8]], %[[P]]
// CHECK: gpu.shuffle xor %[[R8]], %c4_i32
// CHECK: gpu.shuffle xor %{{.*}}, %c2_i32
// CHECK: %[[S1:.*]], %{{.*}} = gpu.shuffle xor %[[R2:.*]], %c1_i32
// CHECK: %[[R1:.*]] = arith.addf %[[S1]], %[[R2]]
// CHECK: %[[FIRST:.*]] = arith.cmpi eq, %[[TID]], %c0
// CHECK: scf.if %[[FIRST]]
// CHECK: %[[SUM:.*]] = arith.addf %cst, %[[R1]]
// CHECK: memref.store %[[SUM]], %[[ACC:.*]][]
// CHECK: gpu.barrier
// CHECK: memref.load %[[ACC]][]
// CHECK: scf.for %{{.*}} = %c0 to %c3 step %c1
// CHECK: gpu.barrier
// CHECK: scf.for %{{.*}} = %[[TID]] to %{{.*}} step %[[THREADS]]
// CHECK: gpu.barrier
// CHECK: } {mstream.token_slots = 4 : i64}
// CHECK-NOT: scf.forall
// The one-thread emulation has no shuffles: its thread loads the 16
// partials and adds them in the order of lane 0's butterfly (lane l with
// lane l + 8, then l + 4, ...), then the initial value.
// ONE-LABEL: func.func @token
// ONE-NOT: gpu.
// ONE: %[[L0:.*]] = memref.load %arg2[%{{.*}}, %c0{{.*}}] : memref<8x16xf32>
// ONE-COUNT-7: memref.load %arg2
// ONE: %[[L8:.*]] = memref.load %arg2[%{{.*}}, %c8{{.*}}] : memref<8x16xf32>
// ONE-COUNT-7: memref.load %arg2
// ONE-NOT: memref.load
// ONE: arith.addf %[[L8]], %[[L0]] : f32
// ONE-COUNT-14: arith.addf
// ONE: %[[SUM:.*]] = arith.addf %cst, %{{.*}} : f32
// ONE-NEXT: memref.store %[[SUM]], %arg1[] : memref<f32>
// ONE-NOT: gpu.
// ONE: return
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

// -----

// Reductions shuffles do not compute stay in thread 0: more partials than a
// warp has lanes in a buffer that is not the reduction's own (the first
// round would overwrite them; here an argument, read again after), a count that is not a power of two, a combiner that does
// not commute (subtraction), a 64-bit value.
// CHECK-LABEL: func.func @serial_reductions
// CHECK-NOT: gpu.shuffle
// CHECK: scf.for %{{.*}} = %c0 to %c64
// CHECK-NOT: gpu.shuffle
// CHECK: scf.for %{{.*}} = %c0 to %c24
// CHECK-NOT: gpu.shuffle
// CHECK: arith.subf
// CHECK-NOT: gpu.shuffle
// CHECK: arith.addf {{.*}} : f64
// CHECK-NOT: gpu.shuffle
// CHECK: return
func.func @serial_reductions(%x: memref<64xf32>, %acc: memref<f32>, %d: memref<16xf64>, %dacc: memref<f64>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c16 = arith.constant 16 : index
  %c24 = arith.constant 24 : index
  %c64 = arith.constant 64 : index
  scf.forall (%t) in (8) {
    scf.for %k = %c0 to %c64 step %c1 {
      %v = memref.load %x[%k] : memref<64xf32>
      %s = memref.load %acc[] : memref<f32>
      %n = arith.addf %v, %s : f32
      memref.store %n, %acc[] : memref<f32>
    }
    scf.for %k = %c0 to %c24 step %c1 {
      %v = memref.load %x[%k] : memref<64xf32>
      %s = memref.load %acc[] : memref<f32>
      %n = arith.addf %v, %s : f32
      memref.store %n, %acc[] : memref<f32>
    }
    scf.for %k = %c0 to %c16 step %c1 {
      %v = memref.load %x[%k] : memref<64xf32>
      %s = memref.load %acc[] : memref<f32>
      %n = arith.subf %v, %s : f32
      memref.store %n, %acc[] : memref<f32>
    }
    scf.for %k = %c0 to %c16 step %c1 {
      %v = memref.load %d[%k] : memref<16xf64>
      %s = memref.load %dacc[] : memref<f64>
      %n = arith.addf %v, %s : f64
      memref.store %n, %dacc[] : memref<f64>
    }
  } {mstream.token_slots = 8 : i64}
  return
}

// -----

// Without a store of its initial value right before, thread 0 loads the
// accumulator; a maximum reduces as well as a sum, into an element of a
// row of results, from a row of partials.
// CHECK-LABEL: func.func @max_into_row
// CHECK: %[[TID:.*]] = gpu.thread_id x
// CHECK: scf.if
// CHECK: %[[LANE:.*]] = arith.andi %[[TID]], %c31
// CHECK: %[[P:.*]] = memref.load %{{.*}}[%[[T:.*]], %[[LANE]]]
// CHECK: %[[S:.*]], %{{.*}} = gpu.shuffle xor %[[P]], %c16_i32, %c32_i32
// CHECK: arith.maxnumf %[[P]], %[[S]]
// CHECK-COUNT-4: gpu.shuffle xor
// CHECK: scf.if
// CHECK: %[[OLD:.*]] = memref.load %[[ACC:.*]][%[[T]]]
// CHECK: %[[NEW:.*]] = arith.maxnumf %{{.*}}, %[[OLD]]
// CHECK: memref.store %[[NEW]], %[[ACC]][%[[T]]]
func.func @max_into_row(%x: memref<8x32xf32>, %acc: memref<8xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c32 = arith.constant 32 : index
  scf.forall (%t) in (8) {
    scf.for %k = %c0 to %c32 step %c1 {
      %v = memref.load %x[%t, %k] : memref<8x32xf32>
      %s = memref.load %acc[%t] : memref<8xf32>
      %n = arith.maxnumf %v, %s : f32
      memref.store %n, %acc[%t] : memref<8xf32>
    }
  } {mstream.token_slots = 8 : i64}
  return
}

// -----

// 256 partials in two rounds: each warp in turn combines 32 and its lane 0
// leaves the result in the first of them; after a barrier, warp 0 combines
// the 8 results, every 32nd partial. The partials are a slot of the
// token's scratch buffer, read nowhere after.
// CHECK-LABEL: func.func @two_rounds
// CHECK: %[[TID:.*]] = gpu.thread_id x
// CHECK: %[[THREADS:.*]] = gpu.block_dim x
// CHECK: scf.for %[[K:.*]] = %[[TID]] to %c256{{.*}} step %[[THREADS]]
// CHECK: %[[P:.*]] = memref.load %[[X:.*]][%[[K]]]
// CHECK: gpu.shuffle xor %[[P]], %c16_i32, %c32_i32
// CHECK-COUNT-4: gpu.shuffle xor
// CHECK: %[[LANE:.*]] = arith.andi %[[K]], %c31
// CHECK: %[[LEADS:.*]] = arith.cmpi eq, %[[LANE]], %c0
// CHECK: scf.if %[[LEADS]]
// CHECK: memref.store %{{.*}}, %[[X]][%[[K]]]
// CHECK: gpu.barrier
// CHECK: arith.cmpi ult, %[[TID]], %c32
// CHECK: %[[W:.*]] = arith.andi %[[TID]], %c7
// CHECK: %[[FIRST:.*]] = arith.muli %[[W]], %c32
// CHECK: %[[Q:.*]] = memref.load %[[X]][%[[FIRST]]]
// CHECK: gpu.shuffle xor %[[Q]], %c4_i32, %c32_i32
// CHECK: gpu.shuffle xor %{{.*}}, %c2_i32, %c32_i32
// CHECK: gpu.shuffle xor %{{.*}}, %c1_i32, %c32_i32
// CHECK-NOT: gpu.shuffle
// CHECK: memref.store %{{.*}}, %{{.*}}[] : memref<f32>
// CHECK: gpu.barrier
// The emulation: 8 times, 32 partials added as lane 0's butterfly does and
// left in the first of them; then the first of each 32.
// ONE-LABEL: func.func @two_rounds
// ONE: scf.for %[[W:.*]] = %{{.*}} to %c256{{.*}} step %c32
// ONE-COUNT-32: memref.load %[[X:.*]][%{{.*}}] : memref<256xf32>
// ONE-COUNT-31: arith.addf
// ONE: memref.store %{{.*}}, %[[X]][%[[W]]]
// ONE: }
// ONE: memref.load %[[X]][%c0{{.*}}]
// ONE: memref.load %[[X]][%c32{{.*}}]
// ONE-COUNT-6: memref.load %[[X]]
// ONE-COUNT-7: arith.addf
// ONE: %[[SUM:.*]] = arith.addf %{{.*}}, %cst : f32
// ONE-NEXT: memref.store %[[SUM]], %arg0[] : memref<f32>
func.func @two_rounds(%acc: memref<f32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c256 = arith.constant 256 : index
  %zero = arith.constant 0.0 : f32
  scf.forall (%t) in (8) {
    %scratch = memref.alloca() : memref<1024xi8, #gpu.address_space<workgroup>>
    %bytes = memref.memory_space_cast %scratch : memref<1024xi8, #gpu.address_space<workgroup>> to memref<1024xi8>
    %x = memref.view %bytes[%c0][] : memref<1024xi8> to memref<256xf32>
    memref.store %zero, %acc[] : memref<f32>
    scf.for %k = %c0 to %c256 step %c1 {
      %v = memref.load %x[%k] : memref<256xf32>
      %s = memref.load %acc[] : memref<f32>
      %n = arith.addf %v, %s : f32
      memref.store %n, %acc[] : memref<f32>
    }
  } {mstream.token_slots = 8 : i64}
  return
}
