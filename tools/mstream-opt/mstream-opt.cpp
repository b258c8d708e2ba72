//===- mstream-opt.cpp - mstream's optimizer driver -----------------------===//
//
// mlir-opt with the mstream dialect and passes: parses, verifies, runs passes
// and prints IR at any stage of mstream's pipelines. Every upstream dialect
// and pass is registered so that each phase's output parses back.
// `mstream-opt --help` lists every registered pass.
//
//===----------------------------------------------------------------------===//

#include "mstream/Dialect/MStreamDialect.h"
#include "mstream/InitAllPasses.h"

#include "mlir/IR/DialectRegistry.h"
#include "mlir/InitAllPasses.h"
#include "mlir/Tools/mlir-opt/MlirOptMain.h"
#include "llvm/Support/CommandLine.h"

int main(int argc, char **argv) {
  llvm::cl::AddExtraVersionPrinter([](llvm::raw_ostream &os) {
    os << "mstream " << MSTREAM_VERSION << "\n";
  });
  mlir::registerAllPasses();
  mstream::registerAllPasses();

  mlir::DialectRegistry registry;
  mstream::registerPipelineDependencies(registry);
  registry.insert<mstream::MStreamDialect>();
  return mlir::asMainReturnCode(mlir::MlirOptMain(
      argc, argv, "mstream optimizer driver: mstream IR in, any stage out\n",
      registry));
}
