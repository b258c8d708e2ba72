//===- FormatsTest.cpp - JSON, safetensors and npy ------------------------===//

#include "mstream/Runtime/Files.h"
#include "mstream/Runtime/Json.h"
#include "mstream/Runtime/Npy.h"
#include "mstream/Runtime/Safetensors.h"

#include <cstring>
#include <gtest/gtest.h>

#include <cstdio>
#include <unistd.h>

using namespace mstream::rt;

namespace {

std::string tempPath(const std::string &name) {
  return ::testing::TempDir() + "/" + name;
}

TEST(JsonTest, ParsesNestedValues) {
  absl::StatusOr<JsonValue> value = parseJson(
      R"({"a": [1, 2.5, -3e2], "b": {"c": "x\"y\u0041"}, "t": true, "n": null})");
  ASSERT_TRUE(value.ok()) << value.status();
  const JsonValue *a = value->find("a");
  ASSERT_NE(a, nullptr);
  ASSERT_EQ(a->array.size(), 3u);
  EXPECT_EQ(a->array[1].number, 2.5);
  EXPECT_EQ(a->array[2].number, -300);
  EXPECT_EQ(value->find("b")->find("c")->string, "x\"yA");
  EXPECT_TRUE(value->find("t")->boolean);
  EXPECT_EQ(value->find("n")->kind, JsonValue::Kind::Null);
  EXPECT_EQ(value->find("missing"), nullptr);
}

TEST(JsonTest, ErrorsNameTheByte) {
  auto message = [](absl::string_view text) {
    return std::string(parseJson(text).status().message());
  };
  EXPECT_EQ(message(R"({"a": })"),
            "invalid JSON at byte 6: syntax error while parsing value - "
            "unexpected '}'; expected '[', '{', or a literal");
  EXPECT_EQ(message("[1, 2"), "invalid JSON at byte 5: syntax error while "
                              "parsing array - unexpected end of input; "
                              "expected ']'");
  EXPECT_EQ(message("{} x").substr(0, 60),
            "invalid JSON at byte 3: syntax error while parsing value - i");
  EXPECT_EQ(message(R"({"a": 1, "a": 2})"),
            "invalid JSON: duplicate key \"a\"");
  std::string deep(100, '[');
  EXPECT_EQ(message(deep), "invalid JSON: nested deeper than 64 levels");
}

// RFC 8259's must-reject cases a lenient reader takes (a safetensors header
// with any of them was accepted before, 2026-12-07).
TEST(JsonTest, RejectsWhatRfc8259Rejects) {
  for (const char *text :
       {"[0x10]",        "[01]",       "[1.]",      "[.5]",       "[+1]",
        "[NaN]",         "[Infinity]", R"(["\q"])", "[\"a\nb\"]", "[\"\t\"]",
        R"(["\ud800"])", "[\"\xff\"]", "[1,]",      "{\"a\":1,}", "['a']",
        "[1] // c",      "[1 2]",      "{\"a\" 1}", "",           " "})
    EXPECT_FALSE(parseJson(text).ok()) << text;
}

TEST(JsonTest, KeepsIntegersExact) {
  absl::StatusOr<JsonValue> value =
      parseJson("[9007199254740993, 2.0, 1e3, -4, 18446744073709551615]");
  ASSERT_TRUE(value.ok()) << value.status();
  const std::vector<JsonValue> &a = value->array;
  EXPECT_TRUE(a[0].isInteger);
  EXPECT_EQ(a[0].integer, 9007199254740993);
  EXPECT_FALSE(a[1].isInteger); // written with a fraction
  EXPECT_FALSE(a[2].isInteger); // written with an exponent
  EXPECT_TRUE(a[3].isInteger);
  EXPECT_EQ(a[3].integer, -4);
  EXPECT_FALSE(a[4].isInteger); // beyond int64
}

TEST(JsonTest, QuotesStrings) {
  EXPECT_EQ(quoteJson("a\"b\\c\n"), "\"a\\\"b\\\\c\\u000a\"");
  absl::StatusOr<JsonValue> back = parseJson(quoteJson("a\"b\\c\n"));
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->string, "a\"b\\c\n");
}

