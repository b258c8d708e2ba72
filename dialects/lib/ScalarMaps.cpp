//===- ScalarMaps.cpp - maps from raw learned scalars ---------------------===//

#include "mstream/Dialect/ScalarMaps.h"

#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/Matchers.h"

#include <cmath>

using namespace mlir;

double mstream::sigmoid(double raw) { return 1.0 / (1.0 + std::exp(-raw)); }

double mstream::softplus(double raw) {
  // log1p(exp(r)) overflows for large r, where softplus(r) == r + log1p(e^-r).
  if (raw > 0)
    return raw + std::log1p(std::exp(-raw));
  return std::log1p(std::exp(raw));
}

std::optional<double> mstream::getConstantRawScalar(Value raw) {
  DenseFPElementsAttr attr;
  if (!matchPattern(raw, m_Constant(&attr)) || attr.getNumElements() != 1)
    return std::nullopt;
  return (*attr.getValues<APFloat>().begin()).convertToDouble();
}

/// `value` correctly rounded to the element type of `raw`.
static APFloat roundToElementType(double value, Value raw) {
  auto elementType =
      cast<FloatType>(cast<ShapedType>(raw.getType()).getElementType());
  APFloat rounded(value);
  bool losesInfo = false;
  rounded.convert(elementType.getFloatSemantics(), APFloat::rmNearestTiesToEven,
                  &losesInfo);
  return rounded;
}

bool mstream::isSigmoidExactlyZero(Value raw) {
  std::optional<double> value = getConstantRawScalar(raw);
  return value && roundToElementType(sigmoid(*value), raw).isZero();
}

bool mstream::isSoftplusExactlyOne(Value raw) {
  std::optional<double> value = getConstantRawScalar(raw);
  if (!value)
    return false;
  APFloat one = roundToElementType(1.0, raw);
  return roundToElementType(softplus(*value), raw).compare(one) ==
         APFloat::cmpEqual;
}
