#include <sys/stat.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>

#include "formats/json.h"
#include "formats/safetensors.h"
#include "layers/module.h"
#include "tensor/file_util.h"
#include "tests/test_util.h"

using namespace anima;

namespace {

std::string sample_file() {
  NamedTensors t = {{"weight", test::tensor({1, -2, 3.5f, 4}, Shape{2, 2})},
                    {"ids", Tensor::from_vector<int64_t>({7, -8}, Shape{2})},
                    {"mask", Tensor::from_vector<uint8_t>({0, 1, 255}, Shape{3})},
                    {"count", Tensor::from_vector<int32_t>({42}, Shape{})}};
  return serialize_safetensors(t, {{"step", "12"}, {"config", "model: {\"x\": 1}\n"}});
}

uint64_t header_length(const std::string& bytes) {
  uint64_t n = 0;
  for (int k = 7; k >= 0; --k) n = (n << 8) | static_cast<unsigned char>(bytes[size_t(k)]);
  return n;
}

std::string with_header(const std::string& json, const std::string& data) {
  std::string out(8, '\0');
  uint64_t n = json.size();
  for (int k = 0; k < 8; ++k) out[size_t(k)] = char((n >> (8 * k)) & 0xFF);
  return out + json + data;
}

}  // namespace

TEST_SUITE("formats") {

TEST_CASE("safetensors round trip: every dtype, metadata, file on disk") {
  std::string path = "/tmp/anima_test_roundtrip.safetensors";
  NamedTensors t = {{"w", test::random_tensor(Shape{3, 4, 5}, 1)},
                    {"ids", Tensor::from_vector<int64_t>({1, 2, 3}, Shape{3})},
                    {"u", Tensor::from_vector<uint8_t>({9}, Shape{1})},
                    {"i", Tensor::from_vector<int32_t>({-5, 6}, Shape{2, 1})},
                    {"empty", Tensor::zeros(Shape{0, 3})}};
  save_safetensors(path, t, {{"epoch", "3"}});
  SafetensorsFile f = load_safetensors(path);
  CHECK(f.metadata.at("epoch") == "3");
  CHECK(test::bit_equal(f.at("w"), t[0].second));
  CHECK(f.at("ids").to_vector<int64_t>() == std::vector<int64_t>{1, 2, 3});
  CHECK(f.at("u").to_vector<uint8_t>() == std::vector<uint8_t>{9});
  CHECK(f.at("i").shape() == Shape{2, 1});
  CHECK(f.at("empty").shape() == Shape{0, 3});
  CHECK(f.stored_dtypes.at("ids") == "I64");
  CHECK_THROWS_WITH_AS(f.at("nope"), doctest::Contains("no tensor named 'nope'"), Error);
  std::remove(path.c_str());
}

TEST_CASE("safetensors metadata without reading the tensors") {
  std::string path = "/tmp/anima_test_meta_" + std::to_string(::getpid()) + ".safetensors";
  save_safetensors(path, {{"w", test::tensor({1, 2, 3}, Shape{3})}}, {{"model", "refined_mask"}, {"step", "7"}});
  auto meta = read_safetensors_metadata(path);
  CHECK(meta == load_safetensors(path).metadata);
  CHECK(meta.at("model") == "refined_mask");
  save_safetensors(path, {{"w", test::tensor({1}, Shape{1})}});
  CHECK(read_safetensors_metadata(path).empty());
  std::string bytes = read_file_bytes(path);
  {
    std::ofstream f(path, std::ios::binary | std::ios::trunc);
    f << bytes.substr(0, 12);  // the header is cut short
  }
  CHECK_THROWS_WITH_AS(read_safetensors_metadata(path), doctest::Contains("runs past the end"), Error);
  {
    std::ofstream f(path, std::ios::binary | std::ios::trunc);
    f << "abc";
  }
  CHECK_THROWS_WITH_AS(read_safetensors_metadata(path), doctest::Contains("not a safetensors file"), Error);
  std::remove(path.c_str());
}

TEST_CASE("safetensors byte layout follows the format") {
  std::string bytes = sample_file();
  uint64_t n = header_length(bytes);
  CHECK(n % 8 == 0);  // header padded with spaces so the data starts 8-aligned
  std::string header = bytes.substr(8, n);
  json::Value h = json::parse(header, "header");
  const json::Value* w = h.find("weight");
  REQUIRE(w != nullptr);
  CHECK(w->find("dtype")->string == "F32");
  CHECK(w->find("shape")->array.size() == 2);
  // Largest element size first: I64 (8 bytes) at offset 0, then F32 and I32, then U8.
  CHECK(h.find("ids")->find("data_offsets")->array[0].integer == 0);
  CHECK(h.find("ids")->find("data_offsets")->array[1].integer == 16);
  CHECK(h.find("mask")->find("data_offsets")->array[1].integer == int64_t(bytes.size() - 8 - n));
  CHECK(h.find("__metadata__")->find("config")->string == "model: {\"x\": 1}\n");
  // Raw little-endian data: the first weight value 1.0f = 0x3F800000.
  int64_t woff = w->find("data_offsets")->array[0].integer;
  float first;
  std::memcpy(&first, bytes.data() + 8 + n + woff, 4);
  CHECK(first == 1.f);
}

TEST_CASE("half and bfloat16 conversions") {
  CHECK(float_to_half(1.f) == 0x3C00);
  CHECK(float_to_half(-2.f) == 0xC000);
  CHECK(float_to_half(65504.f) == 0x7BFF);
  CHECK(float_to_half(1e6f) == 0x7C00);                   // overflow to infinity
  CHECK(float_to_half(5.960464477539063e-8f) == 0x0001);  // smallest subnormal
  CHECK(float_to_half(1e-9f) == 0x0000);
  CHECK(half_to_float(0x3555) == doctest::Approx(0.33325195f));
  CHECK(half_to_float(0x0001) == 5.960464477539063e-8f);
  CHECK(std::isnan(half_to_float(float_to_half(NAN))));
  CHECK(float_to_bfloat16(1.f) == 0x3F80);
  CHECK(bfloat16_to_float(0x4049) == 3.140625f);
  for (float v : {0.1f, -3.3f, 1234.5f, 7e-6f}) {
    CHECK(half_to_float(float_to_half(v)) == doctest::Approx(v).epsilon(1e-3));
    CHECK(bfloat16_to_float(float_to_bfloat16(v)) == doctest::Approx(v).epsilon(8e-3));
  }
  Tensor t = test::random_tensor(Shape{100}, 3);
  for (StoredFloat f : {StoredFloat::F16, StoredFloat::BF16}) {
    SafetensorsFile r = parse_safetensors(serialize_safetensors({{"t", t}}, {}, f), "mem");
    CHECK(r.stored_dtypes.at("t") == (f == StoredFloat::F16 ? "F16" : "BF16"));
    CHECK_CLOSE(r.at("t"), t, 0, f == StoredFloat::F16 ? 1e-3 : 8e-3);
  }
}

TEST_CASE("safetensors: every truncation and every single-byte corruption is an error, not a crash") {
  std::string good = sample_file();
  for (size_t len = 0; len < good.size(); ++len) {
    INFO("truncated to " << len << " bytes");
    CHECK_THROWS_AS(parse_safetensors(good.substr(0, len), "truncated"), Error);
  }
  int parsed = 0, rejected = 0;
  for (size_t pos = 0; pos < good.size(); ++pos)
    for (unsigned char flip : {0x01, 0x80, 0xFF}) {
      std::string bad = good;
      bad[pos] = char(static_cast<unsigned char>(bad[pos]) ^ flip);
      try {
        parse_safetensors(bad, "corrupt");
        ++parsed;  // e.g. a flipped data byte is still a valid file
      } catch (const Error&) {
        ++rejected;
      }
    }
  CHECK(parsed > 0);
  CHECK(rejected > 0);
}

TEST_CASE("safetensors: malformed headers name the problem") {
  auto fails_with = [](const std::string& bytes, const char* text) {
    INFO("expected: " << text);
    CHECK_THROWS_WITH_AS(parse_safetensors(bytes, "bad.safetensors"), doctest::Contains(text), Error);
  };
  fails_with("abc", "not a safetensors file");
  std::string huge(8, '\xff');
  fails_with(huge + "{}", "exceeds the 100 MiB limit");
  std::string len100(8, '\0');
  len100[0] = 100;
  fails_with(len100 + "{}", "runs past the end of the file");
  fails_with(with_header("{\"a\":", ""), "invalid JSON");
  fails_with(with_header("[1,2]", ""), "header is not a JSON object");
  fails_with(with_header("{\"a\":{\"dtype\":\"F64\",\"shape\":[1],\"data_offsets\":[0,8]}}", std::string(8, 'x')),
             "dtype 'F64', supported");
  fails_with(with_header("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,16]}}", std::string(8, 'x')),
             "outside the 8 data bytes");
  fails_with(with_header("{\"a\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}", std::string(8, 'x')),
             "has 8 bytes for shape [3]");
  fails_with(with_header("{\"a\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,4]}}", std::string(4, 'x')),
             "invalid extent");
  fails_with(with_header("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", std::string(8, 'x')),
             "overlap or hole");
  fails_with(with_header("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
                         "\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}",
                         std::string(4, 'x')),
             "overlap or hole");
  fails_with(with_header("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
                         "\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}",
                         std::string(8, 'x')),
             "duplicate key \"a\" in object");
  fails_with(with_header("{\"a\":{\"dtype\":\"F32\",\"shape\":[1]}}", ""), "needs dtype");
  fails_with(with_header("{\"__metadata__\":{\"k\":1}}", ""), "metadata value of 'k' is not a string");
  fails_with(with_header(std::string(200, '[') + std::string(200, ']'), ""), "nesting too deep");
  fails_with(with_header("{\"a\":\"\\ud800\"}", ""), "lone surrogate");
  // Issue 19, item 7: [2^32, 2^32] with 0 bytes wrapped the element count to 0 and was accepted.
  fails_with(with_header("{\"a\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296],\"data_offsets\":[0,0]}}", ""),
             "implausibly large");
  // Item 11: a second __metadata__ (read differently by two readers before), invalid UTF-8, and
  // control characters (ANSI escapes) in names.
  fails_with(with_header("{\"__metadata__\":{\"step\":\"1\"},\"__metadata__\":{\"step\":\"2\"}}", ""),
             "duplicate key \"__metadata__\"");
  fails_with(with_header("{\"\xff\xfe\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[0,0]}}", ""),
             "invalid UTF-8");
  fails_with(with_header("{\"\xc0\xaf\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[0,0]}}", ""),
             "invalid UTF-8");  // an overlong '/'
  fails_with(with_header("{\"a\\u001b[31m\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[0,0]}}", ""),
             "holds control characters");
  fails_with(with_header("{\"a\":\"\\udc00\"}", ""), "lone low surrogate");
  // Item 10: a PyTorch file was reported as a header length over the limit.
  fails_with(std::string("PK\x03\x04") + std::string(60, '\0'), "a PyTorch >= 1.6 checkpoint?");
  fails_with(std::string("\x80\x02\x8a\x0a") + std::string(60, '\0'), "a legacy PyTorch checkpoint?");
  // Valid UTF-8 names are kept.
  SafetensorsFile u = parse_safetensors(
      with_header("{\"gr\xc3\xbc\xc3\x9fx\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[0,0]}}", ""), "utf8");
  CHECK(u.tensors.at(0).first == "gr\xc3\xbc\xc3\x9fx");
}

TEST_CASE("files: pipes, devices and folders are refused before they are opened (issue 19, item 11)") {
  std::string fifo = "/tmp/anima_test_fifo_" + std::to_string(::getpid());
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  CHECK_THROWS_WITH_AS(load_safetensors(fifo), doctest::Contains("not a regular file (a pipe)"), Error);
  CHECK_THROWS_WITH_AS(read_safetensors_metadata(fifo), doctest::Contains("not a regular file (a pipe)"), Error);
  ::unlink(fifo.c_str());
  CHECK_THROWS_WITH_AS(load_safetensors("/dev/zero"), doctest::Contains("not a regular file (a device)"), Error);
  CHECK_THROWS_WITH_AS(read_file_bytes("/tmp"), doctest::Contains("not a regular file (a folder)"), Error);
}

TEST_CASE("atomic writes: a failed save leaves the previous file intact") {
  std::string path = "/tmp/anima_test_atomic.safetensors";
  save_safetensors(path, {{"a", test::tensor({1, 2}, Shape{2})}});
  CHECK_THROWS_WITH_AS(save_safetensors(path, {{"a", test::tensor({3}, Shape{1})}, {"a", test::tensor({4}, Shape{1})}}),
                       doctest::Contains("given twice"), Error);
  CHECK(load_safetensors(path).at("a").to_vector<float>() == std::vector<float>{1, 2});
  CHECK_THROWS_WITH_AS(save_safetensors("/nonexistent-dir/x.safetensors", {{"a", test::tensor({1}, Shape{1})}}),
                       doctest::Contains("cannot create temporary file"), Error);
  CHECK_THROWS_WITH_AS(load_safetensors("/nonexistent-dir/x.safetensors"), doctest::Contains("cannot open"), Error);
  std::remove(path.c_str());
}

TEST_CASE("JSON reader: strings with escapes and unicode, numbers") {
  json::Value v =
      json::parse("{\"s\":\"a\\n\\\"b\\u00e9\\ud83d\\ude00\",\"n\":-12,\"f\":1.5e2,\"t\":true,\"z\":null}", "t");
  CHECK(v.find("s")->string == "a\n\"b\xc3\xa9\xf0\x9f\x98\x80");
  CHECK(v.find("n")->integer == -12);
  CHECK(v.find("f")->number == 150.0);
  CHECK(!v.find("f")->is_integer);
  CHECK(v.find("t")->boolean);
  CHECK(v.find("z")->kind == json::Value::Kind::Null);
  CHECK(json::quote("a\"b\\c\n\x01") == "\"a\\\"b\\\\c\\n\\u0001\"");
  CHECK_THROWS_WITH_AS(json::parse("{} x", "t"), doctest::Contains("trailing characters"), Error);
  CHECK_THROWS_WITH_AS(json::parse("99999999999999999999", "t"), doctest::Contains("out of range"), Error);
}

}  // TEST_SUITE
