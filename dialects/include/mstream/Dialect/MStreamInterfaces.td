//===- MStreamInterfaces.td - interfaces of mstream ops ----*- tablegen -*-===//

#ifndef MSTREAM_DIALECT_MSTREAMINTERFACES_TD
#define MSTREAM_DIALECT_MSTREAMINTERFACES_TD

include "mlir/IR/OpBase.td"

def MStream_StepOpInterface : OpInterface<"StepOpInterface"> {
  let cppNamespace = "::mstream";
  let description = [{
    A residual step of one optimizer scheme. Passes (autodiff, stream fusion,
    lowering) treat every scheme uniformly through this interface: the
    residual stream and the oracle output in, the auxiliary streams in and
    out, and the learned raw scalars that parameterise the step.
  }];
  // Every step op lays out its operands as (x, streams..., grad, raw
  // scalars..., LayerNorm gain `ln_v` or `ln_u`) and its results as
  // (x', streams'...), so the accessors are shared here rather than spelled
  // out per op.
  let methods = [
    InterfaceMethod<"The residual stream x the step updates.",
      "::mlir::Value", "getResidual", (ins), [{}],
      [{ return $_op->getOperand(0); }]>,
    InterfaceMethod<"The auxiliary streams read, in result order.",
      "::mlir::OperandRange", "getStreamsIn", (ins), [{}],
      [{ return $_op->getOperands().slice(1, $_op->getNumResults() - 1); }]>,
    InterfaceMethod<"The oracle output (the substep's gradient) g.",
      "::mlir::Value", "getOracleOutput", (ins), [{}],
      [{ return $_op->getOperand($_op->getNumResults()); }]>,
    InterfaceMethod<"The LayerNorm gain on the update or velocity, if any.",
      "::mlir::Value", "getLnGain", (ins), [{}],
      [{
        unsigned fixed = $_op->getNumResults() + 1;
        if ($_op->getNumOperands() == fixed)
          return ::mlir::Value();
        return $_op->getOperands().back();
      }]>,
    InterfaceMethod<"The learned raw scalars, in operand order.",
      "::mlir::OperandRange", "getRawScalars", (ins), [{}],
      [{
        unsigned fixed = $_op->getNumResults() + 1;
        unsigned total = $_op->getNumOperands();
        unsigned count = total == fixed ? 0 : total - fixed - 1;
        return $_op->getOperands().slice(fixed, count);
      }]>,
    InterfaceMethod<"The operands' names as the assembly prints them (x, v, "
      "grad, beta, ..., ln_v), in operand order.",
      "::llvm::ArrayRef<::llvm::StringRef>", "getOperandLabels", (ins), [{}],
      [{
        return ConcreteOp::getArgumentNames().take_front(
            $_op->getNumOperands());
      }]>,
    InterfaceMethod<"The new residual stream x'.",
      "::mlir::Value", "getNewResidual", (ins), [{}],
      [{ return $_op->getResult(0); }]>,
    InterfaceMethod<"The new auxiliary streams, in operand order.",
      "::mlir::ResultRange", "getStreamsOut", (ins), [{}],
      [{ return $_op->getResults().drop_front(); }]>,
    InterfaceMethod<"Heads of the per-token H x Dh view, or 0 if unused.",
      "int64_t", "getHeadCount", (ins), [{}],
      [{
        if (auto heads = $_op->template getAttrOfType<::mlir::IntegerAttr>("heads"))
          return heads.getInt();
        return 0;
      }]>,
  ];
  let verify = [{ return ::mstream::verifyStepOp($_op); }];
}

def MStream_VjpOpInterface : OpInterface<"VjpOpInterface"> {
  let cppNamespace = "::mstream";
  let description = [{
    Reverse-mode differentiation of one op: its vector-Jacobian product.
    `mstream-autodiff` calls it for every op on the path from the
    parameters to the loss. Implementations live with the lowering (they
    emit linalg on tensors) and are attached as external models, so the
    dialect itself stays IR only.
  }];
  let methods = [
    InterfaceMethod<[{
        Emits, at the builder's insertion point, the cotangent of every
        operand from one cotangent per result. A null result cotangent
        means that result does not reach the loss. Appends one value per
        operand to `operandCotangents`, null for operands that are not
        differentiable (token ids) or receive nothing.
      }],
      "::llvm::LogicalResult", "buildVjp",
      (ins "::mlir::OpBuilder &":$builder,
           "::mlir::ValueRange":$resultCotangents,
           "::llvm::SmallVectorImpl<::mlir::Value> &":$operandCotangents)>,
  ];
}

#endif // MSTREAM_DIALECT_MSTREAMINTERFACES_TD
