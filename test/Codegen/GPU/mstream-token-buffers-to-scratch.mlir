// RUN: mstream-opt %s --mstream-token-buffers-to-scratch=slots=4 --split-input-file --verify-diagnostics | FileCheck %s
// RUN: mstream-opt %s --mstream-token-buffers-to-scratch="slots=4 max-bytes=600" --split-input-file --verify-diagnostics | FileCheck %s --check-prefix=BUDGET
// RUN: mstream-opt %s --mstream-token-buffers-to-scratch="slots=4 max-bytes=600 shared-bytes=256" --split-input-file --verify-diagnostics | FileCheck %s --check-prefix=SHARED
// RUN: mstream-opt %s --mstream-token-buffers-to-scratch="slots=4 shared-bytes=255" --split-input-file --verify-diagnostics | FileCheck %s --check-prefix=GLOBAL

// A token's buffer, which a loop carries, and the fresh buffer of each of
// its 3 iterations (carried to the next) get places in one scratch buffer
// of min(tokens, slots) = 4 slots: 64 bytes (16 f32, aligned) + 3 x 64
// bytes = 256 bytes per slot. Token t uses slot t mod 4.
// CHECK-LABEL: func.func @scratch
// CHECK: %[[SCRATCH:.*]] = memref.alloc() : memref<1024xi8>
// CHECK: scf.forall (%[[T:.*]]) in (10)
// CHECK: %[[SLOT:.*]] = arith.remui %[[T]], %c4
// CHECK: %[[BASE:.*]] = arith.muli %[[SLOT]], %c256
// CHECK: memref.view %[[SCRATCH]][%{{.*}}][] : memref<1024xi8> to memref<4x4xf32>
// CHECK: scf.for %[[I:.*]] = %c0 to %c3 step %c1
// CHECK: memref.view %[[SCRATCH]][%{{.*}}][] : memref<1024xi8> to memref<4x4xf32>
// CHECK-NOT: memref.alloc
// CHECK: } {mstream.token_slots = 4 : i64}
func.func @scratch(%out: memref<10x16xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c3 = arith.constant 3 : index
  %x = arith.constant 1.0 : f32
  scf.forall (%t) in (10) {
    %a = memref.alloc() : memref<4x4xf32>
    memref.store %x, %a[%c0, %c0] : memref<4x4xf32>
    %r = scf.for %i = %c0 to %c3 step %c1 iter_args(%prev = %a) -> (memref<4x4xf32>) {
      %b = memref.alloc() : memref<4x4xf32>
      memref.store %x, %b[%i, %c0] : memref<4x4xf32>
      scf.yield %b : memref<4x4xf32>
    }
    %y = memref.load %r[%c0, %c0] : memref<4x4xf32>
    memref.store %y, %out[%t, %c0] : memref<10x16xf32>
  }
  return
}

// -----

// The offsets: token slot base, then the largest first (the loop's copies
// from 0 on, one per iteration), the first buffer after them at 192.
// CHECK-LABEL: func.func @offsets
// CHECK: %[[BASE:.*]] = arith.muli %{{.*}}, %c256
// CHECK: arith.addi %[[BASE]], %c192
// CHECK: scf.for %[[I:.*]] = %c0 to %c3 step %c1
// CHECK: %[[COPY:.*]] = arith.muli %[[I]], %c64{{.*}}
// CHECK: %[[IN_SLOT:.*]] = arith.addi %[[COPY]], %c0{{.*}}
// CHECK: %[[OFFSET:.*]] = arith.addi %[[BASE]], %[[IN_SLOT]]
// CHECK: memref.view %{{.*}}[%[[OFFSET]]][]
func.func @offsets(%out: memref<10x16xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c3 = arith.constant 3 : index
  %x = arith.constant 1.0 : f32
  scf.forall (%t) in (10) {
    %a = memref.alloc() : memref<4x4xf32>
    memref.store %x, %a[%c0, %c0] : memref<4x4xf32>
    %r = scf.for %i = %c0 to %c3 step %c1 iter_args(%prev = %a) -> (memref<4x4xf32>) {
      %b = memref.alloc() : memref<4x4xf32>
      memref.store %x, %b[%i, %c0] : memref<4x4xf32>
      scf.yield %b : memref<4x4xf32>
    }
    %y = memref.load %r[%c0, %c0] : memref<4x4xf32>
    memref.store %y, %out[%t, %c0] : memref<10x16xf32>
  }
  return
}

