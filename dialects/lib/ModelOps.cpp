//===- ModelOps.cpp - verifiers of the model and oracle ops ---------------===//

#include "VerifyUtils.h"
#include "mstream/Dialect/MStreamOps.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/Support/raw_ostream.h"

using namespace mlir;
using namespace mstream;

std::string mstream::formatShape(ArrayRef<int64_t> shape) {
  std::string text;
  llvm::raw_string_ostream os(text);
  os << '[';
  llvm::interleaveComma(shape, os, [&](int64_t size) {
    if (ShapedType::isDynamic(size))
      os << '?';
    else
      os << size;
  });
  os << ']';
  return text;
}

bool mstream::shapesAgree(ArrayRef<int64_t> a, ArrayRef<int64_t> b) {
  return a.size() == b.size() &&
         llvm::all_of(llvm::zip_equal(a, b), [](auto pair) {
           return sizesAgree(std::get<0>(pair), std::get<1>(pair));
         });
}

/// Checks that `value` is a `[rows, cols]` matrix (either may be dynamic in
/// the expectation) with the element type of `like`.
static LogicalResult verifyMatrix(Operation *op, StringRef name, Value value,
                                  int64_t rows, int64_t cols, Type like) {
  auto type = cast<RankedTensorType>(value.getType());
  if (type.getRank() != 2 || !sizesAgree(type.getDimSize(0), rows) ||
      !sizesAgree(type.getDimSize(1), cols))
    return op->emitOpError() << name << " must have shape "
                             << formatShape({rows, cols}) << ", got " << type;
  if (type.getElementType() != like)
    return op->emitOpError()
           << name << " must have element type " << like << ", got " << type;
  return success();
}

/// The static feature width of `value`'s last axis, or an error naming it.
static FailureOr<int64_t> getFeatureWidth(Operation *op, StringRef name,
                                          Value value) {
  auto type = cast<RankedTensorType>(value.getType());
  if (type.getRank() < 1 || type.isDynamicDim(type.getRank() - 1))
    return op->emitOpError()
           << name << " must have a static feature axis, got " << type;
  return type.getShape().back();
}

LogicalResult EmbeddingOp::verify() {
  auto ids = getIds().getType();
  if (ids.getRank() != 2)
    return emitOpError("ids must be [batch, seq], got ") << ids;
  auto tok = getTok().getType();
  if (tok.getRank() != 2)
    return emitOpError("token table must be [vocab, d], got ") << tok;
  int64_t d = tok.getDimSize(1);
  if (failed(verifyMatrix(*this, "position table", getPos(),
                          ShapedType::kDynamic, d, tok.getElementType())))
    return failure();
  int64_t seq = ids.getDimSize(1);
  int64_t positions = getPos().getType().getDimSize(0);
  if (!ShapedType::isDynamic(seq) && !ShapedType::isDynamic(positions) &&
      seq > positions)
    return emitOpError() << "sequence length " << seq
                         << " exceeds the position table's " << positions
                         << " rows";
  auto result = getResult().getType();
  SmallVector<int64_t> expected = {ids.getDimSize(0), seq, d};
  if (!shapesAgree(result.getShape(), expected) ||
      result.getElementType() != tok.getElementType())
    return emitOpError() << "result must be " << formatShape(expected) << " of "
                         << tok.getElementType() << ", got " << result;
  return success();
}

LogicalResult LayerNormOp::verify() {
  FailureOr<int64_t> d = getFeatureWidth(*this, "input", getX());
  if (failed(d))
    return failure();
  auto gain = getGain().getType();
  if (gain.getRank() != 1 || !sizesAgree(gain.getDimSize(0), *d) ||
      gain.getElementType() != getX().getType().getElementType())
    return emitOpError() << "gain must be a " << formatShape({*d})
                         << " vector of " << getX().getType().getElementType()
                         << " to match the input " << getX().getType()
                         << ", got " << gain;
  if (!(getEps().convertToDouble() > 0))
    return emitOpError("eps must be positive, got ")
           << getEps().convertToDouble();
  return success();
}

LogicalResult AttentionOp::verify() {
  auto x = getX().getType();
  if (x.getRank() != 3)
    return emitOpError("input must be [batch, seq, d], got ") << x;
  FailureOr<int64_t> d = getFeatureWidth(*this, "input", getX());
  if (failed(d))
    return failure();
  int64_t heads = getHeads();
  if (heads <= 0 || *d % heads != 0)
    return emitOpError() << "heads = " << heads
                         << " must be positive and divide the model width d = "
                         << *d;
  Type element = x.getElementType();
  if (failed(
          verifyMatrix(*this, "qkv weight", getWQkv(), 3 * *d, *d, element)) ||
      failed(verifyMatrix(*this, "output weight", getWOut(), *d, *d, element)))
    return failure();
  return success();
}

LogicalResult MlpOp::verify() {
  FailureOr<int64_t> d = getFeatureWidth(*this, "input", getX());
  if (failed(d))
    return failure();
  auto w1 = getW1().getType();
  if (w1.getRank() != 2)
    return emitOpError("w1 must be [hidden, d], got ") << w1;
  int64_t hidden = w1.getDimSize(0);
  Type element = getX().getType().getElementType();
  if (failed(verifyMatrix(*this, "w1", getW1(), hidden, *d, element)) ||
      failed(verifyMatrix(*this, "w2", getW2(), *d, hidden, element)))
    return failure();
  return success();
}

LogicalResult TiedHeadOp::verify() {
  FailureOr<int64_t> d = getFeatureWidth(*this, "input", getX());
  if (failed(d))
    return failure();
  auto table = getTable().getType();
  if (table.getRank() != 2)
    return emitOpError("token table must be [vocab, d], got ") << table;
  Type element = getX().getType().getElementType();
  if (failed(verifyMatrix(*this, "token table", getTable(), table.getDimSize(0),
                          *d, element)))
    return failure();
  SmallVector<int64_t> expected(getX().getType().getShape());
  expected.back() = table.getDimSize(0);
  auto result = getResult().getType();
  if (!shapesAgree(result.getShape(), expected) ||
      result.getElementType() != element)
    return emitOpError() << "result must be " << formatShape(expected) << " of "
                         << element << ", got " << result;
  return success();
}

LogicalResult CrossEntropyOp::verify() {
  auto logits = getLogits().getType();
  auto targets = getTargets().getType();
  if (logits.getRank() < 2)
    return emitOpError(
               "logits must have a position axis and a class axis, got ")
           << logits;
  if (!shapesAgree(targets.getShape(), logits.getShape().drop_back()))
    return emitOpError() << "targets must have shape "
                         << formatShape(logits.getShape().drop_back())
                         << " (the logits without the class axis), got "
                         << targets;
  if (getLoss().getType().getElementType() != logits.getElementType())
    return emitOpError() << "loss must have the logits' element type "
                         << logits.getElementType() << ", got "
                         << getLoss().getType();
  return success();
}
