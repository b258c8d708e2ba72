//===- MStreamDialect.h - mstream dialect -----------------------*- C++ -*-===//

#ifndef MSTREAM_DIALECT_MSTREAMDIALECT_H
#define MSTREAM_DIALECT_MSTREAMDIALECT_H

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Dialect.h"

#include "mstream/Dialect/MStreamDialect.h.inc"

#endif // MSTREAM_DIALECT_MSTREAMDIALECT_H
