//===- FormatsTest.cpp - JSON, safetensors and npy ------------------------===//

#include "mstream/Runtime/Files.h"
#include "mstream/Runtime/Json.h"
#include "mstream/Runtime/Npy.h"
#include "mstream/Runtime/Safetensors.h"

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
  EXPECT_EQ(message(R"({"a": })"), "invalid JSON at byte 6: expected a value");
  EXPECT_EQ(message("[1, 2"),
            "invalid JSON at byte 5: expected ',' or ']' in an array");
  EXPECT_EQ(message("[1, "), "invalid JSON at byte 4: unexpected end of input");
  EXPECT_EQ(message("{} x"),
            "invalid JSON at byte 3: trailing characters after the JSON value");
  std::string deep(100, '[');
  EXPECT_NE(parseJson(deep).status().message().find("nested too deeply"),
            absl::string_view::npos);
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