// -----

// A buffer allocated in a loop that no later iteration reaches (nothing
// carries it) is dead by the end of its iteration: one copy, 64 bytes at
// offset 0 of a 64-byte slot, in every iteration.
// CHECK-LABEL: func.func @one_copy
// CHECK: memref.alloc() : memref<256xi8>
// CHECK: scf.for %{{.*}} = %c0 to %c3
// CHECK-NOT: arith.muli %{{.*}}, %c64
// CHECK: memref.view %{{.*}}[%{{.*}}][] : memref<256xi8> to memref<4x4xf32>
func.func @one_copy(%out: memref<10x16xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c3 = arith.constant 3 : index
  %x = arith.constant 1.0 : f32
  scf.forall (%t) in (10) {
    scf.for %i = %c0 to %c3 step %c1 {
      %b = memref.alloc() : memref<4x4xf32>
      memref.store %x, %b[%i, %c0] : memref<4x4xf32>
      %y = memref.load %b[%i, %c0] : memref<4x4xf32>
      memref.store %y, %out[%t, %i] : memref<10x16xf32>
    }
  }
  return
}

// -----

// Buffers whose lifetimes do not overlap share bytes: %a dies at its last
// read, before %c and %b are allocated; %c, read after the loop that
// allocates %b, keeps bytes of its own. A slot of 128 bytes: %a and %c at
// 0, %b at 64.
// CHECK-LABEL: func.func @reuse
// CHECK: memref.alloc() : memref<512xi8>
// CHECK: %[[BASE:.*]] = arith.muli %{{.*}}, %c128
// CHECK: %[[A:.*]] = arith.addi %[[BASE]], %c0
// CHECK: memref.view %{{.*}}[%[[A]]][] : memref<512xi8> to memref<16xf32>
// CHECK: %[[C:.*]] = arith.addi %[[BASE]], %c0
// CHECK: memref.view %{{.*}}[%[[C]]][] : memref<512xi8> to memref<16xf32>
// CHECK: %[[B:.*]] = arith.addi %[[BASE]], %c64
// CHECK: memref.view %{{.*}}[%[[B]]][] : memref<512xi8> to memref<8xf32>
func.func @reuse(%out: memref<10x16xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %x = arith.constant 1.0 : f32
  scf.forall (%t) in (10) {
    %a = memref.alloc() : memref<16xf32>
    memref.store %x, %a[%c0] : memref<16xf32>
    %y = memref.load %a[%c0] : memref<16xf32>
    %c = memref.alloc() : memref<16xf32>
    memref.store %y, %c[%c0] : memref<16xf32>
    scf.for %i = %c0 to %c1 step %c1 {
      %b = memref.alloc() : memref<8xf32>
      memref.store %y, %b[%c0] : memref<8xf32>
    }
    %z = memref.load %c[%c0] : memref<16xf32>
    memref.store %z, %out[%t, %c0] : memref<10x16xf32>
  }
  return
}

// -----

// A buffer a loop carries may be read under another name after it: it
// lives to the token's end, so the buffer allocated after the loop gets
// bytes of its own.
// CHECK-LABEL: func.func @carried
// CHECK: memref.alloc() : memref<512xi8>
// CHECK: %[[BASE:.*]] = arith.muli %{{.*}}, %c128
// CHECK: %[[A:.*]] = arith.addi %[[BASE]], %c0
// CHECK: memref.view %{{.*}}[%[[A]]][] : memref<512xi8> to memref<16xf32>
// CHECK: %[[B:.*]] = arith.addi %[[BASE]], %c64
// CHECK: memref.view %{{.*}}[%[[B]]][] : memref<512xi8> to memref<16xf32>
func.func @carried(%out: memref<10x16xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %x = arith.constant 1.0 : f32
  scf.forall (%t) in (10) {
    %a = memref.alloc() : memref<16xf32>
    %r = scf.for %i = %c0 to %c1 step %c1 iter_args(%m = %a) -> (memref<16xf32>) {
      memref.store %x, %m[%c0] : memref<16xf32>
      scf.yield %m : memref<16xf32>
    }
    %b = memref.alloc() : memref<16xf32>
    %y = memref.load %r[%c0] : memref<16xf32>
    memref.store %y, %b[%c0] : memref<16xf32>
  }
  return
}

