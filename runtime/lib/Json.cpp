//===- Json.cpp - the runtime's JSON reader, on nlohmann/json -------------===//
//
// Files from elsewhere (safetensors headers, run metadata) are read by
// nlohmann/json's SAX parser, which follows RFC 8259 strictly: no hex or
// leading-zero numbers, no unknown escapes, no raw control characters in
// strings, valid UTF-8 and surrogate pairs only. On top of it this builder
// refuses duplicate keys (which RFC 8259 leaves open and a hostile header
// would use to show two readers two different tensors) and nesting deeper
// than any real header, and keeps integers apart from other numbers.
//
//===----------------------------------------------------------------------===//

#include "mstream/Runtime/Json.h"

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

#include <limits>
#include <nlohmann/json.hpp>

namespace mstream::rt {

const JsonValue *JsonValue::find(absl::string_view key) const {
  for (const auto &[name, value] : object)
    if (name == key)
      return &value;
  return nullptr;
}

namespace {

using Json = nlohmann::json;

/// Builds a JsonValue from the parser's events; the first error stops it.
class Builder : public nlohmann::json_sax<Json> {
public:
  bool null() override { return add(JsonValue()); }
  bool boolean(bool value) override {
    JsonValue v;
    v.kind = JsonValue::Kind::Bool;
    v.boolean = value;
    return add(std::move(v));
  }
  bool number_integer(number_integer_t value) override {
    return add(integer(value));
  }
  bool number_unsigned(number_unsigned_t value) override {
    if (value > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
      JsonValue v;
      v.kind = JsonValue::Kind::Number;
      v.number = static_cast<double>(value);
      return add(std::move(v));
    }
    return add(integer(static_cast<int64_t>(value)));
  }
  bool number_float(number_float_t value, const string_t &) override {
    JsonValue v;
    v.kind = JsonValue::Kind::Number;
    v.number = value;
    return add(std::move(v));
  }
  bool string(string_t &value) override {
    JsonValue v;
    v.kind = JsonValue::Kind::String;
    v.string = std::move(value);
    return add(std::move(v));
  }
  bool binary(binary_t &) override {
    return fail("binary values are not JSON");
  }
  bool start_object(std::size_t) override {
    JsonValue v;
    v.kind = JsonValue::Kind::Object;
    return open(std::move(v));
  }
  bool key(string_t &name) override {
    if (!keys_.back().insert(name).second)
      return fail(absl::StrFormat("duplicate key \"%s\"", name));
    key_ = std::move(name);
    return true;
  }
  bool end_object() override { return close(); }
  bool start_array(std::size_t) override {
    JsonValue v;
    v.kind = JsonValue::Kind::Array;
    return open(std::move(v));
  }
  bool end_array() override { return close(); }
  bool parse_error(std::size_t position, const std::string &,
                   const nlohmann::detail::exception &error) override {
    // "[json.exception.parse_error.101] parse error at line 1, column 5:
    // syntax error while parsing value - invalid literal; ..." without the
    // location, which the byte offset replaces.
    std::string message = error.what();
    size_t colon = message.find(": ");
    error_ = absl::StrFormat(
        "invalid JSON at byte %d: %s", position == 0 ? 0 : position - 1,
        colon == std::string::npos ? message : message.substr(colon + 2));
    return false;
  }

  /// The document, or the first error.
  absl::StatusOr<JsonValue> result(bool parsed) {
    if (!error_.empty())
      return absl::InvalidArgumentError(error_);
    if (!parsed || !done_)
      return absl::InvalidArgumentError("invalid JSON: incomplete document");
    return std::move(root_);
  }

private:
  // Deep enough for any real header or metadata; bounds the stack of open
  // containers on hostile input.
  static constexpr size_t kMaxDepth = 64;

  static JsonValue integer(int64_t value) {
    JsonValue v;
    v.kind = JsonValue::Kind::Number;
    v.number = static_cast<double>(value);
    v.isInteger = true;
    v.integer = value;
    return v;
  }

  bool fail(const std::string &message) {
    error_ = absl::StrCat("invalid JSON: ", message);
    return false;
  }

  /// Places `value` in the open container, or makes it the document.
  JsonValue *place(JsonValue value) {
    if (open_.empty()) {
      root_ = std::move(value);
      done_ = true;
      return &root_;
    }
    JsonValue &parent = *open_.back();
    if (parent.kind == JsonValue::Kind::Array) {
      parent.array.push_back(std::move(value));
      return &parent.array.back();
    }
    parent.object.emplace_back(std::move(key_), std::move(value));
    return &parent.object.back().second;
  }
  bool add(JsonValue value) {
    place(std::move(value));
    return true;
  }
  bool open(JsonValue value) {
    if (open_.size() >= kMaxDepth)
      return fail(absl::StrFormat("nested deeper than %d levels", kMaxDepth));
    open_.push_back(place(std::move(value)));
    done_ = false;
    keys_.emplace_back();
    return true;
  }
  bool close() {
    open_.pop_back();
    keys_.pop_back();
    done_ = open_.empty();
    return true;
  }

  JsonValue root_;
  /// The containers being filled, outermost first. A container's parent
  /// gets no other element while it is open, so the pointers stay valid.
  std::vector<JsonValue *> open_;
  std::vector<absl::flat_hash_set<std::string>> keys_;
  std::string key_, error_;
  bool done_ = false;
};

} // namespace

absl::StatusOr<JsonValue> parseJson(absl::string_view text) {
  Builder builder;
  bool parsed = Json::sax_parse(text.begin(), text.end(), &builder,
                                Json::input_format_t::json, /*strict=*/true,
                                /*ignore_comments=*/false);
  return builder.result(parsed);
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
