//===- Passes.td - code generation for GPUs ----------------*- tablegen -*-===//

#ifndef MSTREAM_CODEGEN_GPU_PASSES_TD
#define MSTREAM_CODEGEN_GPU_PASSES_TD

include "mlir/Pass/PassBase.td"

def SplitReductions : Pass<"mstream-split-reductions", "::mlir::ModuleOp"> {
  let summary = "Split large reductions with few results into a parallel and a final stage";
  let description = [{
    A `linalg.generic` that reduces whole tensors to a scalar (the global
    gradient norm, the loss mean), or a few large tensors to one value each
    (Muon's norms of a stack of matrices), has almost no parallel
    dimension, so the GPU backend would run it in one or a few threads.
    This pass collapses the reduced dimensions to one and splits the
    reduction (`linalg::splitReduction`, inner-parallel so that
    neighbouring threads read neighbouring elements): `max-ratio` partial
    results per output in parallel, then one short reduction over them.
    Each input is read element by element or, like the mean in a
    LayerNorm's variance, once per output. With `max-ratio` outputs or
    more, each of at least `min-size` elements (the loss's log-sum-exp over
    the vocabulary for every token) gets 32 partials, so that a warp reads
    a row's consecutive elements.
    Reductions of fewer than `min-size` elements each, whose parallel
    dimensions do not lead, whose body reads indices, or whose size has no
    power-of-two factor of at least 32 stay as they are. Inside a token
    loop (a fused region, one GPU block per token) the thresholds are
    `token-min-size` and `token-max-ratio`, and a factor of 8 is enough:
    with a ratio of 256 (the CUDA pipeline's, one partial per thread of a
    block), a LayerNorm's mean over 768 features becomes 256 partial sums
    of 3 in parallel, then one of 256 (shuffles, in
    `mstream-distribute-token-loops`), instead of one thread adding 768
    numbers.
  }];
  let options = [
    Option<"minSize", "min-size", "int64_t", "4096",
           "The smallest reduction to split">,
    Option<"maxRatio", "max-ratio", "int64_t", "1024",
           "The largest number of partial results (a power of two)">,
    Option<"tokenMinSize", "token-min-size", "int64_t", "0",
           "The smallest reduction to split inside a token loop (scf.forall), "
           "whose block of threads shares it; 0: none">,
    Option<"tokenMaxRatio", "token-max-ratio", "int64_t", "32",
           "The largest number of partial results inside a token loop">
  ];
  let dependentDialects = ["::mlir::linalg::LinalgDialect",
                           "::mlir::tensor::TensorDialect"];
}

def ConstantsToFills : Pass<"mstream-constants-to-fills", "::mlir::ModuleOp"> {
  let summary = "Replace splat tensor constants by linalg.fill";
  let description = [{
    Bufferized, a tensor constant is a host global that kernels cannot read.
    A splat constant (zeros for accumulators, for instance) becomes a
    `linalg.fill` of a `tensor.empty`, which the GPU backend runs as a
    kernel into device memory. Other constants are left alone.
  }];
  let dependentDialects = ["::mlir::linalg::LinalgDialect",
                           "::mlir::tensor::TensorDialect"];
}

def TokenBuffersToScratch : Pass<"mstream-token-buffers-to-scratch", "::mlir::ModuleOp"> {
  let summary = "Place a token loop's allocations in one scratch buffer";
  let description = [{
    For the CUDA backend, which runs a token loop (the `scf.forall` of a
    fused region, bufferized) as one kernel that cannot allocate. Each
    `memref.alloc` in the loop's body becomes a `memref.view` into one
    scratch buffer allocated before the loop: `slots` slots of the body's
    total size, token t in slot t mod slots, one copy of an allocation per
    iteration of each loop around it (which must have a static trip count)
    where a later iteration may reach it (a loop carries it), so that a
    matrix iteration's fresh buffers never overwrite the last ones; one
    copy for all iterations otherwise. Fewer slots are used where `slots`
    of them would exceed `max-bytes` (at least one). The loop gets `mstream.token_slots`, the
    number of tokens that may run at once. Allocations whose lifetimes do
    not overlap share bytes of the slot: each is live from the op of the
    body that allocates it (or holds the loop that does) to the last op
    that uses it or a view of it, or to the body's end where a terminator
    or an op with memref results (a loop carrying it, a branch yielding
    it) takes it; they are placed greedily by size, each at the lowest
    offset free throughout its lifetime.

    A token whose buffers take at most `shared-bytes` instead keeps them in
    its block's shared memory: a `memref.alloca` in the workgroup memory
    space at the start of the loop's body, which `mstream-loops-to-gpu`
    makes the launch's workgroup attribution (beyond 48 KiB, the most a
    kernel may declare, its dynamic shared memory), viewed through a
    `memref.memory_space_cast` to the default space so that the views'
    users keep their types (LLVM's address-space inference turns the
    accesses back into shared-memory loads and stores). A block runs one
    token at a time, so the block's buffer is the token's slot.
  }];
  let options = [
    Option<"slots", "slots", "int64_t", "1024",
           "How many tokens run at once (the kernel's blocks)">,
    Option<"maxBytes", "max-bytes", "int64_t", "1073741824",
           "The most scratch memory one token loop may use">,
    Option<"sharedBytes", "shared-bytes", "int64_t", "0",
           "A token's buffers go to its block's shared memory when they "
           "take at most this many bytes (0: always global scratch)">
  ];
  let dependentDialects = ["::mlir::memref::MemRefDialect",
                           "::mlir::arith::ArithDialect",
                           "::mlir::gpu::GPUDialect"];
}

