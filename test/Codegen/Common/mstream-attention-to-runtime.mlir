// RUN: not mstream-opt %s --split-input-file --one-shot-bufferize="bufferize-function-boundaries function-boundary-type-conversion=identity-layout-map" --mstream-attention-to-runtime 2>/dev/null | FileCheck %s
// RUN: not mstream-opt %s --split-input-file --mstream-attention-to-runtime 2>&1 | FileCheck %s --check-prefix=TENSORS
// RUN: mstream-opt %s --split-input-file --one-shot-bufferize="bufferize-function-boundaries function-boundary-type-conversion=identity-layout-map" | FileCheck %s --check-prefix=BUFFERS

// One-shot bufferization writes the ops into their outs' buffers (fresh
// allocations for tensor.empty, nothing copied: the kernels only write
// them); the pass then calls the runtime with bf16 = 0, N, T, Dh, the scale
// and (address, row stride, head stride) per buffer.
// BUFFERS-LABEL: func.func @forward_and_grad
// BUFFERS-NOT: memref.copy
// BUFFERS: mstream.flash_attention ins(%{{.*}}, %{{.*}}, %{{.*}} : memref<4x8x2xf32>, memref<4x8x2xf32>, memref<4x8x2xf32>) outs(%{{.*}}, %{{.*}} : memref<4x8x2xf32>, memref<4x8xf32>) {scale = 5.000000e-01 : f64}
// BUFFERS-NOT: memref.copy
// BUFFERS: mstream.flash_attention_grad
// CHECK-LABEL: func.func private @mstream_flash_attention_grad(index, index, index, index, f64, {{(index, ){26}index\)}}
// CHECK-LABEL: func.func private @mstream_flash_attention(index, index, index, index, f64, {{(index, ){14}index\)}}
// CHECK-LABEL: func.func @forward_and_grad
// CHECK-DAG: %[[ZERO:.*]] = arith.constant 0 : index
// CHECK-DAG: %[[HALF:.*]] = arith.constant 5.000000e-01 : f64
// CHECK: call @mstream_flash_attention(%[[ZERO]], %{{.*}}, %{{.*}}, %{{.*}}, %[[HALF]], {{(%[^,]*, ){14}%[^,]*\)}}
// CHECK: call @mstream_flash_attention_grad({{%c0(_[0-9]+)?}}, {{.*}}) : ({{(index, ){4}f64(, index){27}\)}} -> ()
// CHECK-NOT: mstream.flash_attention
// TENSORS: error: 'mstream.flash_attention' op is still on tensors: mstream-attention-to-runtime runs after bufferization
func.func @forward_and_grad(%q: tensor<4x8x2xf32>, %dout: tensor<4x8x2xf32>) -> (tensor<4x8x2xf32>, tensor<4x8x2xf32>, tensor<4x8x2xf32>) {
  %o = tensor.empty() : tensor<4x8x2xf32>
  %l = tensor.empty() : tensor<4x8xf32>
  %0:2 = mstream.flash_attention ins(%q, %q, %q : tensor<4x8x2xf32>, tensor<4x8x2xf32>, tensor<4x8x2xf32>) outs(%o, %l : tensor<4x8x2xf32>, tensor<4x8xf32>) {scale = 0.5 : f64} -> tensor<4x8x2xf32>, tensor<4x8xf32>
  %g = tensor.empty() : tensor<4x8x2xf32>
  %1:3 = mstream.flash_attention_grad ins(%q, %q, %q, %0#0, %dout, %0#1 : tensor<4x8x2xf32>, tensor<4x8x2xf32>, tensor<4x8x2xf32>, tensor<4x8x2xf32>, tensor<4x8x2xf32>, tensor<4x8xf32>) outs(%g, %g, %g : tensor<4x8x2xf32>, tensor<4x8x2xf32>, tensor<4x8x2xf32>) {scale = 0.5 : f64} -> tensor<4x8x2xf32>, tensor<4x8x2xf32>, tensor<4x8x2xf32>
  return %1#0, %1#1, %1#2 : tensor<4x8x2xf32>, tensor<4x8x2xf32>, tensor<4x8x2xf32>
}

// -----

// bf16 inputs set the flag.
// CHECK-LABEL: func.func @bf16
// CHECK: %[[ONE:.*]] = arith.constant 1 : index
// CHECK: call @mstream_flash_attention(%[[ONE]],
func.func @bf16(%q: memref<4x8x2xbf16>, %o: memref<4x8x2xf32>, %l: memref<4x8xf32>) {
  mstream.flash_attention ins(%q, %q, %q : memref<4x8x2xbf16>, memref<4x8x2xbf16>, memref<4x8x2xbf16>) outs(%o, %l : memref<4x8x2xf32>, memref<4x8xf32>) {scale = 0.5 : f64}
  return
}

// -----

// A buffer whose rows are not contiguous is refused, naming its type.
// TENSORS: error: 'mstream.flash_attention' op operand of type 'memref<4x8x2xf32, strided<[32, 4, 2]>>' has no unit inner stride: the runtime's flash kernels read whole rows
func.func @strided(%q: memref<4x8x2xf32, strided<[32, 4, 2]>>, %o: memref<4x8x2xf32>, %l: memref<4x8xf32>) {
  mstream.flash_attention ins(%q, %q, %q : memref<4x8x2xf32, strided<[32, 4, 2]>>, memref<4x8x2xf32, strided<[32, 4, 2]>>, memref<4x8x2xf32, strided<[32, 4, 2]>>) outs(%o, %l : memref<4x8x2xf32>, memref<4x8xf32>) {scale = 0.5 : f64}
  return
}
