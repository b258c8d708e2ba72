//===- Safetensors.cpp - safetensors reading and writing ------------------===//

#include "mstream/Runtime/Safetensors.h"

#include "mstream/Runtime/Files.h"
#include "mstream/Runtime/Json.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

#include <algorithm>
#include <cmath>
#include <cstring>

namespace mstream::rt {

namespace {

uint64_t readLittle64(const char *bytes) {
  uint64_t value = 0;
  for (int i = 7; i >= 0; --i)
    value = (value << 8) | static_cast<unsigned char>(bytes[i]);
  return value;
}

float halfToFloat(uint16_t h) {
  uint32_t sign = (h >> 15) & 1, exponent = (h >> 10) & 0x1F,
           mantissa = h & 0x3FF;
  float magnitude;
  if (exponent == 0)
    magnitude = std::ldexp(static_cast<float>(mantissa), -24);
  else if (exponent == 31)
    magnitude = mantissa ? NAN : INFINITY;
  else
    magnitude = std::ldexp(static_cast<float>(mantissa | 0x400),
                           static_cast<int>(exponent) - 25);
  return sign ? -magnitude : magnitude;
}

/// Bytes per element of a safetensors dtype we can read, or 0.
size_t elementSize(const std::string &dtype) {
  if (dtype == "F32")
    return 4;
  if (dtype == "F64")
    return 8;
  if (dtype == "F16" || dtype == "BF16")
    return 2;
  return 0;
}

void convert(const std::string &dtype, const char *src, float *dst,
             int64_t count) {
  for (int64_t i = 0; i < count; ++i) {
    if (dtype == "F32") {
      std::memcpy(dst + i, src + 4 * i, 4);
    } else if (dtype == "F64") {
      double value;
      std::memcpy(&value, src + 8 * i, 8);
      dst[i] = static_cast<float>(value);
    } else {
      uint16_t half;
      std::memcpy(&half, src + 2 * i, 2);
      if (dtype == "BF16") {
        uint32_t bits = static_cast<uint32_t>(half) << 16;
        std::memcpy(dst + i, &bits, 4);
      } else {
        dst[i] = halfToFloat(half);
      }
    }
  }
}

} // namespace

absl::StatusOr<NamedTensors> parseSafetensors(absl::string_view bytes,
                                              const std::string &path,
                                              Metadata *metadata) {
  auto fail = [&](absl::string_view message) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": not a valid safetensors file: ", message));
  };
  if (bytes.size() < 8)
    return fail("shorter than its 8-byte header length");
  uint64_t headerSize = readLittle64(bytes.data());
  if (headerSize > bytes.size() - 8)
    return fail(absl::StrFormat("header of %d bytes but the file has %d",
                                headerSize, bytes.size()));
  absl::StatusOr<JsonValue> header =
      parseJson(bytes.substr(8, static_cast<size_t>(headerSize)));
  if (!header.ok())
    return fail(header.status().message());
  if (header->kind != JsonValue::Kind::Object)
    return fail("the header is not a JSON object");
  absl::string_view data = bytes.substr(8 + static_cast<size_t>(headerSize));

  NamedTensors tensors;
  struct Range {
    int64_t begin, end;
    std::string name;
  };
  std::vector<Range> ranges;
  for (const auto &[name, entry] : header->object) {
    if (name == "__metadata__") {
      if (entry.kind != JsonValue::Kind::Object)
        return fail("__metadata__ must be an object of strings");
      for (const auto &[key, value] : entry.object) {
        if (value.kind != JsonValue::Kind::String)
          return fail(
              absl::StrCat("__metadata__ '", key, "' must be a string"));
        if (metadata)
          (*metadata)[key] = value.string;
      }
      continue;
    }
    auto bad = [&, &name = name](absl::string_view what) {
      return fail(absl::StrCat("tensor '", name, "': ", what));
    };
    const JsonValue *dtype = entry.find("dtype");
    const JsonValue *shape = entry.find("shape");
    const JsonValue *offsets = entry.find("data_offsets");
    if (!dtype || dtype->kind != JsonValue::Kind::String || !shape ||
        shape->kind != JsonValue::Kind::Array || !offsets ||
        offsets->kind != JsonValue::Kind::Array || offsets->array.size() != 2)
      return bad("needs dtype, shape and data_offsets");
    size_t size = elementSize(dtype->string);
    if (!size)
      return bad(absl::StrCat("dtype ", dtype->string,
                              " is not a floating-point type mstream reads "
                              "(F32, F64, F16, BF16)"));
    // Every size is checked before anything is allocated: the header comes
    // from elsewhere.
    Tensor tensor;
    uint64_t elements = 1;
    for (const JsonValue &dim : shape->array) {
      if (!dim.isInteger || dim.integer < 0)
        return bad("shape entries must be non-negative integers");
      if (__builtin_mul_overflow(elements, static_cast<uint64_t>(dim.integer),
                                 &elements) ||
          elements > data.size())
        return bad(absl::StrFormat("shape %s holds more elements than the "
                                   "%d data bytes",
                                   formatShape(tensor.shape), data.size()));
      tensor.shape.push_back(dim.integer);
    }
    const JsonValue &first = offsets->array[0], &last = offsets->array[1];
    if (!first.isInteger || !last.isInteger)
      return bad("data_offsets must be two integers");
    int64_t begin = first.integer, end = last.integer;
    uint64_t expected = elements * size;
    if (begin < 0 || end < begin || static_cast<uint64_t>(end) > data.size() ||
        static_cast<uint64_t>(end - begin) != expected)
      return bad(absl::StrFormat(
          "data_offsets [%d, %d) do not hold %d bytes of %s %s within "
          "the %d data bytes (truncated file?)",
          begin, end, expected, dtype->string, formatShape(tensor.shape),
          data.size()));
    ranges.push_back({begin, end, name});
    tensor.dtype = DType::F32;
    tensor.host().resize(tensor.numElements());
    convert(dtype->string, data.data() + static_cast<size_t>(begin),
            tensor.f32(), tensor.numElements());
    tensors.emplace_back(name, std::move(tensor));
  }
  // The format's data is the tensors back to back: no byte unclaimed, none
  // claimed twice (an overlap would alias two tensors' bytes).
  std::sort(ranges.begin(), ranges.end(),
            [](const Range &a, const Range &b) { return a.begin < b.begin; });
  int64_t covered = 0;
  for (const Range &range : ranges) {
    if (range.begin != covered)
      return fail(absl::StrFormat(
          "tensor '%s' starts at data byte %d, but the tensors before it end "
          "at %d: data must be contiguous, without gaps or overlaps",
          range.name, range.begin, covered));
    covered = range.end;
  }
  if (static_cast<uint64_t>(covered) != data.size())
    return fail(absl::StrFormat("the tensors end at data byte %d of %d: "
                                "data must hold the tensors and nothing else",
                                covered, data.size()));
  return tensors;
}

