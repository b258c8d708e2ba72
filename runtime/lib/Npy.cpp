//===- Npy.cpp - NumPy .npy reading and writing ---------------------------===//

#include "mstream/Runtime/Npy.h"

#include "mstream/Runtime/Files.h"

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

#include <cstring>
#include <limits>

namespace mstream::rt {

namespace {

/// The value of `'key': value` in the header dict, up to the next ", '" or
/// the closing brace; tuples are returned with their parentheses.
absl::string_view dictValue(absl::string_view header, absl::string_view key) {
  std::string quoted = absl::StrCat("'", key, "':");
  size_t at = header.find(quoted);
  if (at == absl::string_view::npos)
    return {};
  absl::string_view rest =
      absl::StripLeadingAsciiWhitespace(header.substr(at + quoted.size()));
  size_t end =
      rest.front() == '(' ? rest.find(')') + 1 : rest.find_first_of(",}");
  return rest.substr(0, end);
}

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

  absl::string_view descr = dictValue(header, "descr");
  absl::string_view order = dictValue(header, "fortran_order");
  absl::string_view shapeText = dictValue(header, "shape");
  if (descr.empty() || order.empty() || shapeText.size() < 2)
    return fail(
        absl::StrCat("header lacks descr, fortran_order or shape: ", header));
  if (order != "False")
    return fail("Fortran-ordered arrays are not supported; save with "
                "np.ascontiguousarray");
  descr = absl::StripPrefix(absl::StripSuffix(descr, "'"), "'");

  Tensor tensor;
  for (absl::string_view dim :
       absl::StrSplit(shapeText.substr(1, shapeText.size() - 2), ',',
                      absl::SkipWhitespace())) {
    int64_t size;
    if (!absl::SimpleAtoi(dim, &size) || size < 0)
      return fail(absl::StrCat("bad shape ", shapeText));
    tensor.shape.push_back(size);
  }
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
  int64_t count = tensor.numElements();
  if (bytes.size() - dataStart != static_cast<size_t>(count) * itemSize)
    return fail(absl::StrFormat(
        "shape %s of %s needs %d data bytes, the file has %d (truncated?)",
        formatShape(tensor.shape), descr, count * itemSize,
        bytes.size() - dataStart));
  const char *data = bytes.data() + dataStart;
  tensor.dtype = isFloat ? DType::F32 : DType::I32;
  tensor.host().resize(count);
  for (int64_t i = 0; i < count; ++i) {
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