// -----

// Fewer tokens than slots: one slot per token; no allocation, no scratch.
// CHECK-LABEL: func.func @no_allocations
// CHECK-NOT: memref.alloc
// CHECK: } {mstream.token_slots = 2 : i64}
func.func @no_allocations(%out: memref<2xf32>) {
  %x = arith.constant 1.0 : f32
  scf.forall (%t) in (2) {
    memref.store %x, %out[%t] : memref<2xf32>
  }
  return
}

// -----

func.func @dynamic_trip_count(%n: index) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  scf.forall (%t) in (8) {
    // expected-note @below {{inside this scf.for}}
    scf.for %i = %c0 to %n step %c1 {
      // expected-error @below {{a token loop can only allocate inside loops with a static trip count}}
      %b = memref.alloc() : memref<4xf32>
    }
  }
  return
}

// -----

func.func @dynamic_shape(%n: index) {
  scf.forall (%t) in (8) {
    // expected-error @below {{a token loop can only allocate statically shaped buffers of numbers, not 'memref<?xf32>'}}
    %b = memref.alloc(%n) : memref<?xf32>
  }
  return
}

// -----

// 256 bytes per token and a budget of 600: two tokens at once.
// With shared-bytes >= 256, the token's buffers are in its block's shared
// memory instead: a workgroup buffer of one slot at the start of the body,
// seen in the default memory space, the views at their offsets in the slot;
// the budget, for global scratch only, leaves the slots at 4. One byte
// less of shared memory, and the buffers are in global scratch again.
// SHARED-LABEL: func.func @budget
// SHARED-NOT: memref.alloc()
// SHARED: scf.forall
// SHARED-NEXT: %[[LOCAL:.*]] = memref.alloca() {alignment = 64 : i64} : memref<256xi8, #gpu.address_space<workgroup>>
// SHARED-NEXT: %[[SLOT:.*]] = memref.memory_space_cast %[[LOCAL]] : memref<256xi8, #gpu.address_space<workgroup>> to memref<256xi8>
// SHARED: memref.view %[[SLOT]][%c192{{.*}}][] : memref<256xi8> to memref<4x4xf32>
// SHARED: scf.for
// SHARED: memref.view %[[SLOT]][%{{.*}}][] : memref<256xi8> to memref<4x4xf32>
// SHARED: } {mstream.token_slots = 4 : i64}
// GLOBAL-LABEL: func.func @budget
// GLOBAL: memref.alloc() : memref<1024xi8>
// GLOBAL-NOT: memref.alloca
// BUDGET-LABEL: func.func @budget
// BUDGET: memref.alloc() : memref<512xi8>
// BUDGET: arith.remui %{{.*}}, %c2
// BUDGET: } {mstream.token_slots = 2 : i64}
func.func @budget(%out: memref<10x16xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c3 = arith.constant 3 : index
  %x = arith.constant 1.0 : f32
  scf.forall (%t) in (10) {
    %a = memref.alloc() : memref<4x4xf32>
    memref.store %x, %a[%c0, %c0] : memref<4x4xf32>
    %r = scf.for %i = %c0 to %c3 step %c1 iter_args(%prev = %a) -> (memref<4x4xf32>) {
      %b = memref.alloc() : memref<4x4xf32>
      memref.store %x, %b[%i, %c0] : memref<4x4xf32>
      scf.yield %b : memref<4x4xf32>
    }
    %y = memref.load %r[%c0, %c0] : memref<4x4xf32>
    memref.store %y, %out[%t, %c0] : memref<10x16xf32>
  }
  return
}
