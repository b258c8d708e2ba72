//===- ConfigParser.h - JSON model definitions ------------------*- C++ -*-===//
//
// Reads a model definition in the style of a Hugging Face config.json:
//   {"variant": "tmm", "vocab_size": 256, "max_seq_len": 128,
//    "d_model": 128, "n_layers": 4, "n_heads": 4, "vel_init": "embed"}
// Every error is rendered as "file:line:col: error: key '...': ..." with the
// offending line and a caret, and returned as the llvm::Error's message.
//
//===----------------------------------------------------------------------===//

#ifndef MSTREAM_FRONTEND_CONFIGPARSER_H
#define MSTREAM_FRONTEND_CONFIGPARSER_H

#include "mstream/Model/ModelConfig.h"

#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

namespace mstream {

/// A parsed definition and where it came from, so that the IR built from it
/// can point back at the user's file.
struct ParsedConfig {
  ModelConfig config;
  std::string file;
  /// Position of the "variant" value, the anchor of the model's locations.
  unsigned line = 1;
  unsigned column = 1;
};

/// The keys a definition may hold, in documentation order.
llvm::ArrayRef<llvm::StringRef> getConfigKeys();

llvm::Expected<ParsedConfig> parseModelConfig(llvm::StringRef text,
                                              llvm::StringRef fileName);

llvm::Expected<ParsedConfig> parseModelConfigFile(llvm::StringRef path);

} // namespace mstream

#endif // MSTREAM_FRONTEND_CONFIGPARSER_H