def InterchangeParallelOutermost : Pass<"mstream-interchange-parallel-outermost", "::mlir::ModuleOp"> {
  let summary = "Interchange linalg.generic loops so that parallel ones are outermost";
  let description = [{
    `convert-linalg-to-parallel-loops` keeps the loop order, so a generic
    whose reduction dimension comes first (a sum over the batch or the
    tokens per feature) becomes a sequential loop around a parallel one: on
    the GPU, one kernel launch per reduction step. Interchanging puts the
    parallel dimensions outermost, so the whole op is one kernel with the
    reduction inside each thread; the indexing maps (and so the memory
    order) are unchanged. A `linalg.reduce` (a fused region's sum over its
    tokens) becomes a `linalg.generic` first.
  }];
  let dependentDialects = ["::mlir::linalg::LinalgDialect"];
}

def HoistParallelLoops : Pass<"mstream-hoist-parallel-loops", "::mlir::ModuleOp"> {
  let summary = "Run a sequential loop inside the parallel loop it wraps when each parallel iteration owns its elements";
  let description = [{
    On the GPU a host-level `scf.for` around an `scf.parallel` launches a
    kernel per iteration: the embedding gradient's scatter-add
    (`dtok[ids[p], :] += dy[p, :]` for each of the B x T positions p) is
    one launch per token. Where the parallel loop's iterations touch
    disjoint elements of every buffer the nest writes, the loops swap: one
    parallel loop whose every iteration runs the sequential loop, in the
    same order, over its own elements. The pass requires:
    - an `scf.for` without results, outside token loops and parallel
      loops, whose body is pure ops and loads, then a one-dimensional
      `scf.parallel` without reductions, bounded by values from outside;
    - inside the parallel loop, only loads, stores and pure ops;
    - no load before the parallel loop from a buffer the nest stores to;
    - every access to such a buffer indexing one dimension with the
      parallel induction variable, the buffer itself or a unit-stride
      `memref.subview` of it whose offset in that dimension is defined
      outside the `scf.for`, the same dimension and offset for all accesses
      to that buffer (so two parallel iterations never touch one element).
    Buffers are told apart by their allocation or entry-point argument; a
    nest that reaches a buffer otherwise (one an enclosing loop carries,
    which may be its initial value under another name) stays as it is.
  }];
}

