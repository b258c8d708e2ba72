//===- mstream-opt.cpp - mstream's optimizer driver -----------------------===//
//
// mlir-opt with the mstream dialect: parses, verifies, runs passes and
// prints mstream IR. `mstream-opt --help` lists every registered pass.
//
//===----------------------------------------------------------------------===//

#include "mstream/Dialect/MStreamDialect.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/Tools/mlir-opt/MlirOptMain.h"
#include "mlir/Transforms/Passes.h"

int main(int argc, char **argv) {
  mlir::registerTransformsPasses();

  mlir::DialectRegistry registry;
  registry.insert<mstream::MStreamDialect, mlir::arith::ArithDialect,
                  mlir::func::FuncDialect, mlir::tensor::TensorDialect>();
  return mlir::asMainReturnCode(mlir::MlirOptMain(
      argc, argv, "mstream optimizer driver: mstream IR in, mstream IR out\n",
      registry));
}
