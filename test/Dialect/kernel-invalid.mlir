// RUN: mstream-opt %s -split-input-file -verify-diagnostics

func.func @mixed(%q: tensor<4x8x2xf32>, %m: memref<4x8x2xf32>, %o: tensor<4x8x2xf32>, %l: tensor<4x8xf32>) {
  // expected-error @+1 {{operand 1 is a buffer but operand 0 is not: the operands must be all tensors or all buffers}}
  %0:2 = "mstream.flash_attention"(%q, %m, %q, %o, %l) {scale = 0.5 : f64} : (tensor<4x8x2xf32>, memref<4x8x2xf32>, tensor<4x8x2xf32>, tensor<4x8x2xf32>, tensor<4x8xf32>) -> (tensor<4x8x2xf32>, tensor<4x8xf32>)
  return
}

// -----

func.func @results_on_buffers(%q: memref<4x8x2xf32>, %l: memref<4x8xf32>) {
  // expected-error @+1 {{expected 0 results (none on buffers), got 1}}
  %0 = "mstream.flash_attention"(%q, %q, %q, %q, %l) {scale = 0.5 : f64} : (memref<4x8x2xf32>, memref<4x8x2xf32>, memref<4x8x2xf32>, memref<4x8x2xf32>, memref<4x8xf32>) -> tensor<4x8x2xf32>
  return
}

// -----

func.func @result_type(%q: tensor<4x8x2xf32>, %l: tensor<4x8xf32>) {
  // expected-error @+1 {{result 1 must have its out's type 'tensor<4x8xf32>', got 'tensor<4x7xf32>'}}
  %0:2 = "mstream.flash_attention"(%q, %q, %q, %q, %l) {scale = 0.5 : f64} : (tensor<4x8x2xf32>, tensor<4x8x2xf32>, tensor<4x8x2xf32>, tensor<4x8x2xf32>, tensor<4x8xf32>) -> (tensor<4x8x2xf32>, tensor<4x7xf32>)
  return
}

// -----

func.func @rank(%q: tensor<8x2xf32>, %o: tensor<4x8x2xf32>, %l: tensor<4x8xf32>) {
  // expected-error @+1 {{q must be [heads, seq, head_dim], got [8, 2]}}
  %0:2 = mstream.flash_attention ins(%q, %q, %q : tensor<8x2xf32>, tensor<8x2xf32>, tensor<8x2xf32>) outs(%o, %l : tensor<4x8x2xf32>, tensor<4x8xf32>) {scale = 0.5 : f64} -> tensor<4x8x2xf32>, tensor<4x8xf32>
  return
}

// -----

func.func @key_shape(%q: tensor<4x8x2xf32>, %k: tensor<4x9x2xf32>, %o: tensor<4x8x2xf32>, %l: tensor<4x8xf32>) {
  // expected-error @+1 {{k must have shape [4, 8, 2], got [4, 9, 2]}}
  %0:2 = mstream.flash_attention ins(%q, %k, %q : tensor<4x8x2xf32>, tensor<4x9x2xf32>, tensor<4x8x2xf32>) outs(%o, %l : tensor<4x8x2xf32>, tensor<4x8xf32>) {scale = 0.5 : f64} -> tensor<4x8x2xf32>, tensor<4x8xf32>
  return
}

// -----

func.func @mixed_precision(%q: tensor<4x8x2xbf16>, %v: tensor<4x8x2xf32>, %o: tensor<4x8x2xf32>, %l: tensor<4x8xf32>) {
  // expected-error @+1 {{v must have element type 'bf16', got 'f32'}}
  %0:2 = mstream.flash_attention ins(%q, %q, %v : tensor<4x8x2xbf16>, tensor<4x8x2xbf16>, tensor<4x8x2xf32>) outs(%o, %l : tensor<4x8x2xf32>, tensor<4x8xf32>) {scale = 0.5 : f64} -> tensor<4x8x2xf32>, tensor<4x8xf32>
  return
}

// -----

func.func @lse_shape(%q: tensor<4x8x2xf32>, %l: tensor<4x8x2xf32>) {
  // expected-error @+1 {{lse must have shape [4, 8], got [4, 8, 2]}}
  %0:2 = mstream.flash_attention ins(%q, %q, %q : tensor<4x8x2xf32>, tensor<4x8x2xf32>, tensor<4x8x2xf32>) outs(%q, %l : tensor<4x8x2xf32>, tensor<4x8x2xf32>) {scale = 0.5 : f64} -> tensor<4x8x2xf32>, tensor<4x8x2xf32>
  return
}

// -----

func.func @scale(%q: tensor<4x8x2xf32>, %l: tensor<4x8xf32>) {
  // expected-error @+1 {{scale}}
  %0:2 = mstream.flash_attention ins(%q, %q, %q : tensor<4x8x2xf32>, tensor<4x8x2xf32>, tensor<4x8x2xf32>) outs(%q, %l : tensor<4x8x2xf32>, tensor<4x8xf32>) {scale = 0.0 : f64} -> tensor<4x8x2xf32>, tensor<4x8xf32>
  return
}

// -----

func.func @grad_dout(%q: tensor<4x8x2xbf16>, %d: tensor<4x8x2xf32>, %l: tensor<4x8xf32>) {
  // expected-error @+1 {{dout must have element type 'bf16', got 'f32'}}
  %0:3 = mstream.flash_attention_grad ins(%q, %q, %q, %d, %d, %l : tensor<4x8x2xbf16>, tensor<4x8x2xbf16>, tensor<4x8x2xbf16>, tensor<4x8x2xf32>, tensor<4x8x2xf32>, tensor<4x8xf32>) outs(%d, %d, %d : tensor<4x8x2xf32>, tensor<4x8x2xf32>, tensor<4x8x2xf32>) {scale = 0.5 : f64} -> tensor<4x8x2xf32>, tensor<4x8x2xf32>, tensor<4x8x2xf32>
  return
}