TEST(SafetensorsTest, RoundTrip) {
  Tensor matrix = Tensor::zeros(DType::F32, {2, 3});
  for (int i = 0; i < 6; ++i)
    matrix.f32()[i] = 0.5f * i - 1;
  Tensor scalar = Tensor::zeros(DType::F32, {});
  scalar.f32()[0] = -5;
  NamedTensors tensors = {{"layers.0.w", matrix}, {"lambda", scalar}};
  std::string path = tempPath("roundtrip.safetensors");
  ASSERT_TRUE(writeSafetensors(path, tensors).ok());
  absl::StatusOr<NamedTensors> back = readSafetensors(path);
  ASSERT_TRUE(back.ok()) << back.status();
  ASSERT_EQ(back->size(), 2u);
  EXPECT_EQ((*back)[0].first, "layers.0.w");
  EXPECT_EQ((*back)[0].second.shape, (std::vector<int64_t>{2, 3}));
  EXPECT_EQ((*back)[0].second.f32()[5], 1.5f);
  EXPECT_EQ((*back)[1].second.shape, std::vector<int64_t>{});
  EXPECT_EQ((*back)[1].second.f32()[0], -5.0f);
}

TEST(SafetensorsTest, RejectsMalformedFiles) {
  EXPECT_NE(parseSafetensors("abc", "f")
                .status()
                .message()
                .find("shorter than its 8-byte header length"),
            absl::string_view::npos);
  std::string bytes =
      serializeSafetensors({{"w", Tensor::zeros(DType::F32, {4})}});
  absl::Status truncated =
      parseSafetensors(bytes.substr(0, bytes.size() - 4), "f").status();
  EXPECT_NE(truncated.message().find("truncated file?"),
            absl::string_view::npos)
      << truncated;
}

/// A safetensors file of `header` and `dataBytes` zero bytes.
std::string withHeader(const std::string &header, size_t dataBytes) {
  std::string bytes(8, '\0');
  uint64_t size = header.size();
  std::memcpy(bytes.data(), &size, 8);
  return bytes + header + std::string(dataBytes, '\0');
}

// Each header field validated: integers where integers belong, sizes
// checked before anything is allocated, data contiguous, names unique.
TEST(SafetensorsTest, ValidatesTheHeaderFieldByField) {
  struct Case {
    const char *header;
    size_t data;
    const char *expected;
  } cases[] = {
      {R"({"w": {"dtype": "F32", "shape": [1.5], "data_offsets": [0, 4]}})", 4,
       "tensor 'w': shape entries must be non-negative integers"},
      {R"({"w": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4.0]}})", 4,
       "tensor 'w': data_offsets must be two integers"},
      {R"({"w": {"dtype": "F32", "shape": [4294967296, 4294967296, 16], "data_offsets": [0, 4]}})",
       4, "holds more elements than the 4 data bytes"},
      {R"({"w": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}, "w": {"dtype": "F32", "shape": [1], "data_offsets": [4, 8]}})",
       8, "duplicate key \"w\""},
      {R"({"a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}, "b": {"dtype": "F32", "shape": [1], "data_offsets": [8, 12]}})",
       12,
       "tensor 'b' starts at data byte 8, but the tensors before it end at 4"},
      {R"({"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}, "b": {"dtype": "F32", "shape": [1], "data_offsets": [4, 8]}})",
       8, "starts at data byte 4, but the tensors before it end at 8"},
      {R"({"a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}})", 8,
       "the tensors end at data byte 4 of 8"},
      {R"({"a": {"dtype": "F32", "shape": [1], "data_offsets": [0x0, 4]}})", 4,
       "invalid JSON at byte"},
  };
  for (const Case &c : cases) {
    absl::Status status =
        parseSafetensors(withHeader(c.header, c.data), "f").status();
    EXPECT_NE(status.message().find(c.expected), absl::string_view::npos)
        << c.header << "\n"
        << status;
  }
}

TEST(NpyTest, RoundTripAndInt64Tokens) {
  Tensor logits = Tensor::zeros(DType::F32, {2, 2, 3});
  logits.f32()[11] = 7.25f;
  std::string path = tempPath("logits.npy");
  ASSERT_TRUE(writeNpy(path, logits).ok());
  absl::StatusOr<Tensor> back = readNpy(path);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->dtype, DType::F32);
  EXPECT_EQ(back->shape, (std::vector<int64_t>{2, 2, 3}));
  EXPECT_EQ(back->f32()[11], 7.25f);

  // A hand-built int64 array of shape (3,): header as NumPy writes it.
  std::string header =
      "{'descr': '<i8', 'fortran_order': False, 'shape': (3,), }";
  header.append(118 - header.size(), ' ');
  header += "\n";
  std::string bytes = std::string("\x93NUMPY\x01\x00", 8);
  bytes += static_cast<char>(header.size());
  bytes += '\0';
  bytes += header;
  for (int64_t v : {int64_t{5}, int64_t{0}, int64_t{255}})
    bytes.append(reinterpret_cast<const char *>(&v), 8);
  absl::StatusOr<Tensor> tokens = parseNpy(bytes, "x.npy");
  ASSERT_TRUE(tokens.ok()) << tokens.status();
  EXPECT_EQ(tokens->dtype, DType::I32);
  EXPECT_EQ(tokens->i32()[2], 255);
}

