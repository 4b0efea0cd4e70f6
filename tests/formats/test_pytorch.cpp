// The native PyTorch checkpoint reader against files torch.save wrote (tests/golden/pytorch/,
// made by tests/golden/make_pytorch_goldens.py), and against hostile and lying files.
#include <unistd.h>

#include <cstring>

#include "formats/pickle.h"
#include "formats/pytorch.h"
#include "formats/safetensors.h"
#include "tensor/file_util.h"
#include "tests/test_util.h"

using namespace anima;

namespace {

std::string pt(const std::string& name) { return test::golden_path("pytorch/" + name); }

// Bit-exact equality of two tensors (dtype, shape and bytes).
void check_same(const std::string& name, const Tensor& got, const Tensor& want) {
  INFO("tensor " << name);
  CHECK(test::bit_equal(got, want));
}

void check_matches_expected(const PyTorchFile& f, const std::string& expected_file) {
  SafetensorsFile want = load_safetensors(pt(expected_file));
  for (const auto& [name, t] : want.tensors) {
    const Tensor* got = nullptr;
    for (const auto& [n, g] : f.tensors)
      if (n == name) got = &g;
    INFO("tensor " << name);
    REQUIRE(got != nullptr);
    check_same(name, *got, t);
  }
}

PyTorchFile parse_bytes(const std::string& bytes, const std::string& what = "mem") {
  return parse_pytorch(reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size(), what);
}

}  // namespace

