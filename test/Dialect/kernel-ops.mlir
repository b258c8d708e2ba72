// RUN: mstream-opt %s | mstream-opt | FileCheck %s
// RUN: mstream-opt %s -cse | FileCheck %s --check-prefix=CSE

// The attention kernel ops round-trip on tensors (one result per out) and
// on buffers (none), with f32 or bf16 inputs.

// CHECK-LABEL: func.func @forward
// CHECK: %{{.*}}:2 = mstream.flash_attention ins(%{{.*}}, %{{.*}}, %{{.*}} : tensor<4x8x2xbf16>, tensor<4x8x2xbf16>, tensor<4x8x2xbf16>) outs(%{{.*}}, %{{.*}} : tensor<4x8x2xf32>, tensor<4x8xf32>) {scale = 0.70710678118654757 : f64} -> tensor<4x8x2xf32>, tensor<4x8xf32>
func.func @forward(%q: tensor<4x8x2xbf16>, %k: tensor<4x8x2xbf16>, %v: tensor<4x8x2xbf16>, %o: tensor<4x8x2xf32>, %l: tensor<4x8xf32>) -> (tensor<4x8x2xf32>, tensor<4x8xf32>) {
  %0:2 = mstream.flash_attention ins(%q, %k, %v : tensor<4x8x2xbf16>, tensor<4x8x2xbf16>, tensor<4x8x2xbf16>) outs(%o, %l : tensor<4x8x2xf32>, tensor<4x8xf32>) {scale = 0.70710678118654757 : f64} -> tensor<4x8x2xf32>, tensor<4x8xf32>
  return %0#0, %0#1 : tensor<4x8x2xf32>, tensor<4x8xf32>
}

// CHECK-LABEL: func.func @grad_on_buffers
// CHECK: mstream.flash_attention_grad ins(%{{.*}} : memref<4x8x2xf32>, memref<4x8x2xf32>, memref<4x8x2xf32>, memref<4x8x2xf32>, memref<4x8x2xf32>, memref<4x8xf32>) outs(%{{.*}}, %{{.*}}, %{{.*}} : memref<4x8x2xf32>, memref<4x8x2xf32>, memref<4x8x2xf32>) {scale = 5.000000e-01 : f64}{{$}}
func.func @grad_on_buffers(%q: memref<4x8x2xf32>, %o: memref<4x8x2xf32>, %l: memref<4x8xf32>, %dq: memref<4x8x2xf32>, %dk: memref<4x8x2xf32>, %dv: memref<4x8x2xf32>) {
  mstream.flash_attention_grad ins(%q, %q, %q, %o, %o, %l : memref<4x8x2xf32>, memref<4x8x2xf32>, memref<4x8x2xf32>, memref<4x8x2xf32>, memref<4x8x2xf32>, memref<4x8xf32>) outs(%dq, %dk, %dv : memref<4x8x2xf32>, memref<4x8x2xf32>, memref<4x8x2xf32>) {scale = 0.5 : f64}
  return
}

// On tensors the ops have no memory effects: CSE merges two identical
// forwards. On buffers they read and write: both stay.
// CSE-LABEL: func.func @cse
// CSE-COUNT-1: mstream.flash_attention
// CSE-NOT: mstream.flash_attention
// CSE: return
func.func @cse(%q: tensor<4x8x2xf32>) -> (tensor<4x8x2xf32>, tensor<4x8x2xf32>) {
  %o = tensor.empty() : tensor<4x8x2xf32>
  %l = tensor.empty() : tensor<4x8xf32>
  %0:2 = mstream.flash_attention ins(%q, %q, %q : tensor<4x8x2xf32>, tensor<4x8x2xf32>, tensor<4x8x2xf32>) outs(%o, %l : tensor<4x8x2xf32>, tensor<4x8xf32>) {scale = 0.5 : f64} -> tensor<4x8x2xf32>, tensor<4x8xf32>
  %1:2 = mstream.flash_attention ins(%q, %q, %q : tensor<4x8x2xf32>, tensor<4x8x2xf32>, tensor<4x8x2xf32>) outs(%o, %l : tensor<4x8x2xf32>, tensor<4x8xf32>) {scale = 0.5 : f64} -> tensor<4x8x2xf32>, tensor<4x8xf32>
  return %0#0, %1#0 : tensor<4x8x2xf32>, tensor<4x8x2xf32>
}

// CSE-LABEL: func.func @cse_buffers
// CSE-COUNT-2: mstream.flash_attention ins
func.func @cse_buffers(%q: memref<4x8x2xf32>, %o: memref<4x8x2xf32>, %l: memref<4x8xf32>) {
  mstream.flash_attention ins(%q, %q, %q : memref<4x8x2xf32>, memref<4x8x2xf32>, memref<4x8x2xf32>) outs(%o, %l : memref<4x8x2xf32>, memref<4x8xf32>) {scale = 0.5 : f64}
  mstream.flash_attention ins(%q, %q, %q : memref<4x8x2xf32>, memref<4x8x2xf32>, memref<4x8x2xf32>) outs(%o, %l : memref<4x8x2xf32>, memref<4x8xf32>) {scale = 0.5 : f64}
  return
}
