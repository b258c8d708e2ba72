//===- ConfigParser.cpp - JSON model definitions --------------------------===//

#include "mstream/Frontend/ConfigParser.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/raw_ostream.h"

#include <string>

using namespace mstream;
using llvm::StringRef;

llvm::ArrayRef<StringRef> mstream::getConfigKeys() {
  static const StringRef keys[] = {"variant",  "vocab_size", "max_seq_len",
                                   "d_model",  "n_layers",   "n_heads",
                                   "vel_init", "ns_iters"};
  return keys;
}

namespace {

/// Where a top-level key and its value start in the buffer.
struct KeyPosition {
  const char *key;
  const char *value;
};

class ConfigParser {
public:
  ConfigParser(StringRef text, StringRef fileName) {
    buffer = sourceMgr.AddNewSourceBuffer(
        llvm::MemoryBuffer::getMemBufferCopy(text, fileName), llvm::SMLoc());
    this->text = sourceMgr.getMemoryBuffer(buffer)->getBuffer();
    this->fileName = fileName.str();
  }

  llvm::Expected<ParsedConfig> parse();

private:
  llvm::Error error(const char *at, const llvm::Twine &message) const;
  llvm::Error keyError(StringRef key, const llvm::Twine &message) const {
    return error(positions.lookup(key).value, "key '" + key + "': " + message);
  }
  llvm::Error scanKeys();
  llvm::Error checkNesting() const;
  llvm::Error readInteger(const llvm::json::Object &object, StringRef key,
                          int64_t min, int64_t max, int64_t &out) const;
  llvm::Error readChoice(const llvm::json::Object &object, StringRef key,
                         llvm::ArrayRef<StringRef> choices,
                         std::string &out) const;

  llvm::SourceMgr sourceMgr;
  unsigned buffer = 0;
  StringRef text;
  std::string fileName;
  const char *objectStart = nullptr;
  llvm::StringMap<KeyPosition> positions;
};

} // namespace

llvm::Error ConfigParser::error(const char *at,
                                const llvm::Twine &message) const {
  std::string rendered;
  llvm::raw_string_ostream os(rendered);
  sourceMgr.PrintMessage(os, llvm::SMLoc::getFromPointer(at),
                         llvm::SourceMgr::DK_Error, message);
  return llvm::createStringError(llvm::inconvertibleErrorCode(), rendered);
}

/// Returns the index just past the string literal that starts at `begin`.
static size_t skipString(StringRef text, size_t begin) {
  size_t i = begin + 1;
  while (i < text.size() && text[i] != '"')
    i += text[i] == '\\' ? 2 : 1;
  return i + 1;
}

/// Records the position of every key of the top-level object. Runs after
/// llvm::json accepted the text, so the syntax is known to be valid.
llvm::Error ConfigParser::scanKeys() {
  int depth = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '{' || c == '[') {
      if (depth++ == 0)
        objectStart = text.data() + i;
      continue;
    }
    if (c == '}' || c == ']') {
      --depth;
      continue;
    }
    if (c != '"')
      continue;
    size_t end = skipString(text, i);
    size_t colon = text.find_first_not_of(" \t\r\n", end);
    if (depth == 1 && colon != StringRef::npos && text[colon] == ':') {
      llvm::Expected<llvm::json::Value> key =
          llvm::json::parse(text.slice(i, end));
      if (!key)
        return key.takeError();
      std::string name = key->getAsString()->str();
      const char *value =
          text.data() + text.find_first_not_of(" \t\r\n", colon + 1);
      if (!positions.try_emplace(name, KeyPosition{text.data() + i, value})
               .second)
        return error(text.data() + i, "duplicate key '" + name + "'");
    }
    i = end - 1;
  }
  return llvm::Error::success();
}

/// A model definition nests one level (the object) or two (none of its
/// values does today); LLVM's JSON parser recurses once per level, so a
/// file of a hundred thousand '[' would overflow the stack in it.
constexpr int kMaxNesting = 32;

