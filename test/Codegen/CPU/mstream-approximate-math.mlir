// RUN: mstream-opt %s --mstream-approximate-math | FileCheck %s

// f32 exp and erf become inline polynomials of multiplies and adds, with
// no fused multiply-add or floor left for the baseline CPU to call libm
// for.
// CHECK-LABEL: func.func @approximated
// CHECK-NOT: math.exp
// CHECK-NOT: math.erf
// CHECK-NOT: math.fma
// CHECK-NOT: math.floor
// CHECK: arith.fptosi
// CHECK: return
func.func @approximated(%x: f32) -> (f32, f32) {
  %e = math.exp %x : f32
  %r = math.erf %x : f32
  return %e, %r : f32, f32
}

// floor: truncation, one down below it, x itself from 2^23 on, x's sign.
// CHECK-LABEL: func.func @floor
// CHECK-SAME: (%[[X:.*]]: f32)
// CHECK-DAG: %[[ONE:.*]] = arith.constant 1.000000e+00 : f32
// CHECK-DAG: %[[LARGE:.*]] = arith.constant 0x4B000000 : f32
// CHECK: %[[INT:.*]] = arith.fptosi %[[X]] : f32 to i32
// CHECK: %[[T:.*]] = arith.sitofp %[[INT]] : i32 to f32
// CHECK: %[[BELOW:.*]] = arith.cmpf olt, %[[X]], %[[T]] : f32
// CHECK: %[[DOWN:.*]] = arith.subf %[[T]], %[[ONE]] : f32
// CHECK: %[[F:.*]] = arith.select %[[BELOW]], %[[DOWN]], %[[T]] : f32
// CHECK: %[[ABS:.*]] = math.absf %[[X]] : f32
// CHECK: %[[SMALL:.*]] = arith.cmpf olt, %[[ABS]], %[[LARGE]] : f32
// CHECK: %[[KEPT:.*]] = arith.select %[[SMALL]], %[[F]], %[[X]] : f32
// CHECK: %[[R:.*]] = math.copysign %[[KEPT]], %[[X]] : f32
// CHECK: return %[[R]]
func.func @floor(%x: f32) -> f32 {
  %f = math.floor %x : f32
  return %f : f32
}

// fma: a multiply and an add.
// CHECK-LABEL: func.func @fma
// CHECK-SAME: (%[[A:.*]]: f32, %[[B:.*]]: f32, %[[C:.*]]: f32)
// CHECK: %[[P:.*]] = arith.mulf %[[A]], %[[B]] : f32
// CHECK: %[[S:.*]] = arith.addf %[[P]], %[[C]] : f32
// CHECK: return %[[S]]
func.func @fma(%a: f32, %b: f32, %c: f32) -> f32 {
  %r = math.fma %a, %b, %c : f32
  return %r : f32
}

// Other ops and f64 stay: libm and LLVM's intrinsics are exact there.
// CHECK-LABEL: func.func @kept
// CHECK: math.exp %{{.*}} : f64
// CHECK: math.erf %{{.*}} : f64
// CHECK: math.floor %{{.*}} : f64
// CHECK: math.log %{{.*}} : f32
// CHECK: math.sqrt %{{.*}} : f32
func.func @kept(%d: f64, %x: f32) -> (f64, f64, f64, f32, f32) {
  %e = math.exp %d : f64
  %r = math.erf %d : f64
  %f = math.floor %d : f64
  %l = math.log %x : f32
  %s = math.sqrt %x : f32
  return %e, %r, %f, %l, %s : f64, f64, f64, f32, f32
}
