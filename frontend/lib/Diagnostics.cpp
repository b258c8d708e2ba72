//===- Diagnostics.cpp - compiler errors located in the definition --------===//

#include "mstream/Frontend/Diagnostics.h"

#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/Location.h"
#include "llvm/Support/raw_ostream.h"

using namespace mlir;

static const char *severityName(DiagnosticSeverity severity) {
  switch (severity) {
  case DiagnosticSeverity::Error:
    return "error";
  case DiagnosticSeverity::Warning:
    return "warning";
  case DiagnosticSeverity::Note:
    return "note";
  case DiagnosticSeverity::Remark:
    return "remark";
  }
  return "error";
}

static void print(Location loc, DiagnosticSeverity severity,
                  llvm::StringRef message, llvm::raw_ostream &os) {
  FileLineColLoc file;
  NameLoc name;
  loc->walk([&](Location inner) {
    if (!file)
      file = dyn_cast<FileLineColLoc>(inner);
    if (!name)
      name = dyn_cast<NameLoc>(inner);
    return WalkResult::advance();
  });
  if (file)
    os << file.getFilename().getValue() << ":" << file.getLine() << ":"
       << file.getColumn() << ": ";
  os << severityName(severity) << ": " << message;
  if (name)
    os << " [" << name.getName().getValue() << "]";
  os << "\n";
}

mstream::ModelDiagnostics::ModelDiagnostics(MLIRContext *context,
                                            llvm::raw_ostream *os)
    : ScopedDiagnosticHandler(context, [os](Diagnostic &diagnostic) {
        llvm::raw_ostream &out = os ? *os : llvm::errs();
        print(diagnostic.getLocation(), diagnostic.getSeverity(),
              diagnostic.str(), out);
        for (Diagnostic &note : diagnostic.getNotes())
          print(note.getLocation(), note.getSeverity(), note.str(), out);
        return success();
      }) {
  // A pass failure would attach its whole operation (for the CUDA
  // pipeline, a module of thousands of kernels) to the message; the
  // location already says where.
  context->printOpOnDiagnostic(false);
}