def DistributeTokenLoops : Pass<"mstream-distribute-token-loops",
                                "::mlir::ModuleOp"> {
  let summary = "Run each token loop as one GPU block per token";
  let description = [{
    After `mstream-token-buffers-to-scratch` and `convert-linalg-to-parallel-loops`, a
    token loop's body is one token's work: parallel loop nests over the
    token's features or matrices, reductions and scalar code in between.
    The token loop becomes an `scf.parallel` over tokens marked
    `mstream.token_slots`, which `mstream-loops-to-gpu` launches as that
    many blocks, each running tokens in turn. Inside, every parallel nest is
    spread over the block's threads, code that writes memory outside one
    runs in thread 0, loops around parallel nests run in every thread, and
    a `gpu.barrier` orders each of these steps against the others. A call
    inside a token loop is an error.

    A loop that combines a power of two of partial results (at most 1024:
    `mstream-split-reductions`' last stage) into one element with an
    associative, commuting combiner of 32-bit values becomes shuffles
    instead of thread 0's loop: each warp in turn combines 32 partials with
    a butterfly of `gpu.shuffle xor` and leaves the result in the first of
    them (only where the partials are a buffer of their own that nothing
    reads after), then warp 0 combines those, and thread 0 the
    accumulator, whose initial value, stored right before, it takes
    directly. The blocks must be a multiple of 32 threads
    (`mstream-loops-to-gpu` launches 256) so that whole warps shuffle.

    With `one-thread`, the block is one thread and there are no barriers:
    the CPU pipeline's emulation of the kernels
    (`mstream-cpu-pipeline{gpu-token-kernels}`). Its thread loads every
    lane's partial and combines them in the order of lane 0's butterfly,
    the GPU's order of combination.
  }];
  let options = [
    Option<"oneThread", "one-thread", "bool", "false",
           "A block of one thread, without GPU ops (CPU emulation)">
  ];
  let dependentDialects = ["::mlir::gpu::GPUDialect",
                           "::mlir::scf::SCFDialect",
                           "::mlir::arith::ArithDialect"];
}

def MergeParallelLoops : Pass<"mstream-merge-parallel-loops",
                              "::mlir::ModuleOp"> {
  let summary = "Run neighbouring independent parallel loops as one loop";
  let description = [{
    Horizontal fusion for the GPU, where each `scf.parallel` is a kernel
    launch: the weight optimizer updates dozens of tensors with one small
    elementwise loop each, and reductions over many tensors (the global
    gradient norm, Muon's norms) are chains of small loops per tensor. A
    run of loops in one block becomes one 1-D loop over their concatenated
    iteration spaces; a balanced tree of `scf.if` on the flat index picks
    the loop whose body runs.

    A run starts at a loop and gathers every later loop (up to an operation
    with unknown effects, such as a call) that depends on nothing before it
    in the run: no loop of the run writes a buffer it reads or writes, or
    reads one it writes. Operations that depend on the run (a host read of
    its output, the next loop of a chain), and everything that depends on
    those, move after the merged loop in their order, as do deallocations;
    the others stay before it. The next run starts at the moved operations,
    so each level of a set of independent chains becomes one loop. Buffers
    are told apart by their root allocation or function argument, through
    views and the memrefs an `scf.for` carries (entry points' arguments do
    not alias, as One-Shot Bufferize assumes). Loops with reductions, token
    loops (`mstream.token_slots`), and loops that allocate or have unknown
    effects are not merged.

    A kernel takes what it reads from outside as parameters, a memref as
    its descriptor's fields, and `ptxas` refuses more than 32 KiB of them
    (PTX 8.1). The estimate counts what the kernel will take once
    `mstream-loops-to-gpu` has sunk loads, views and index arithmetic into
    it and `gpu-launch-sink-index-computations` the constants (the kernel
    report's `param` column reads the real size from the cubin). A loop
    that would take it past `max-argument-bytes` starts the next run
    instead.

    A run with loops of 256 points or more takes at most 8 loops of fewer
    points; the others move after the merged loop and form a run of their
    own. Each thread takes one branch, but the generated code selects among
    the branches' buffers up front: the paper's tmm step merged its hundred
    one-element tensors' updates with the large tensors' and needed 164
    registers per thread (one block per SM) where it now needs 56.
  }];
  let options = [
    Option<"maxArgumentBytes", "max-argument-bytes", "int64_t", "16384",
           "The most parameter bytes a merged loop's kernel may take">
  ];
  let dependentDialects = ["::mlir::scf::SCFDialect",
                           "::mlir::arith::ArithDialect"];
}

def WrapSerialRuns : Pass<"mstream-wrap-serial-runs", "::mlir::ModuleOp"> {
  let summary = "Give device code outside loop nests a loop of one point, so that it merges";
  let description = [{
    After `convert-linalg-to-parallel-loops`, a 0-d buffer's fill, a
    reduction too short for `mstream-split-reductions` to split, and other
    scalar code are loads, stores and `scf.for` loops in host functions,
    and `mstream-loops-to-gpu` makes each run of them a one-thread kernel.
    The allocation of the next buffer ends a run, so the paper model's
    train step launched about 200 of them, most for the global gradient
    norm's accumulators. This pass gives each run whose values nothing
    after it reads an `scf.parallel` of one point, placed at the run's end
    (only pure host arithmetic lies between its operations), so that
    `mstream-merge-parallel-loops` merges independent runs and loops into
    one kernel, a thread each. A run whose value later host code reads
    stays as it is: `mstream-loops-to-gpu` recomputes that value from
    memory. Host loops and branches are visited; parallel loops are not.
  }];
  let dependentDialects = ["::mlir::scf::SCFDialect",
                           "::mlir::arith::ArithDialect"];
}

def LoopsToGpu : Pass<"mstream-loops-to-gpu", "::mlir::ModuleOp"> {
  let summary = "Run every host-level loop nest and memory access as a GPU kernel";
  let description = [{
    After `convert-linalg-to-parallel-loops`, host functions hold parallel
    loop nests, plain loops and loads/stores over buffers the CUDA runtime
    allocates on the device. This pass leaves only orchestration on the host:
    - each `scf.parallel` becomes a `gpu.launch` of 256-thread blocks, one
      thread per iteration point (the innermost dimension varies fastest, so
      neighbouring threads touch neighbouring elements);
    - each `memref.copy` becomes such a parallel copy;
    - a run of loads, stores and loops without calls or parallel loops (a
      0-d update, a full reduction) becomes a one-thread `gpu.launch`;
    - a token loop (with `mstream.token_slots`) becomes a launch of that
      many blocks, its workgroup-memory `memref.alloca` the launch's
      workgroup buffer, or, beyond the 48 KiB a kernel may declare, a view
      of the launch's dynamic shared memory (`gpu.dynamic_shared_memory`,
      the launch's `dynamic_shared_memory_size`).
    The scalars a loop reads from the host (loads and the arithmetic on
    them) are computed again inside it, each in the `scf.if` branch that
    uses it where there is one (a merged loop's thread then loads only its
    own part's scalars), never past a store to its buffer and never into a
    loop; one computed from more than 8 loads (the global gradient norm's
    total over every tensor) is computed once before the loop, by a
    one-point loop, into a device scalar. A buffer the host freed after
    such a load is freed after the kernels that now read it.
    Host loops and calls (the GEMMs) stay on the host and are visited
    recursively. A host operation that would read a value computed on the
    device is an error.
  }];
  let dependentDialects = ["::mlir::gpu::GPUDialect",
                           "::mlir::scf::SCFDialect",
                           "::mlir::arith::ArithDialect"];
}

def MergeGpuModules : Pass<"mstream-merge-gpu-modules", "::mlir::ModuleOp"> {
  let summary = "Move every outlined kernel into one gpu.module";
  let description = [{
    `gpu-kernel-outlining` makes one `gpu.module` per kernel. A train step
    has hundreds of kernels; one module is one NVPTX compilation, one
    `ptxas` run and one cubin to load, inspect and embed. Launches are
    retargeted to the merged module. Each kernel's shared-memory buffers
    (workgroup attributions) get the 64-byte alignment (`llvm.align`) that
    the views into them assume and that outlining does not carry.
  }];
  let dependentDialects = ["::mlir::gpu::GPUDialect",
                           "::mlir::LLVM::LLVMDialect"];
}

def DeduplicateKernels : Pass<"mstream-deduplicate-kernels", "::mlir::ModuleOp"> {
  let summary = "Compile each distinct kernel once: launches of an equal kernel share it";
  let description = [{
    Every layer of a model outlines the same kernels, which differ only in
    the buffers they are given; with shapes and offsets sunk into them as
    constants they are equal op for op. Of each set of kernels of a
    `gpu.module` with the same signature, attributes (but the name) and
    body (locations aside), the first stays and the launches of the others
    launch it; the others are erased. The paper's SOAP train step has 760
    kernels and 85 distinct ones, so NVPTX and `ptxas` compile a seventh of
    the code, and the cubin shrinks alike.
  }];
  let dependentDialects = ["::mlir::gpu::GPUDialect"];
}

def GlobalKernelPointers : Pass<"mstream-global-kernel-pointers", "::mlir::gpu::GPUModuleOp"> {
  let summary = "Type kernels' pointer parameters as global memory, cast where used";
  let description = [{
    Runs on the NVVM kernels (`llvm.func`s with `nvvm.kernel`). A kernel's
    parameters point to global memory, and NVPTX's argument lowering says
    so for a generic pointer with a `cvta.to.global` at the kernel's start,
    whose result `ptxas` then keeps in a register to the end. Each generic
    pointer parameter becomes `!llvm.ptr<1>` and each of its uses gets its
    own `llvm.addrspacecast` to the generic space, which LLVM's address
    space inference folds into the use. A merged kernel whose threads each
    take one branch then holds only that branch's pointers. Only the
    kernel's signature changes: the launch passes the same 64-bit values.
  }];
  let dependentDialects = ["::mlir::LLVM::LLVMDialect"];
}

def KernelReport : Pass<"mstream-kernel-report", "::mlir::ModuleOp"> {
  let summary = "Record what each entry launches, moves and keeps on the device";
  let description = [{
    Runs after `mstream-deduplicate-kernels`, while kernels are `gpu.func`s
    and launches `gpu.launch_func`s with their grids, and records on the
    module, as `mstream.kernel_report`, one dictionary per host function
    that launches kernels or calls cuBLAS:
    - `kernels`: per launch site, the kernel, its launches per call (the
      trip counts of the host loops around it; an `scf.if` counts as
      taken), grid and block, and estimates of the bytes it reads and
      writes and the floating-point operations it does;
    - `library`: per `mstream_cuda_*` GEMM call site, its calls per call,
      batch, m, n, k, element bytes of its operands, FLOPs and bytes;
    - `staged_bytes` (token batches and rank-0 inputs, copied in every
      call), `readback_bytes` (rank-0 outputs, copied back every call),
      `resident_bytes` (every other argument, kept on the device) and
      `peak_bytes` (those plus the most the function's own allocations
      hold at once, in program order).
    Estimates: a thread runs every operation of the kernel body once per
    iteration of the kernel's loops around it (their bounds evaluated from
    constants and the block and grid sizes the kernel declares; a bound
    that depends on the thread, as a block-strided loop's start, counts
    from 0, and one unknown otherwise gives one trip), and of an `scf.if`
    the more
    expensive branch (so a merged kernel, whose threads each run one
    branch, is an upper bound); a buffer's bytes are the lesser of its size
    and its accesses times the element size (a gather reads the rows it
    touches, a reused operand its size). FLOPs count the float arithmetic
    of the `arith` and `math` dialects (an FMA as two).
    `mstream compile --print-kernel-report` renders the attribute with the
    registers, shared memory and parameter bytes `ptxas` gave each kernel.
  }];
}

#endif // MSTREAM_CODEGEN_GPU_PASSES_TD