llvm::Error ConfigParser::checkNesting() const {
  int depth = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '"')
      i = skipString(text, i) - 1;
    else if ((c == '{' || c == '[') && ++depth > kMaxNesting)
      return error(text.data() + i, "invalid JSON: nested deeper than " +
                                        llvm::Twine(kMaxNesting) + " levels");
    else if (c == '}' || c == ']')
      --depth;
  }
  return llvm::Error::success();
}

/// A short description of a JSON value's kind for error messages.
static std::string describe(const llvm::json::Value &value) {
  std::string text;
  llvm::raw_string_ostream os(text);
  switch (value.kind()) {
  case llvm::json::Value::Null:
    return "null";
  case llvm::json::Value::Boolean:
    os << "boolean " << value;
    break;
  case llvm::json::Value::String:
    os << "string " << value;
    break;
  case llvm::json::Value::Array:
    return "an array";
  case llvm::json::Value::Object:
    return "an object";
  case llvm::json::Value::Number:
    os << value;
    break;
  }
  return text;
}

llvm::Error ConfigParser::readInteger(const llvm::json::Object &object,
                                      StringRef key, int64_t min, int64_t max,
                                      int64_t &out) const {
  const llvm::json::Value *value = object.get(key);
  if (!value)
    return llvm::Error::success();
  std::optional<int64_t> number = value->getAsInteger();
  if (!number)
    return keyError(key, "expected an integer, got " + describe(*value));
  if (*number < min || *number > max)
    return keyError(key, "value " + llvm::Twine(*number) +
                             " is out of range [" + llvm::Twine(min) + ", " +
                             llvm::Twine(max) + "]");
  out = *number;
  return llvm::Error::success();
}

/// "did you mean 'x'?" for the closest candidate within a small distance.
static std::string suggest(StringRef word,
                           llvm::ArrayRef<StringRef> candidates) {
  StringRef best;
  unsigned bestDistance = 3;
  for (StringRef candidate : candidates) {
    unsigned distance = word.edit_distance(candidate, true, bestDistance);
    if (distance < bestDistance) {
      bestDistance = distance;
      best = candidate;
    }
  }
  return best.empty() ? "" : " (did you mean '" + best.str() + "'?)";
}

llvm::Error ConfigParser::readChoice(const llvm::json::Object &object,
                                     StringRef key,
                                     llvm::ArrayRef<StringRef> choices,
                                     std::string &out) const {
  const llvm::json::Value *value = object.get(key);
  if (!value)
    return llvm::Error::success();
  std::optional<StringRef> text = value->getAsString();
  std::string expected = "expected one of " + llvm::join(choices, ", ");
  if (!text)
    return keyError(key, expected + ", got " + describe(*value));
  if (!llvm::is_contained(choices, *text))
    return keyError(key, "unknown value '" + *text + "'" +
                             suggest(*text, choices) + "; " + expected);
  out = text->str();
  return llvm::Error::success();
}

/// Matches LLVM's JSON parse error text "[line:col, byte=N]: message".
static const char *locateJsonError(StringRef text, StringRef message,
                                   std::string &rest) {
  size_t byte = message.find("byte=");
  size_t close = message.find("]: ");
  unsigned offset = 0;
  if (byte == StringRef::npos || close == StringRef::npos ||
      message.slice(byte + 5, close).getAsInteger(10, offset)) {
    rest = message.str();
    return text.data();
  }
  rest = message.drop_front(close + 3).str();
  // The parser reports the position just past the offending character.
  if (offset > 0)
    --offset;
  return text.data() + std::min<size_t>(offset, text.size());
}

