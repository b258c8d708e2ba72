//===- MStreamDialect.cpp - mstream dialect registration ------------------===//

#include "mstream/Dialect/MStreamDialect.h"
#include "mstream/Dialect/MStreamOps.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/OpImplementation.h"

using namespace mlir;
using namespace mstream;

#include "mstream/Dialect/MStreamDialect.cpp.inc"
#include "mstream/Dialect/MStreamInterfaces.cpp.inc"

void MStreamDialect::initialize() {
  addOperations<
#define GET_OP_LIST
#include "mstream/Dialect/MStreamOps.cpp.inc"
      >();
}

#define GET_OP_CLASSES
#include "mstream/Dialect/MStreamOps.cpp.inc"
