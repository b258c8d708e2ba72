// RUN: mstream-opt %s --mstream-approximate-math --convert-scf-to-cf \
// RUN:   --convert-math-to-llvm --convert-math-to-libm --convert-arith-to-llvm \
// RUN:   --convert-func-to-llvm --convert-cf-to-llvm \
// RUN:   --reconcile-unrealized-casts \
// RUN: | mlir-runner -e main -entry-point-result=void \
// RUN:   -shared-libs=%mlir_c_runner_utils \
// RUN: | FileCheck %s

// The rewritten f32 ops against the same ops in f64, which the pass leaves
// to libm, on a grid of 200,001 points. Bounds: exp's relative error
// 2^-22.5 = 1.7e-7 (Cephes, with fused multiply-adds; measured 7.8e-8 with
// the multiply and add that replace them), so 2e-7; erf's absolute error
// 2.5e-7 (measured 2.7e-7, one f32 rounding of values up to 1 included),
// so 4e-7. floor must be exact.

// Largest error of `f32(x)` against `f64(x)` over x in [lo, hi]; relative
// to |f64(x)| when `relative`.
func.func @maxError(%lo: f64, %hi: f64, %relative: i1,
                    %f32: (f32) -> f32, %f64: (f64) -> f64) -> f64 {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %n = arith.constant 200001 : index
  %zero = arith.constant 0.0 : f64
  %steps = arith.constant 200000.0 : f64
  %width = arith.subf %hi, %lo : f64
  %step = arith.divf %width, %steps : f64
  %max = scf.for %i = %c0 to %n step %c1 iter_args(%m = %zero) -> f64 {
    %ii = arith.index_cast %i : index to i64
    %fi = arith.sitofp %ii : i64 to f64
    %offset = arith.mulf %fi, %step : f64
    %x64 = arith.addf %lo, %offset : f64
    %x = arith.truncf %x64 : f64 to f32
    %xd = arith.extf %x : f32 to f64
    %got = func.call_indirect %f32(%x) : (f32) -> f32
    %gotd = arith.extf %got : f32 to f64
    %want = func.call_indirect %f64(%xd) : (f64) -> f64
    %diff = arith.subf %gotd, %want : f64
    %abs = math.absf %diff : f64
    %scale = math.absf %want : f64
    %rel = arith.divf %abs, %scale : f64
    %err = arith.select %relative, %rel, %abs : f64
    %next = arith.maximumf %m, %err : f64
    scf.yield %next : f64
  }
  return %max : f64
}

func.func @exp32(%x: f32) -> f32 {
  %y = math.exp %x : f32
  return %y : f32
}
func.func @exp64(%x: f64) -> f64 {
  %y = math.exp %x : f64
  return %y : f64
}
func.func @erf32(%x: f32) -> f32 {
  %y = math.erf %x : f32
  return %y : f32
}
func.func @erf64(%x: f64) -> f64 {
  %y = math.erf %x : f64
  return %y : f64
}
func.func @floor32(%x: f32) -> f32 {
  %y = math.floor %x : f32
  return %y : f32
}
func.func @floor64(%x: f64) -> f64 {
  %y = math.floor %x : f64
  return %y : f64
}

func.func private @printI64(i64)
func.func private @printNewline()

// Prints 1 when `error` is at most `bound`.
func.func @check(%error: f64, %bound: f64) {
  %ok = arith.cmpf ole, %error, %bound : f64
  %flag = arith.extui %ok : i1 to i64
  func.call @printI64(%flag) : (i64) -> ()
  func.call @printNewline() : () -> ()
  return
}

// CHECK:      {{^}}1{{$}}
// CHECK-NEXT: {{^}}1{{$}}
// CHECK-NEXT: {{^}}1{{$}}
// CHECK-NEXT: {{^}}1{{$}}
// CHECK-NEXT: {{^}}1{{$}}
func.func @main() {
  %true = arith.constant true
  %false = arith.constant false
  %exp32 = constant @exp32 : (f32) -> f32
  %exp64 = constant @exp64 : (f64) -> f64
  %erf32 = constant @erf32 : (f32) -> f32
  %erf64 = constant @erf64 : (f64) -> f64
  %floor32 = constant @floor32 : (f32) -> f32
  %floor64 = constant @floor64 : (f64) -> f64
  %expBound = arith.constant 2.0e-7 : f64
  %erfBound = arith.constant 4.0e-7 : f64
  %exact = arith.constant 0.0 : f64
  // exp over the range of normal results.
  %expLo = arith.constant -87.0 : f64
  %expHi = arith.constant 88.0 : f64
  %expErr = func.call @maxError(%expLo, %expHi, %true, %exp32, %exp64)
      : (f64, f64, i1, (f32) -> f32, (f64) -> f64) -> f64
  func.call @check(%expErr, %expBound) : (f64, f64) -> ()
  // erf, into its saturated tails.
  %erfLo = arith.constant -6.0 : f64
  %erfHi = arith.constant 6.0 : f64
  %erfErr = func.call @maxError(%erfLo, %erfHi, %false, %erf32, %erf64)
      : (f64, f64, i1, (f32) -> f32, (f64) -> f64) -> f64
  func.call @check(%erfErr, %erfBound) : (f64, f64) -> ()
  // floor near zero (fractions of both signs) ...
  %floorLo = arith.constant -3.0 : f64
  %floorHi = arith.constant 3.0 : f64
  %floorErr = func.call @maxError(%floorLo, %floorHi, %false, %floor32, %floor64)
      : (f64, f64, i1, (f32) -> f32, (f64) -> f64) -> f64
  func.call @check(%floorErr, %exact) : (f64, f64) -> ()
  // ... around 2^23, where f32 spacing reaches 1 ...
  %midLo = arith.constant -8388700.0 : f64
  %midHi = arith.constant -8388500.0 : f64
  %midErr = func.call @maxError(%midLo, %midHi, %false, %floor32, %floor64)
      : (f64, f64, i1, (f32) -> f32, (f64) -> f64) -> f64
  func.call @check(%midErr, %exact) : (f64, f64) -> ()
  // ... and beyond int32's range.
  %bigLo = arith.constant -1.0e12 : f64
  %bigHi = arith.constant 1.0e12 : f64
  %bigErr = func.call @maxError(%bigLo, %bigHi, %false, %floor32, %floor64)
      : (f64, f64, i1, (f32) -> f32, (f64) -> f64) -> f64
  func.call @check(%bigErr, %exact) : (f64, f64) -> ()
  return
}