llvm::Expected<ParsedConfig> ConfigParser::parse() {
  if (llvm::Error err = checkNesting())
    return std::move(err);
  llvm::Expected<llvm::json::Value> root = llvm::json::parse(text);
  if (!root) {
    std::string message, rest;
    llvm::raw_string_ostream(message) << root.takeError();
    const char *at = locateJsonError(text, message, rest);
    return error(at, "invalid JSON: " + rest);
  }
  const llvm::json::Object *object = root->getAsObject();
  if (!object)
    return error(text.data(), "a model definition must be a JSON object, got " +
                                  describe(*root));
  if (llvm::Error err = scanKeys())
    return std::move(err);

  llvm::ArrayRef<StringRef> known = getConfigKeys();
  for (const auto &entry : *object) {
    StringRef key = entry.first;
    if (!llvm::is_contained(known, key))
      return error(positions.lookup(key).key,
                   "unknown key '" + key + "'" + suggest(key, known) +
                       "; known keys: " + llvm::join(known, ", "));
  }

  ParsedConfig parsed;
  parsed.file = fileName;
  ModelConfig &config = parsed.config;

  std::vector<StringRef> variantNames;
  for (const VariantInfo &info : allVariants())
    variantNames.push_back(info.name);
  if (!object->get("variant"))
    return error(objectStart, "missing required key 'variant'; expected one "
                              "of " +
                                  llvm::join(variantNames, ", "));
  std::string variant, velInit;
  if (llvm::Error err = readChoice(*object, "variant", variantNames, variant))
    return std::move(err);
  config.variant = *parseVariant(variant);
  auto [line, column] = sourceMgr.getLineAndColumn(
      llvm::SMLoc::getFromPointer(positions.lookup("variant").value), buffer);
  parsed.line = line;
  parsed.column = column;

  // Bounds keep every parameter's element count far below 2^63 and token
  // ids within int32.
  if (llvm::Error err =
          readInteger(*object, "vocab_size", 1, INT32_MAX, config.vocabSize))
    return std::move(err);
  if (llvm::Error err =
          readInteger(*object, "max_seq_len", 1, 1 << 20, config.maxSeqLen))
    return std::move(err);
  if (llvm::Error err =
          readInteger(*object, "d_model", 1, 1 << 16, config.dModel))
    return std::move(err);
  if (llvm::Error err =
          readInteger(*object, "n_layers", 1, 1024, config.nLayers))
    return std::move(err);
  if (llvm::Error err =
          readInteger(*object, "n_heads", 1, 1 << 16, config.nHeads))
    return std::move(err);
  if (llvm::Error err =
          readInteger(*object, "ns_iters", 1, 100, config.nsIters))
    return std::move(err);
  if (llvm::Error err =
          readChoice(*object, "vel_init", {"embed", "zero"}, velInit))
    return std::move(err);

  if (config.dModel % config.nHeads != 0) {
    StringRef key = object->get("n_heads") ? "n_heads" : "d_model";
    return keyError(key, llvm::Twine(config.nHeads) +
                             " heads do not divide d_model = " +
                             llvm::Twine(config.dModel));
  }
  if (object->get("vel_init")) {
    if (config.variant != Variant::Tmm)
      return keyError("vel_init",
                      "applies only to variant 'tmm', not '" + variant + "'");
    config.velInit = velInit == "zero" ? VelInit::Zero : VelInit::Embed;
  }
  if (object->get("ns_iters") && config.variant != Variant::Muon &&
      config.variant != Variant::Ortho)
    return keyError("ns_iters", "applies only to variants 'muon' and 'ortho', "
                                "not '" +
                                    variant + "'");
  return parsed;
}

llvm::Expected<ParsedConfig> mstream::parseModelConfig(StringRef text,
                                                       StringRef fileName) {
  return ConfigParser(text, fileName).parse();
}

llvm::Expected<ParsedConfig> mstream::parseModelConfigFile(StringRef path) {
  llvm::ErrorOr<std::unique_ptr<llvm::MemoryBuffer>> file =
      llvm::MemoryBuffer::getFile(path, /*IsText=*/true);
  if (!file)
    return llvm::createStringError(
        file.getError(), path + ": error: cannot read '" + path +
                             "': " + file.getError().message() + "\n");
  return parseModelConfig((*file)->getBuffer(), path);
}