/// A version-1 .npy file of `header` (padded as NumPy pads it) and `data`.
std::string npyWith(std::string header, const std::string &data) {
  header.append(118 - header.size() % 128, ' ');
  header += "\n";
  std::string bytes = std::string("\x93NUMPY\x01\x00", 8);
  bytes += static_cast<char>(header.size() & 0xff);
  bytes += static_cast<char>(header.size() >> 8);
  return bytes + header + data;
}

// The header dict by its grammar: what NumPy writes parses (a scalar's
// empty tuple, a trailing comma), anything else names what is wrong.
TEST(NpyTest, ParsesTheHeaderByItsGrammar) {
  std::string four(16, '\0');
  EXPECT_TRUE(parseNpy(npyWith("{'descr': '<f4', 'fortran_order': False, "
                               "'shape': (4,), }",
                               four),
                       "x.npy")
                  .ok());
  absl::StatusOr<Tensor> scalar = parseNpy(
      npyWith("{'descr': '<f4', 'fortran_order': False, 'shape': (), }",
              std::string(4, '\0')),
      "x.npy");
  ASSERT_TRUE(scalar.ok()) << scalar.status();
  EXPECT_TRUE(scalar->shape.empty());
  EXPECT_TRUE(parseNpy(npyWith("{'descr': '<f4', 'fortran_order': False, "
                               "'shape': (2, 2)}",
                               four),
                       "x.npy")
                  .ok());
  struct Case {
    const char *header;
    const char *expected;
  } cases[] = {
      {"{'descr': '<f4', 'fortran_order': False, 'shape': (4,), ",
       "expected 'key':"},
      {"{'descr': '<f4', 'fortran_order': False, 'shape': (4,), 'x': 1}",
       "unknown key 'x'"},
      {"{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, "
       "'shape': (4,)}",
       "descr must be one quoted string"},
      {"{'descr': '<f4', 'fortran_order': False, 'shape': (2.5,)}",
       "shape must be one tuple of non-negative integers"},
      {"{'descr': '<f4', 'fortran_order': False, 'shape': (4)}",
       "shape must be one tuple of non-negative integers"},
      {"{'descr': '<f4', 'fortran_order': False, 'shape': (-4,)}",
       "shape must be one tuple of non-negative integers"},
      {"{'descr': '<f4', 'fortran_order': 0, 'shape': (4,)}",
       "fortran_order must be True or False"},
      {"{'descr': '<f4', 'shape': (4,)}",
       "needs descr, fortran_order and shape"},
      {"{'descr': '<f4', 'fortran_order': False, 'shape': (4,)} x",
       "characters after the closing '}'"},
      {"{'descr': '<f4', 'fortran_order': False, "
       "'shape': (4294967296, 4294967296, 16)}",
       "holds more elements than the file's"},
  };
  for (const Case &c : cases) {
    absl::Status status = parseNpy(npyWith(c.header, four), "x.npy").status();
    EXPECT_NE(status.message().find(c.expected), absl::string_view::npos)
        << c.header << "\n"
        << status;
  }
}

TEST(FilesTest, AtomicWriteReplacesAndFailsCleanly) {
  std::string path = tempPath("atomic.bin");
  ASSERT_TRUE(writeFileAtomically(path, "first").ok());
  ASSERT_TRUE(writeFileAtomically(path, "second").ok());
  EXPECT_EQ(*readFile(path), "second");
  absl::Status status = writeFileAtomically("/nonexistent-dir/x.bin", "data");
  EXPECT_FALSE(status.ok());
  EXPECT_NE(status.message().find("cannot create"), absl::string_view::npos);
  EXPECT_EQ(*readFile(path), "second");
}

} // namespace
