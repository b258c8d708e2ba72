//===- MStreamDialect.cpp - mstream dialect registration ------------------===//

#include "mstream/Dialect/MStreamDialect.h"
#include "mstream/Dialect/MStreamOps.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/OpImplementation.h"
#include "mlir/Transforms/InliningUtils.h"

using namespace mlir;
using namespace mstream;

#include "mstream/Dialect/MStreamDialect.cpp.inc"
#include "mstream/Dialect/MStreamInterfaces.cpp.inc"

namespace {
/// Every mstream op is pure, and fused regions are isolated from above:
/// inlining a function that holds them (loss calls forward) is always legal.
struct MStreamInlinerInterface : DialectInlinerInterface {
  using DialectInlinerInterface::DialectInlinerInterface;
  bool isLegalToInline(Operation *, Region *, bool, IRMapping &) const final {
    return true;
  }
};
} // namespace

void MStreamDialect::initialize() {
  addOperations<
#define GET_OP_LIST
#include "mstream/Dialect/MStreamOps.cpp.inc"
      >();
  addInterfaces<MStreamInlinerInterface>();
}

#define GET_OP_CLASSES
#include "mstream/Dialect/MStreamOps.cpp.inc"
