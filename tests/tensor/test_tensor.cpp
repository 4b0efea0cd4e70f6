#include <cstdint>
#include <vector>

#include "autograd/functions.h"
#include "tensor/allocator.h"
#include "tensor/tensor.h"
#include "tests/test_util.h"

using namespace anima;

TEST_SUITE("tensor") {

TEST_CASE("shape basics, strides and broadcasting") {
  Shape s{2, 3, 4};
  CHECK(s.ndim == 3);
  CHECK(s.numel() == 24);
  CHECK(s.str() == "[2, 3, 4]");
  auto st = contiguous_strides(s);
  CHECK(st[0] == 12);
  CHECK(st[1] == 4);
  CHECK(st[2] == 1);
  CHECK(s.wrap_dim(-1, "t") == 2);
  CHECK_THROWS_WITH_AS(s.wrap_dim(3, "myop"), doctest::Contains("myop: dimension 3 out of range"), Error);
  CHECK(broadcast_shapes(Shape{2, 1, 4}, Shape{3, 1}, "t") == Shape{2, 3, 4});
  CHECK(broadcast_shapes(Shape{}, Shape{5}, "t") == Shape{5});
  CHECK_THROWS_WITH_AS(broadcast_shapes(Shape{2, 3}, Shape{4}, "add"),
                       doctest::Contains("add: shapes [2, 3] and [4] cannot be broadcast"), Error);
  CHECK_THROWS_AS(Shape({1, 2, 3, 4, 5, 6, 7, 8, 9}), Error);
  CHECK_THROWS_AS(Shape({2, -1}), Error);
  Shape five{1, 2, 3, 4, 5};
  CHECK(five.numel() == 120);
}

TEST_CASE("construction, dtypes and host read-back") {
  Tensor z = Tensor::zeros(Shape{2, 3});
  CHECK(z.dtype() == DType::F32);
  CHECK(z.device().is_cpu());
  CHECK(z.to_vector<float>() == std::vector<float>(6, 0.f));
  Tensor f = Tensor::full(Shape{4}, 2.5);
  CHECK(f.to_vector<float>() == std::vector<float>{2.5f, 2.5f, 2.5f, 2.5f});
  Tensor u = Tensor::full(Shape{3}, 7, DType::U8);
  CHECK(u.to_vector<uint8_t>() == std::vector<uint8_t>{7, 7, 7});
  Tensor l = Tensor::from_vector<int64_t>({1, -2, 3}, Shape{3});
  CHECK(l.dtype() == DType::I64);
  CHECK(l.to_vector<int64_t>() == std::vector<int64_t>{1, -2, 3});
  Tensor i = Tensor::from_vector<int32_t>({5, 6}, Shape{2, 1});
  CHECK(i.nbytes() == 8);
  CHECK(Tensor::scalar(3.f).item() == 3.f);
  CHECK(Tensor::scalar(3.f).dim() == 0);
  CHECK_THROWS_WITH_AS(Tensor::from_vector<float>({1, 2, 3}, Shape{2, 2}),
                       doctest::Contains("3 values given for shape [2, 2]"), Error);
  CHECK_THROWS_WITH_AS(f.data<int32_t>(), doctest::Contains("tensor is float32, accessed as int32"), Error);
  CHECK_THROWS_WITH_AS(f.item(), doctest::Contains("has 4 elements, expected 1"), Error);
  CHECK_THROWS_WITH_AS(Tensor().shape(), doctest::Contains("undefined tensor"), Error);
}

TEST_CASE("reshape is a view sharing storage; clone and detach") {
  Tensor a = test::tensor({1, 2, 3, 4, 5, 6}, Shape{2, 3});
  Tensor b = a.reshape({3, -1});
  CHECK(b.shape() == Shape{3, 2});
  CHECK(b.same_storage(a));
  a.data<float>()[0] = 10.f;
  CHECK(b.to_vector<float>()[0] == 10.f);
  Tensor c = a.clone();
  CHECK(!c.same_storage(a));
  CHECK(c.to_vector<float>() == a.to_vector<float>());
  Tensor d = a.detach();
  CHECK(d.same_storage(a));
  CHECK_THROWS_WITH_AS(a.reshape({4, 2}), doctest::Contains("has 8 elements, the tensor has 6"), Error);
  CHECK_THROWS_WITH_AS(a.reshape({-1, -1}), doctest::Contains("more than one -1"), Error);
  CHECK_THROWS_WITH_AS(a.reshape({4, -1}), doctest::Contains("cannot infer -1"), Error);
  Tensor e = test::tensor(std::vector<float>(120, 1.f), Shape{1, 2, 3, 4, 5});
  CHECK(e.reshape({5, 4, 3, 2, 1, 1}).dim() == 6);
}

TEST_CASE("to(device) on the CPU, and a CUDA request without a GPU fails cleanly") {
  Tensor a = test::tensor({1, 2}, Shape{2});
  CHECK(a.to(Device::cpu()).same_storage(a));
  if (!cuda_available()) {
    CHECK_THROWS_WITH_AS(a.to(Device::cuda()), doctest::Contains("no usable GPU"), Error);
    CHECK_THROWS_AS(Tensor::zeros(Shape{3}, DType::F32, Device::cuda()), Error);
  }
  CHECK(parse_device("cuda:0") == Device::cuda(0));
  CHECK(parse_device("cpu") == Device::cpu());
  CHECK_THROWS_WITH_AS(parse_device("tpu"), doctest::Contains("'tpu' is not a device"), Error);
}

TEST_CASE("device detection never crashes and explains itself") {
  bool available = cuda_available();  // must not throw or abort
  std::string status = cuda_status();
  CHECK(!status.empty());
  if (!available) CHECK(status.find("no usable GPU") != std::string::npos);
  CHECK(!device_report().empty());
  CHECK(built_with_cuda() == bool(ANIMA_CUDA));
}

TEST_CASE("CPU allocator: 64-byte alignment and byte counters") {
  MemoryStats before = memory_stats(Device::cpu());
  {
    Tensor t = Tensor::empty(Shape{1000});
    CHECK(reinterpret_cast<uintptr_t>(t.data_ptr()) % 64 == 0);
    Tensor odd = Tensor::empty(Shape{3}, DType::U8);
    CHECK(reinterpret_cast<uintptr_t>(odd.data_ptr()) % 64 == 0);
    MemoryStats during = memory_stats(Device::cpu());
    CHECK(during.current >= before.current + 4000 + 64);
    CHECK(during.peak >= during.current);
  }
  CHECK(memory_stats(Device::cpu()).current == before.current);
}

TEST_CASE("CPU allocator: blocks of 1 MiB and more are cached for the next request of their size") {
  empty_cache();
  MemoryStats before = memory_stats(Device::cpu());
  const int64_t floats = (int64_t(40) << 20) / 4 + 3;  // 40 MiB and 12 bytes: rounded to 42 MiB
  void* first = nullptr;
  {
    Tensor t = Tensor::empty(Shape{floats});
    first = t.data_ptr();
    CHECK(reinterpret_cast<uintptr_t>(first) % 64 == 0);
    CHECK(memory_stats(Device::cpu()).current == before.current + (size_t(42) << 20));
    t.data<float>()[floats - 1] = 1.f;  // the whole block is usable
  }
  CHECK(memory_stats(Device::cpu()).current == before.current);  // cached blocks are not live
  CHECK(memory_stats(Device::cpu()).reserved == before.reserved + (size_t(42) << 20));  // but kept
  {
    Tensor again = Tensor::empty(Shape{floats - 1});  // another size that rounds the same
    CHECK(again.data_ptr() == first);
    Tensor other = Tensor::empty(Shape{floats});  // the cached block is taken: a fresh one
    CHECK(other.data_ptr() != first);
  }
  CHECK(memory_stats(Device::cpu()).reserved == before.reserved + (size_t(84) << 20));  // both cached
  empty_cache();  // both go back to the OS
  CHECK(memory_stats(Device::cpu()).current == before.current);
  CHECK(memory_stats(Device::cpu()).reserved == before.reserved);
}

namespace {
size_t cpu_cached_bytes() {
  MemoryStats s = memory_stats(Device::cpu());
  return s.reserved - s.current;
}
void* cpu_block(std::vector<Tensor>& keep, size_t bytes) {
  keep.push_back(Tensor::empty(Shape{int64_t(bytes)}, DType::U8));
  return keep.back().data_ptr();
}
}  // namespace

TEST_CASE("CPU allocator: size classes, and a cached block serves requests up to a quarter smaller") {
  empty_cache();
  MemoryStats before = memory_stats(Device::cpu());
  std::vector<Tensor> keep;
  cpu_block(keep, (size_t(1) << 20) + 1);  // 1 MiB + 64 rounds to 1 MiB + 64 KiB (16 classes per power of two)
  CHECK(memory_stats(Device::cpu()).current == before.current + (size_t(1088) << 10));
  void* five = cpu_block(keep, size_t(5) << 20);
  keep.clear();
  CHECK(cpu_cached_bytes() == (size_t(1088) << 10) + (size_t(5) << 20));
  void* again = cpu_block(keep, size_t(4) << 20);  // 4 MiB: the 5 MiB block is within a quarter
  CHECK(again == five);
  CHECK(memory_stats(Device::cpu()).current == before.current + (size_t(5) << 20));  // it counts whole
  CHECK(cpu_cached_bytes() == (size_t(1088) << 10));
  keep.clear();  // freed with its own size, not the request's
  CHECK(memory_stats(Device::cpu()).current == before.current);
  CHECK(cpu_cached_bytes() == (size_t(1088) << 10) + (size_t(5) << 20));
  void* three = cpu_block(keep, size_t(3) << 20);  // 5 MiB is more than a quarter over 3 MiB
  CHECK(three != five);
  keep.clear();
  empty_cache();
  CHECK(cpu_cached_bytes() == 0);
  // Under the sizes the cache takes, blocks go back to malloc at once.
  cpu_block(keep, (size_t(1) << 20) - 64);
  keep.clear();
  CHECK(cpu_cached_bytes() == 0);
}

TEST_CASE("CPU allocator: live and cached large blocks stay within the most the live ones held, plus 64 MiB") {
  empty_cache();
  std::vector<Tensor> keep;
  // A block larger than anything so far raises the bound to what is live with it (+ 64 MiB).
  size_t big = memory_stats(Device::cpu()).cache_bound + (size_t(100) << 20);
  void* p = cpu_block(keep, big);
  MemoryStats at_peak = memory_stats(Device::cpu());
  CHECK(at_peak.cache_bound >= big);
  keep.clear();
  CHECK(cpu_cached_bytes() >= big);  // cached: the bound has room for it
  // A request of another size that the cache cannot serve (the cached block is more than a
  // quarter larger) and that does not fit in the slack beside it: the cached block goes back to
  // the OS first, then the fresh block comes.
  void* other = cpu_block(keep, size_t(68) << 20);
  CHECK(other != p);
  CHECK(cpu_cached_bytes() == 0);
  CHECK(memory_stats(Device::cpu()).cache_bound == at_peak.cache_bound);
  keep.clear();
  // While the bound has room, cached blocks of other sizes stay: 68 MiB cached, 3 MiB fresh beside it.
  void* three = cpu_block(keep, size_t(3) << 20);
  CHECK(three != other);
  CHECK(cpu_cached_bytes() == (size_t(68) << 20));
  keep.clear();
  empty_cache();
}

TEST_CASE("CUDA caching allocator: bucket sizes") {
  CHECK(cuda_bucket_size(1) == 512);
  CHECK(cuda_bucket_size(512) == 512);
  CHECK(cuda_bucket_size(513) == 1024);
  CHECK(cuda_bucket_size(1000000) == 1048576);
  CHECK(cuda_bucket_size(1048576) == 2097152);
  CHECK(cuda_bucket_size(3000000) == 4194304);
}

TEST_CASE("CUDA caching allocator reuses blocks in steady state [cuda]") {
  REQUIRE_CUDA_OR_SKIP();
  MemoryStats s0 = memory_stats(Device::cuda());
  for (int step = 0; step < 5; ++step) {
    Tensor a = Tensor::empty(Shape{1 << 20}, DType::F32, Device::cuda());
    Tensor b = Tensor::empty(Shape{1000}, DType::F32, Device::cuda());
  }
  MemoryStats s1 = memory_stats(Device::cuda());
  CHECK(s1.driver_allocations - s0.driver_allocations <= 2);
  CHECK(s1.current == s0.current);
  CHECK(s1.peak >= s0.current + (4u << 20));
  CHECK(s1.reserved >= s1.current);
  // empty_cache returns the free cached blocks to the driver; blocks in use stay.
  {
    Tensor kept = Tensor::empty(Shape{1 << 18}, DType::F32, Device::cuda());
    empty_cache();
    MemoryStats s2 = memory_stats(Device::cuda());
    CHECK(s2.reserved < s1.reserved);
    CHECK(s2.reserved >= s2.current);
    CHECK(s2.current >= (1u << 20));
  }
  Tensor host = test::tensor({1, 2, 3}, Shape{3});
  Tensor dev = host.to(Device::cuda());
  CHECK(dev.is_cuda());
  CHECK(dev.to_vector<float>() == host.to_vector<float>());
  CHECK(dev.to(Device::cpu()).to_vector<float>() == host.to_vector<float>());
}

TEST_CASE("printing") {
  Tensor a = test::tensor({1, 2.5f}, Shape{2});
  std::string s = a.str();
  CHECK(s.find("shape=[2]") != std::string::npos);
  CHECK(s.find("2.5") != std::string::npos);
  Tensor big = Tensor::zeros(Shape{100});
  CHECK(big.str(4).find("96 more") != std::string::npos);
}

}  // TEST_SUITE
