//===- Json.h - a small JSON reader for the runtime -------------*- C++ -*-===//
//
// JSON for safetensors headers and run metadata, read strictly (RFC 8259,
// no duplicate keys, at most 64 levels deep; Json.cpp). Errors name the
// byte offset.
//
//===----------------------------------------------------------------------===//

#ifndef MSTREAM_RUNTIME_JSON_H
#define MSTREAM_RUNTIME_JSON_H

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace mstream::rt {

struct JsonValue {
  enum class Kind {
    Null,
    Bool,
    Number,
    String,
    Array,
    Object
  } kind = Kind::Null;
  bool boolean = false;
  double number = 0;
  /// A number written as an integer that fits int64 (no fraction or
  /// exponent), also in `integer`, exactly.
  bool isInteger = false;
  int64_t integer = 0;
  std::string string;
  std::vector<JsonValue> array;
  /// Keys in file order.
  std::vector<std::pair<std::string, JsonValue>> object;

  const JsonValue *find(absl::string_view key) const;
};

absl::StatusOr<JsonValue> parseJson(absl::string_view text);

/// `text` quoted and escaped as a JSON string.
std::string quoteJson(absl::string_view text);

} // namespace mstream::rt

#endif // MSTREAM_RUNTIME_JSON_H