TEST_SUITE("formats") {

TEST_CASE("pytorch: both containers read every dtype, views, offsets and shared storages as torch.save wrote them") {
  for (const char* file : {"nested-zip.pth", "nested-legacy.pth"}) {
    INFO(file);
    PyTorchFile f = load_pytorch(pt(file));
    CHECK(f.container == (std::strcmp(file, "nested-zip.pth") == 0 ? "zip" : "legacy"));
    check_matches_expected(f, "nested-expected.safetensors");
    CHECK(f.tensors.size() == 21);  // 19 generator entries, kp_detector's and the optimiser's exp_avg
    REQUIRE(f.value("epoch"));
    CHECK(*f.value("epoch") == "99");
    REQUIRE(f.value("optimizer_generator.param_groups.0.betas.1"));
    CHECK(*f.value("optimizer_generator.param_groups.0.betas.1") == "0.999");
    CHECK(*f.value("optimizer_generator.param_groups.0.amsgrad") == "False");
    CHECK(*f.value("optimizer_generator.state.0.step") == "3");
    CHECK(*f.value("note") == "saved by make_pytorch_goldens.py");
  }
}

TEST_CASE("pytorch: a filter reads only the wanted tensors and lists the others with their shapes") {
  PyTorchFile f =
      load_pytorch(pt("nested-legacy.pth"), [](const std::string& n) { return n.rfind("kp_detector.", 0) == 0; });
  REQUIRE(f.tensors.size() == 1);
  CHECK(f.tensors[0].first == "kp_detector.fc.weight");
  CHECK(f.skipped.size() == 20);
  bool found = false;
  for (const auto& [n, s] : f.skipped) found = found || (n == "generator.transposed" && s == Shape{6, 4});
  CHECK(found);
}

TEST_CASE("pytorch: an official-layout FOMM checkpoint reads as the Python converter wrote it, tensor for tensor") {
  for (const char* file : {"tiny-fomm-cpk.pth.tar", "tiny-fomm-cpk.zip.pth"}) {
    INFO(file);
    PyTorchFile f = load_pytorch(pt(file));
    SafetensorsFile want = load_safetensors(pt("tiny-fomm-expected.safetensors"));
    int64_t model_tensors = 0;
    for (const auto& [n, t] : f.tensors) model_tensors += n.rfind("optimizer_", 0) != 0;
    CHECK(model_tensors == int64_t(want.tensors.size()));
    for (const auto& [name, t] : want.tensors) {
      const Tensor* got = nullptr;
      for (const auto& [n, g] : f.tensors)
        if (n == name) got = &g;
      INFO(name);
      REQUIRE(got != nullptr);
      // The converter widened every integer to int64; the reader keeps int64 as it is.
      check_same(name, *got, t);
    }
    CHECK(*f.value("epoch") == "7");
    CHECK(*f.value("optimizer_generator.param_groups.0.initial_lr") == "0.00020000000000000001");
  }
}

TEST_CASE("pytorch: a pickle that names os.system or eval is refused before anything runs") {
  ::unlink("/tmp/anima-pwned");
  for (const char* file : {"bad-os-system.pth", "bad-eval.pth", "bad-eval-zip.pth"}) {
    INFO(file);
    CHECK_THROWS_WITH_AS(load_pytorch(pt(file)), doctest::Contains("refuses the global"), Error);
  }
  CHECK_THROWS_WITH_AS(load_pytorch(pt("bad-os-system.pth")), doctest::Contains("'posix.system'"), Error);
  CHECK(::access("/tmp/anima-pwned", F_OK) != 0);
}

TEST_CASE("pytorch: lying sizes, offsets and strides, unknown types and opcodes are clear errors") {
  auto fails_with = [](const char* file, const char* text) {
    INFO(file << " should fail with: " << text);
    CHECK_THROWS_WITH_AS(load_pytorch(pt(file)), doctest::Contains(text), Error);
  };
  PyTorchFile ok = load_pytorch(pt("good-hand-written.pth"));
  REQUIRE(ok.tensors.size() == 1);
  CHECK(ok.tensors[0].second.shape() == Shape{2, 3});
  fails_with("bad-storage-past-file.pth", "holds 1073741824 elements");
  fails_with("bad-view-past-storage.pth", "reaches past its storage");
  fails_with("bad-negative-size.pth", "negative or huge size or stride");
  fails_with("bad-overflow-size.pth", "implausibly large");
  fails_with("bad-overflow-stride.pth", "negative or huge size or stride");
  fails_with("bad-negative-numel.pth", "has an invalid size");
  fails_with("bad-unknown-storage-type.pth", "refuses the global 'torch.nn.modules.module.Module'");
  fails_with("bad-opcode.pth", "unsupported pickle opcode 0x49");
}

TEST_CASE("pytorch: every truncation of both containers is an error, never a crash") {
  for (const char* file : {"nested-legacy.pth", "nested-zip.pth"}) {
    std::string good = read_file_bytes(pt(file));
    REQUIRE_NOTHROW(parse_bytes(good));
    int failed = 0;
    for (size_t len = 0; len < good.size(); ++len) {
      try {
        parse_bytes(good.substr(0, len));
      } catch (const Error&) {
        ++failed;
      }
    }
    INFO(file);
    CHECK(failed == int(good.size()));
  }
}

TEST_CASE("pytorch: single-byte corruptions are parsed or refused, never a crash") {
  std::string good = read_file_bytes(pt("nested-legacy.pth"));
  int parsed = 0, rejected = 0;
  for (size_t pos = 0; pos < good.size(); pos += 3)
    for (unsigned char flip : {0x01, 0x80}) {
      std::string bad = good;
      bad[pos] = char(static_cast<unsigned char>(bad[pos]) ^ flip);
      try {
        parse_bytes(bad);
        ++parsed;
      } catch (const Error&) {
        ++rejected;
      }
    }
  CHECK(parsed > 0);
  CHECK(rejected > 0);
}

TEST_CASE("pickle: cycles, deep nesting and repeated keys") {
  // A list appended to itself: flattening stops at the depth limit, nothing leaks.
  std::string cycle = std::string("\x80\x02]q\x00h\x00" "a.", 9);
  CHECK_THROWS_WITH_AS(parse_bytes(cycle), doctest::Contains("torch.save magic"), Error);
  pickle::Unpickler u("mem", nullptr);
  size_t pos = 0;
  const pickle::Value& v = u.load(reinterpret_cast<const unsigned char*>(cycle.data()), cycle.size(), pos);
  CHECK(v.kind == pickle::Value::Kind::List);
  CHECK(v.items.size() == 1);
  CHECK(v.items[0] == &v);
  // A dict with a repeated key keeps the last value, as Python does.
  std::string dict = std::string("\x80\x02}(X\x01\x00\x00\x00" "aK\x01X\x01\x00\x00\x00" "aK\x02u.", 22);
  pos = 0;
  const pickle::Value& d = u.load(reinterpret_cast<const unsigned char*>(dict.data()), dict.size(), pos);
  REQUIRE(d.entries.size() == 1);
  CHECK(d.get("a")->integer == 2);
  CHECK(pos == dict.size());
  // Truncated strings and memo keys never stored.
  for (std::string bad : {std::string("\x80\x02X\xff\x00\x00\x00" "ab.", 10), std::string("\x80\x02h\x05.", 5),
                          std::string("\x80\x09N.", 4), std::string("\x80\x02(.", 4)}) {
    pos = 0;
    CHECK_THROWS_AS(u.load(reinterpret_cast<const unsigned char*>(bad.data()), bad.size(), pos), Error);
  }
}

TEST_CASE("pytorch: not a checkpoint, a tar archive, a PNG") {
  CHECK_THROWS_WITH_AS(parse_bytes("hello"), doctest::Contains("not a PyTorch checkpoint"), Error);
  std::string tar(600, '\0');
  std::memcpy(&tar[257], "ustar", 5);
  CHECK_THROWS_WITH_AS(parse_bytes(tar), doctest::Contains("tar archive"), Error);
  CHECK_THROWS_WITH_AS(parse_bytes(std::string("PK\x03\x04garbage", 11)), doctest::Contains("zip archive"),
                       Error);
}

}  // TEST_SUITE
