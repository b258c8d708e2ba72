//===- FusedOp.cpp - verifier of the fused per-token regions --------------===//

#include "VerifyUtils.h"
#include "mstream/Dialect/MStreamOps.h"

using namespace mlir;
using namespace mstream;

/// Whether `type` starts with the token dimensions.
static bool hasTokenDims(Type type, ArrayRef<int64_t> tokens) {
  auto tensor = dyn_cast<RankedTensorType>(type);
  return tensor && tensor.getRank() >= static_cast<int64_t>(tokens.size()) &&
         tensor.getShape().take_front(tokens.size()) == tokens;
}

Type FusedOp::getTokenSliceType(Type type, ArrayRef<int64_t> tokens) {
  if (!hasTokenDims(type, tokens))
    return type;
  auto tensor = cast<RankedTensorType>(type);
  SmallVector<int64_t> shape(tensor.getShape());
  std::fill_n(shape.begin(), tokens.size(), 1);
  return tensor.clone(shape);
}

/// With every token dimension 1 a shared value with token dimensions reads
/// as per token; both readings compute the same.
static bool isTokenSlice(FusedOp op, Type outer, Type inner) {
  return hasTokenDims(outer, op.getTokens()) &&
         inner == FusedOp::getTokenSliceType(outer, op.getTokens());
}

bool FusedOp::isPerTokenInput(unsigned i) {
  return isTokenSlice(*this, getInputs()[i].getType(),
                      getBody().getArgument(i).getType());
}

bool FusedOp::isPerTokenResult(unsigned i) {
  return isTokenSlice(*this, getResult(i).getType(),
                      getYield().getValues()[i].getType());
}

YieldOp FusedOp::getYield() {
  return cast<YieldOp>(getBody().front().getTerminator());
}

LogicalResult FusedOp::verify() {
  if (getTokens().empty())
    return emitOpError("tokens must list at least one token dimension");
  for (int64_t size : getTokens())
    if (size <= 0)
      return emitOpError("token dimensions must be positive, got ")
             << formatShape(getTokens());
  return success();
}

LogicalResult FusedOp::verifyRegions() {
  Block &body = getBody().front();
  if (body.getNumArguments() != getInputs().size())
    return emitOpError("body takes ")
           << body.getNumArguments() << " arguments for " << getInputs().size()
           << " inputs";
  auto check = [&](StringRef what, unsigned i, Type outer,
                   Type inner) -> LogicalResult {
    if (inner == outer || isTokenSlice(*this, outer, inner))
      return success();
    return emitOpError() << what << " " << i << " of type " << outer
                         << " is seen in the body as " << inner
                         << "; it must be the same type (shared) or its slice "
                            "for one token of "
                         << formatShape(getTokens());
  };
  for (auto [i, input] : llvm::enumerate(getInputs()))
    if (failed(
            check("input", i, input.getType(), body.getArgument(i).getType())))
      return failure();
  ValueRange yielded = getYield().getValues();
  if (yielded.size() != getNumResults())
    return emitOpError("body yields ")
           << yielded.size() << " values for " << getNumResults() << " results";
  for (auto [i, result] : llvm::enumerate(getResults()))
    if (failed(check("result", i, result.getType(), yielded[i].getType())))
      return failure();
  return success();
}
