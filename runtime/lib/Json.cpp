//===- Json.cpp - a small JSON reader for the runtime ---------------------===//

#include "mstream/Runtime/Json.h"

#include "absl/strings/str_format.h"

#include <cstdlib>

namespace mstream::rt {

const JsonValue *JsonValue::find(absl::string_view key) const {
  for (const auto &[name, value] : object)
    if (name == key)
      return &value;
  return nullptr;
}

namespace {

class Parser {
public:
  explicit Parser(absl::string_view text) : text(text) {}

  absl::StatusOr<JsonValue> parseDocument() {
    absl::StatusOr<JsonValue> value = parseValue(0);
    if (!value.ok())
      return value;
    skipSpace();
    if (pos != text.size())
      return error("trailing characters after the JSON value");
    return value;
  }

private:
  // Deep enough for any real header; bounds recursion on hostile input.
  static constexpr int kMaxDepth = 64;

  absl::Status error(absl::string_view message) const {
    return absl::InvalidArgumentError(
        absl::StrFormat("invalid JSON at byte %d: %s", pos, message));
  }
  void skipSpace() {
    while (pos < text.size() && (text[pos] == ' ' || text[pos] == '\n' ||
                                 text[pos] == '\r' || text[pos] == '\t'))
      ++pos;
  }
  bool consume(absl::string_view word) {
    if (text.substr(pos, word.size()) != word)
      return false;
    pos += word.size();
    return true;
  }

  absl::StatusOr<std::string> parseString() {
    if (pos >= text.size() || text[pos] != '"')
      return error("expected a string");
    ++pos;
    std::string out;
    while (pos < text.size() && text[pos] != '"') {
      char c = text[pos++];
      if (c != '\\') {
        out.push_back(c);
        continue;
      }
      if (pos >= text.size())
        break;
      char escaped = text[pos++];
      switch (escaped) {
      case 'n':
        out.push_back('\n');
        break;
      case 't':
        out.push_back('\t');
        break;
      case 'r':
        out.push_back('\r');
        break;
      case 'b':
        out.push_back('\b');
        break;
      case 'f':
        out.push_back('\f');
        break;
      case 'u': {
        if (pos + 4 > text.size())
          return error("truncated \\u escape");
        unsigned code =
            std::strtoul(std::string(text.substr(pos, 4)).c_str(), nullptr, 16);
        pos += 4;
        // Names here are ASCII; other code points are kept as UTF-8.
        if (code < 0x80) {
          out.push_back(static_cast<char>(code));
        } else if (code < 0x800) {
          out.push_back(static_cast<char>(0xC0 | (code >> 6)));
          out.push_back(static_cast<char>(0x80 | (code & 0x3F)));
        } else {
          out.push_back(static_cast<char>(0xE0 | (code >> 12)));
          out.push_back(static_cast<char>(0x80 | ((code >> 6) & 0x3F)));
          out.push_back(static_cast<char>(0x80 | (code & 0x3F)));
        }
        break;
      }
      default:
        out.push_back(escaped);
      }
    }
    if (pos >= text.size())
      return error("unterminated string");
    ++pos;
    return out;
  }

  absl::StatusOr<JsonValue> parseValue(int depth) {
    if (depth > kMaxDepth)
      return error("nested too deeply");
    skipSpace();
    if (pos >= text.size())
      return error("unexpected end of input");
    JsonValue value;
    char c = text[pos];
    if (c == '{') {
      ++pos;
      value.kind = JsonValue::Kind::Object;
      skipSpace();
      if (consume("}"))
        return value;
      while (true) {
        skipSpace();
        absl::StatusOr<std::string> key = parseString();
        if (!key.ok())
          return key.status();
        skipSpace();
        if (!consume(":"))
          return error("expected ':' after an object key");
        absl::StatusOr<JsonValue> member = parseValue(depth + 1);
        if (!member.ok())
          return member;
        value.object.emplace_back(std::move(*key), std::move(*member));
        skipSpace();
        if (consume("}"))
          return value;
        if (!consume(","))
          return error("expected ',' or '}' in an object");
      }
    }
    if (c == '[') {
      ++pos;
      value.kind = JsonValue::Kind::Array;
      skipSpace();
      if (consume("]"))
        return value;
      while (true) {
        absl::StatusOr<JsonValue> element = parseValue(depth + 1);
        if (!element.ok())
          return element;
        value.array.push_back(std::move(*element));
        skipSpace();
        if (consume("]"))
          return value;
        if (!consume(","))
          return error("expected ',' or ']' in an array");
      }
    }
    if (c == '"') {
      absl::StatusOr<std::string> text = parseString();
      if (!text.ok())
        return text.status();
      value.kind = JsonValue::Kind::String;
      value.string = std::move(*text);
      return value;
    }
    if (consume("true") || consume("false")) {
      value.kind = JsonValue::Kind::Bool;
      value.boolean = text[pos - 1] == 'e' && text[pos - 2] == 'u';
      return value;
    }
    if (consume("null"))
      return value;
    char *end = nullptr;
    std::string number(text.substr(pos, 32));
    value.number = std::strtod(number.c_str(), &end);
    if (end == number.c_str())
      return error("expected a value");
    pos += end - number.c_str();
    value.kind = JsonValue::Kind::Number;
    return value;
  }

  absl::string_view text;
  size_t pos = 0;
};

} // namespace

absl::StatusOr<JsonValue> parseJson(absl::string_view text) {
  return Parser(text).parseDocument();
}

std::string quoteJson(absl::string_view text) {
  std::string out = "\"";
  for (char c : text) {
    if (c == '"' || c == '\\') {
      out.push_back('\\');
      out.push_back(c);
    } else if (static_cast<unsigned char>(c) < 0x20) {
      out += absl::StrFormat("\\u%04x", c);
    } else {
      out.push_back(c);
    }
  }
  return out + "\"";
}

} // namespace mstream::rt