absl::StatusOr<NamedTensors> readSafetensors(const std::string &path,
                                             Metadata *metadata) {
  absl::StatusOr<std::string> bytes = readFile(path);
  if (!bytes.ok())
    return bytes.status();
  return parseSafetensors(*bytes, path, metadata);
}

std::string serializeSafetensors(const NamedTensors &tensors,
                                 const Metadata &metadata) {
  std::string header = "{";
  if (!metadata.empty()) {
    header += "\"__metadata__\":{";
    bool first = true;
    for (const auto &[key, value] : metadata) {
      absl::StrAppend(&header, first ? "" : ",", quoteJson(key), ":",
                      quoteJson(value));
      first = false;
    }
    header += "}";
  }
  uint64_t offset = 0;
  for (const auto &[name, tensor] : tensors) {
    uint64_t size = static_cast<uint64_t>(tensor.numElements()) * 4;
    std::string shape;
    for (size_t i = 0; i < tensor.shape.size(); ++i)
      absl::StrAppend(&shape, i ? "," : "", tensor.shape[i]);
    absl::StrAppend(&header, header.size() > 1 ? "," : "", quoteJson(name),
                    ":{\"dtype\":\"F32\",\"shape\":[", shape,
                    "],\"data_offsets\":[", offset, ",", offset + size, "]}");
    offset += size;
  }
  header += "}";
  // Pad with spaces so the data starts 8-byte aligned, as the format allows.
  header.append((8 - header.size() % 8) % 8, ' ');
  std::string out(8, '\0');
  uint64_t headerSize = header.size();
  for (int i = 0; i < 8; ++i)
    out[i] = static_cast<char>((headerSize >> (8 * i)) & 0xFF);
  out += header;
  for (const auto &[name, tensor] : tensors)
    out.append(reinterpret_cast<const char *>(tensor.host().data()),
               tensor.host().size() * 4);
  return out;
}

absl::Status writeSafetensors(const std::string &path,
                              const NamedTensors &tensors,
                              const Metadata &metadata) {
  return writeFileAtomically(path, serializeSafetensors(tensors, metadata));
}

} // namespace mstream::rt
