//===- Npy.cpp - NumPy .npy reading and writing ---------------------------===//

#include "mstream/Runtime/Npy.h"

#include "mstream/Runtime/Files.h"

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

#include <cstring>
#include <limits>

namespace mstream::rt {

namespace {

/// The header dict NumPy writes, `{'descr': '<f4', 'fortran_order':
/// False, 'shape': (2, 3), }` and padding, parsed by its grammar: exactly
/// those three keys, once each, a quoted descr, True or False, and a tuple
/// of non-negative integers.
struct Header {
  std::string descr;
  bool fortranOrder = false;
  std::vector<int64_t> shape;
};

class HeaderParser {
public:
  explicit HeaderParser(absl::string_view text) : text_(text) {}

  absl::StatusOr<Header> parse() {
    // Padding: spaces, then one newline, after the closing brace.
    absl::string_view body = absl::StripTrailingAsciiWhitespace(text_);
    text_ = body;
    Header header;
    bool seen[3] = {false, false, false};
    if (!take('{'))
      return error("expected '{'");
    while (!take('}')) {
      std::string key;
      if (!quoted(key) || !take(':'))
        return error("expected 'key':");
      if (key == "descr") {
        if (seen[0] || !quoted(header.descr))
          return error("descr must be one quoted string");
        seen[0] = true;
      } else if (key == "fortran_order") {
        if (seen[1])
          return error("fortran_order given twice");
        if (word("True"))
          header.fortranOrder = true;
        else if (!word("False"))
          return error("fortran_order must be True or False");
        seen[1] = true;
      } else if (key == "shape") {
        if (seen[2] || !tuple(header.shape))
          return error("shape must be one tuple of non-negative integers");
        seen[2] = true;
      } else {
        return error(absl::StrCat("unknown key '", key, "'"));
      }
      if (!take(',')) {
        if (!take('}'))
          return error("expected ',' or '}'");
        break;
      }
    }
    if (pos_ != text_.size())
      return error("characters after the closing '}'");
    if (!seen[0] || !seen[1] || !seen[2])
      return error("needs descr, fortran_order and shape");
    return header;
  }

private:
  absl::Status error(absl::string_view message) const {
    return absl::InvalidArgumentError(
        absl::StrFormat("header %s at byte %d: %s", quote(), pos_, message));
  }
  std::string quote() const {
    return absl::StrCat("\"", absl::CEscape(text_.substr(0, 80)), "\"");
  }
  void space() {
    while (pos_ < text_.size() && text_[pos_] == ' ')
      ++pos_;
  }
  bool take(char c) {
    space();
    if (pos_ >= text_.size() || text_[pos_] != c)
      return false;
    ++pos_;
    return true;
  }
  bool word(absl::string_view w) {
    space();
    if (text_.substr(pos_, w.size()) != w)
      return false;
    pos_ += w.size();
    return true;
  }
  bool quoted(std::string &out) {
    if (!take('\''))
      return false;
    size_t end = text_.find('\'', pos_);
    if (end == absl::string_view::npos)
      return false;
    out = std::string(text_.substr(pos_, end - pos_));
    pos_ = end + 1;
    return true;
  }
  bool tuple(std::vector<int64_t> &shape) {
    if (!take('('))
      return false;
    while (!take(')')) {
      space();
      size_t begin = pos_;
      while (pos_ < text_.size() && absl::ascii_isdigit(text_[pos_]))
        ++pos_;
      int64_t size;
      if (pos_ == begin ||
          !absl::SimpleAtoi(text_.substr(begin, pos_ - begin), &size))
        return false;
      shape.push_back(size);
      // (n,) for one dimension; (a, b) or (a, b,) for more.
      if (!take(','))
        return take(')') && shape.size() > 1;
    }
    return true;
  }

