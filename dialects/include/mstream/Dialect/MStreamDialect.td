//===- MStreamDialect.td - mstream dialect definition ------*- tablegen -*-===//
//
// The mstream dialect: tensor-level ops for optimizer-inspired Transformers.
//
//===----------------------------------------------------------------------===//

#ifndef MSTREAM_DIALECT_MSTREAMDIALECT_TD
#define MSTREAM_DIALECT_MSTREAMDIALECT_TD

include "mlir/IR/OpBase.td"

def MStream_Dialect : Dialect {
  let name = "mstream";
  let cppNamespace = "::mstream";
  let summary = "Optimizer-inspired Transformer layers as residual step ops";
  let description = [{
    A pre-norm Transformer layer's residual update read as one optimizer step.
    Oracle ops (`attention`, `mlp`) produce the "gradient" of a substep; one
    *step op* per optimizer scheme consumes the streams carried through depth
    (residual `x`, velocity `v`, moments `m`/`s`, per-token right
    preconditioner `r`) together with that oracle output and the substep's
    learned raw scalars, and returns the new streams.

    All ops have value semantics on ranked tensors. Learned scalars are passed
    *raw* (as stored in a PyTorch state_dict, shape `[1]` or `[]`); each step
    op documents which map (sigmoid or softplus) it applies to each of them.
  }];
  let dependentDialects = ["::mlir::arith::ArithDialect",
                           "::mlir::tensor::TensorDialect"];
  let hasConstantMaterializer = 0;
}

class MStream_Op<string mnemonic, list<Trait> traits = []>
    : Op<MStream_Dialect, mnemonic, traits>;

#endif // MSTREAM_DIALECT_MSTREAMDIALECT_TD