  absl::string_view text_;
  size_t pos_ = 0;
};

} // namespace

absl::StatusOr<Tensor> parseNpy(absl::string_view bytes,
                                const std::string &path) {
  auto fail = [&](absl::string_view message) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": not a valid .npy array: ", message));
  };
  if (bytes.size() < 10 || bytes.substr(0, 6) != "\x93NUMPY")
    return fail("missing the \\x93NUMPY magic");
  int major = static_cast<unsigned char>(bytes[6]);
  size_t lengthBytes = major == 1 ? 2 : 4;
  if (major < 1 || major > 3 || bytes.size() < 8 + lengthBytes)
    return fail(absl::StrFormat("unsupported format version %d", major));
  size_t headerSize = 0;
  for (size_t i = 0; i < lengthBytes; ++i)
    headerSize |= static_cast<size_t>(static_cast<unsigned char>(bytes[8 + i]))
                  << (8 * i);
  size_t dataStart = 8 + lengthBytes + headerSize;
  if (dataStart > bytes.size())
    return fail("truncated header");
  absl::string_view header = bytes.substr(8 + lengthBytes, headerSize);

  absl::StatusOr<Header> parsed = HeaderParser(header).parse();
  if (!parsed.ok())
    return fail(parsed.status().message());
  if (parsed->fortranOrder)
    return fail("Fortran-ordered arrays are not supported; save with "
                "np.ascontiguousarray");
  absl::string_view descr = parsed->descr;

  Tensor tensor;
  tensor.shape = parsed->shape;
  // The element count, checked before anything is allocated.
  uint64_t count = 1;
  for (int64_t size : tensor.shape)
    if (__builtin_mul_overflow(count, static_cast<uint64_t>(size), &count) ||
        count > bytes.size())
      return fail(absl::StrCat("shape ", formatShape(tensor.shape),
                               " holds more elements than the file's ",
                               bytes.size(), " bytes"));
  size_t itemSize;
  bool isFloat;
  if (descr == "<i4" || descr == "<i8") {
    itemSize = descr == "<i4" ? 4 : 8;
    isFloat = false;
  } else if (descr == "<f4" || descr == "<f8") {
    itemSize = descr == "<f4" ? 4 : 8;
    isFloat = true;
  } else {
    return fail(absl::StrCat("dtype '", descr,
                             "' is not one of int32, int64, float32, float64 "
                             "(little-endian)"));
  }
  if (bytes.size() - dataStart != count * itemSize)
    return fail(absl::StrFormat(
        "shape %s of %s needs %d data bytes, the file has %d (truncated?)",
        formatShape(tensor.shape), descr, count * itemSize,
        bytes.size() - dataStart));
  const char *data = bytes.data() + dataStart;
  tensor.dtype = isFloat ? DType::F32 : DType::I32;
  tensor.host().resize(count);
  for (int64_t i = 0; i < static_cast<int64_t>(count); ++i) {
    if (itemSize == 4) {
      std::memcpy(&tensor.host()[i], data + 4 * i, 4);
    } else if (isFloat) {
      double value;
      std::memcpy(&value, data + 8 * i, 8);
      tensor.f32()[i] = static_cast<float>(value);
    } else {
      int64_t value;
      std::memcpy(&value, data + 8 * i, 8);
      if (value < std::numeric_limits<int32_t>::min() ||
          value > std::numeric_limits<int32_t>::max())
        return fail(
            absl::StrFormat("element %d = %d does not fit in int32", i, value));
      tensor.i32()[i] = static_cast<int32_t>(value);
    }
  }
  return tensor;
}

absl::StatusOr<Tensor> readNpy(const std::string &path) {
  absl::StatusOr<std::string> bytes = readFile(path);
  if (!bytes.ok())
    return bytes.status();
  return parseNpy(*bytes, path);
}

absl::Status writeNpy(const std::string &path, const Tensor &tensor) {
  std::string shape;
  for (int64_t size : tensor.shape)
    absl::StrAppend(&shape, size, ",");
  if (tensor.shape.size() > 1)
    shape.pop_back();
  std::string header =
      absl::StrCat("{'descr': '", tensor.dtype == DType::F32 ? "<f4" : "<i4",
                   "', 'fortran_order': False, 'shape': (", shape, "), }");
  // Pad so that the data starts 64-byte aligned, ending in a newline.
  size_t total = 10 + header.size() + 1;
  header.append((64 - total % 64) % 64, ' ');
  header.push_back('\n');
  std::string out = "\x93NUMPY";
  out.push_back('\x01');
  out.push_back('\x00');
  out.push_back(static_cast<char>(header.size() & 0xFF));
  out.push_back(static_cast<char>(header.size() >> 8));
  out += header;
  out.append(reinterpret_cast<const char *>(tensor.host().data()),
             tensor.host().size() * 4);
  return writeFileAtomically(path, out);
}

} // namespace mstream::rt
