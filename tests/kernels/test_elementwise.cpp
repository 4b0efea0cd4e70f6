#include <climits>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>

#include "autograd/functions.h"
#include "kernels/elementwise.h"
#include "tests/parity.h"
#include "tests/test_util.h"

using namespace anima;
using test::away_from_zero;
using test::random_tensor;
namespace K = anima::kernels;
using test::tensor;

namespace {
const Tensor& xs() {
  static Tensor x = tensor({-2.f, -0.5f, 0.f, 0.5f, 3.f}, Shape{5});
  return x;
}
std::vector<float> map_ref(float (*f)(float)) {
  std::vector<float> out;
  for (float v : xs().to_vector<float>()) out.push_back(f(v));
  return out;
}
}  // namespace

TEST_SUITE("kernels") {

TEST_CASE("unary ops: values") {
  const Tensor& x = xs();
  CHECK(K::neg(x).to_vector<float>() == std::vector<float>{2, 0.5f, -0.f, -0.5f, -3});
  CHECK(K::abs(x).to_vector<float>() == std::vector<float>{2, 0.5f, 0, 0.5f, 3});
  CHECK(K::sign(x).to_vector<float>() == std::vector<float>{-1, -1, 0, 1, 1});
  CHECK(K::relu(x).to_vector<float>() == std::vector<float>{0, 0, 0, 0.5f, 3});
  CHECK(K::leaky_relu(x, 0.2f).to_vector<float>() == std::vector<float>{-0.4f, -0.1f, 0, 0.5f, 3});
  CHECK(K::clamp(x, -1.f, 1.f).to_vector<float>() == std::vector<float>{-1, -0.5f, 0, 0.5f, 1});
  CHECK_CLOSE(K::exp(x), tensor(map_ref([](float v) { return std::exp(v); }), Shape{5}), 0, 1e-6);
  CHECK_CLOSE(K::tanh(x), tensor(map_ref([](float v) { return std::tanh(v); }), Shape{5}), 1e-7, 1e-6);
  CHECK_CLOSE(K::sigmoid(x), tensor(map_ref([](float v) { return 1.f / (1.f + std::exp(-v)); }), Shape{5}), 1e-7, 1e-6);
  Tensor pos = tensor({0.25f, 1.f, 4.f}, Shape{3});
  CHECK(K::sqrt(pos).to_vector<float>() == std::vector<float>{0.5f, 1.f, 2.f});
  CHECK_CLOSE(K::log(pos), tensor({std::log(0.25f), 0.f, std::log(4.f)}, Shape{3}), 1e-7, 1e-6);
  CHECK(K::pow_scalar(pos, 2.f).to_vector<float>() == std::vector<float>{0.0625f, 1.f, 16.f});
  CHECK_CLOSE(K::pow_scalar(pos, 1.5f), tensor({0.125f, 1.f, 8.f}, Shape{3}), 0, 1e-6);
  CHECK(K::add_scalar(pos, 1.f).to_vector<float>() == std::vector<float>{1.25f, 2.f, 5.f});
  CHECK(K::mul_scalar(pos, -2.f).to_vector<float>() == std::vector<float>{-0.5f, -2.f, -8.f});
  CHECK(K::div_scalar(pos, 4.f).to_vector<float>() == std::vector<float>{0.0625f, 0.25f, 1.f});
  CHECK(K::rsub_scalar(pos, 1.f).to_vector<float>() == std::vector<float>{0.75f, 0.f, -3.f});
}

TEST_CASE("exp: within 2 ulp of the exact value over the whole range, denormals, infinities and NaN") {
  // 2^20 floats spread over [-104, 89] (every 2^-k step of the bit patterns), plus the edges; the
  // kernel (the vectorised CPU loop) against double-precision exp rounded to float
  std::vector<float> v;
  for (uint32_t i = 0; i < (1u << 20); ++i) {
    float x = -104.f + 193.f * (float(i) / float(1u << 20));
    v.push_back(x);
  }
  for (float x : {0.f, -0.f, 1e-30f, -1e-30f, 88.72283f, 88.72284f, 88.7229f, -87.33654f, -87.33655f, -103.9f,
                  -103.97f, -103.98f, -104.f, -150.f, 100.f, 1e30f, -1e30f})
    v.push_back(x);
  Tensor y = K::exp(tensor(v, Shape{int64_t(v.size())}));
  auto got = y.to_vector<float>();
  auto ordered = [](float f) {  // float bits as a monotonic integer
    int32_t b;
    std::memcpy(&b, &f, sizeof b);
    return b < 0 ? int64_t(INT32_MIN) - b : int64_t(b);
  };
  int64_t worst = 0;
  float worst_x = 0;
  for (size_t i = 0; i < v.size(); ++i) {
    float want = float(std::exp(double(v[i])));
    int64_t d = std::llabs(ordered(got[i]) - ordered(want));
    if (d > worst) worst = d, worst_x = v[i];
  }
  INFO("worst " << worst << " ulp at x = " << worst_x);
  CHECK(worst <= 2);
  auto special = K::exp(tensor({INFINITY, -INFINITY, NAN, 89.f, -110.f}, Shape{5})).to_vector<float>();
  CHECK(special[0] == INFINITY);
  CHECK(special[1] == 0.f);
  CHECK(std::isnan(special[2]));
  CHECK(special[3] == INFINITY);
  CHECK(special[4] == 0.f);
}

TEST_CASE("sigmoid is finite and saturates for large inputs") {
  Tensor big = tensor({-1000.f, 1000.f, -90.f}, Shape{3});
  auto y = K::sigmoid(big).to_vector<float>();
  CHECK(y[0] == 0.f);
  CHECK(y[1] == 1.f);
  CHECK(std::isfinite(y[2]));
}

TEST_CASE("binary ops with broadcasting: values") {
  Tensor a = tensor({1, 2, 3, 4, 5, 6}, Shape{2, 3});
  Tensor row = tensor({10, 20, 30}, Shape{3});
  Tensor col = tensor({100, 200}, Shape{2, 1});
  CHECK(K::add(a, row).to_vector<float>() == std::vector<float>{11, 22, 33, 14, 25, 36});
  CHECK(K::add(a, col).to_vector<float>() == std::vector<float>{101, 102, 103, 204, 205, 206});
  CHECK(K::sub(row, a).to_vector<float>() == std::vector<float>{9, 18, 27, 6, 15, 24});
  CHECK(K::mul(a, Tensor::scalar(2.f)).to_vector<float>() == std::vector<float>{2, 4, 6, 8, 10, 12});
  CHECK(K::div(Tensor::scalar(12.f), a).to_vector<float>() == std::vector<float>{12, 6, 4, 3, 2.4f, 2});
  Tensor outer = K::mul(col, row);  // [2,1] x [3] -> [2,3]
  CHECK(outer.shape() == Shape{2, 3});
  CHECK(outer.to_vector<float>() == std::vector<float>{1000, 2000, 3000, 2000, 4000, 6000});
  CHECK(K::pow(tensor({2, 3}, Shape{2}), tensor({3, 2}, Shape{2})).to_vector<float>() == std::vector<float>{8, 9});
  CHECK(K::maximum(a, Tensor::scalar(3.5f)).to_vector<float>() == std::vector<float>{3.5f, 3.5f, 3.5f, 4, 5, 6});
  CHECK(K::minimum(a, row).to_vector<float>() == std::vector<float>{1, 2, 3, 4, 5, 6});
  // 3-d broadcast in the middle dimension.
  Tensor b3 = tensor({1, 2, 3, 4}, Shape{2, 1, 2});
  Tensor c3 = tensor({10, 20, 30}, Shape{1, 3, 1});
  CHECK(K::add(b3, c3).to_vector<float>() == std::vector<float>{11, 12, 21, 22, 31, 32, 13, 14, 23, 24, 33, 34});
}

TEST_CASE("binary ops with broadcasting: large tensors against a direct loop") {
  // Big enough for the CPU's threaded row path, with every kind of innermost dimension: both
  // inputs walking, one of them broadcast along it, and a merged [N, C, H*W] + [1, C, 1] pattern.
  struct Case {
    Shape a, b;
  };
  for (const Case& c : {Case{Shape{8, 33, 17, 9}, Shape{1, 33, 1, 1}}, Case{Shape{8, 33, 17, 1}, Shape{1, 1, 17, 9}},
                        Case{Shape{5, 1, 70, 40}, Shape{5, 3, 70, 40}}, Case{Shape{7, 40, 130}, Shape{40, 1}}}) {
    INFO(c.a.str() << " with " << c.b.str());
    Tensor a = test::random_tensor(c.a, 1), b = test::random_tensor(c.b, 2);
    Tensor sum = K::add(a, b), diff = K::sub(b, a);
    Tensor less = K::lt(a, b);
    Shape out = sum.shape();
    REQUIRE(out.numel() >= (1 << 15));
    auto va = a.to_vector<float>(), vb = b.to_vector<float>(), vs = sum.to_vector<float>(),
         vd = diff.to_vector<float>();
    auto vl = less.to_vector<uint8_t>();
    // Offset of output index i in an input of shape s (aligned to the output's trailing dims).
    auto offset = [&](int64_t i, const Shape& s) {
      int64_t off = 0, stride = 1;
      for (int d = out.ndim - 1; d >= 0; --d) {
        int64_t coord = i % out[d];
        i /= out[d];
        int sd = s.ndim - out.ndim + d;
        if (sd < 0) continue;
        if (s[sd] != 1) off += coord * stride;
        stride *= s[sd];
      }
      return off;
    };
    int64_t bad = 0;
    for (int64_t i = 0; i < out.numel(); ++i) {
      float x = va[size_t(offset(i, c.a))], y = vb[size_t(offset(i, c.b))];
      bad += vs[size_t(i)] != x + y || vd[size_t(i)] != y - x || vl[size_t(i)] != uint8_t(x < y);
    }
    CHECK(bad == 0);
  }
}

TEST_CASE("binary ops with broadcasting: empty outputs") {
  // An empty innermost dimension once made the CPU's row path divide by zero.
  for (auto [sa, sb, expected] :
       {std::tuple{Shape{2, 0}, Shape{2, 1}, Shape{2, 0}}, std::tuple{Shape{0, 3}, Shape{1, 3}, Shape{0, 3}},
        std::tuple{Shape{4, 1, 0}, Shape{3, 1}, Shape{4, 3, 0}}}) {
    INFO(sa.str() << " with " << sb.str());
    Tensor sum = K::add(K::full(sa, 1.0), K::full(sb, 2.0));
    CHECK(sum.shape() == expected);
    CHECK(sum.numel() == 0);
    CHECK(K::lt(K::full(sb, 2.0), K::full(sa, 1.0)).numel() == 0);
  }
}

TEST_CASE("comparisons, where and cast") {
  Tensor a = tensor({1, 2, 3}, Shape{3});
  Tensor b = tensor({2, 2, 2}, Shape{3});
  CHECK(K::eq(a, b).to_vector<uint8_t>() == std::vector<uint8_t>{0, 1, 0});
  CHECK(K::ne(a, b).to_vector<uint8_t>() == std::vector<uint8_t>{1, 0, 1});
  CHECK(K::lt(a, b).to_vector<uint8_t>() == std::vector<uint8_t>{1, 0, 0});
  CHECK(K::le(a, b).to_vector<uint8_t>() == std::vector<uint8_t>{1, 1, 0});
  CHECK(K::gt(a, b).to_vector<uint8_t>() == std::vector<uint8_t>{0, 0, 1});
  CHECK(K::ge(a, b).to_vector<uint8_t>() == std::vector<uint8_t>{0, 1, 1});
  CHECK(K::eq(a, b).dtype() == DType::U8);
  Tensor w = K::where(K::gt(a, b), a, Tensor::scalar(-1.f));
  CHECK(w.to_vector<float>() == std::vector<float>{-1, -1, 3});
  Tensor wf = K::where(tensor({0, 1}, Shape{2, 1}), Tensor::scalar(5.f), tensor({7, 8, 9}, Shape{3}));
  CHECK(wf.shape() == Shape{2, 3});
  CHECK(wf.to_vector<float>() == std::vector<float>{7, 8, 9, 5, 5, 5});
  Tensor f = tensor({-1.7f, 2.9f, 300.f}, Shape{3});
  CHECK(K::cast(f, DType::I32).to_vector<int32_t>() == std::vector<int32_t>{-1, 2, 300});
  CHECK(K::cast(f, DType::I64).to_vector<int64_t>() == std::vector<int64_t>{-1, 2, 300});
  // Defined where C++ leaves it undefined: NaN -> 0, saturation at the integer limits.
  Tensor odd = tensor({NAN, -1.f, 300.f, 3e9f, -3e9f}, Shape{5});
  CHECK(K::cast(odd, DType::U8).to_vector<uint8_t>() == std::vector<uint8_t>{0, 0, 255, 255, 0});
  CHECK(K::cast(odd, DType::I32).to_vector<int32_t>() == std::vector<int32_t>{0, -1, 300, 2147483647, -2147483647 - 1});
  Tensor u = Tensor::from_vector<uint8_t>({0, 128, 255}, Shape{3});
  CHECK(K::cast(u, DType::F32).to_vector<float>() == std::vector<float>{0, 128, 255});
}

TEST_CASE("expand, fill, add_inplace, arange and linspace") {
  Tensor r = tensor({1, 2}, Shape{1, 2});
  CHECK(K::expand(r, Shape{3, 2}).to_vector<float>() == std::vector<float>{1, 2, 1, 2, 1, 2});
  CHECK_THROWS_WITH_AS(K::expand(r, Shape{3, 3}), doctest::Contains("expand"), Error);
  Tensor t = Tensor::empty(Shape{4}, DType::I64);
  K::fill(t, 9);
  CHECK(t.to_vector<int64_t>() == std::vector<int64_t>{9, 9, 9, 9});
  Tensor f = K::full(Shape{2, 2}, -3.5);
  CHECK(f.to_vector<float>() == std::vector<float>{-3.5f, -3.5f, -3.5f, -3.5f});
  CHECK(K::full(Shape{3}, 4, DType::I32).to_vector<int32_t>() == std::vector<int32_t>{4, 4, 4});
  CHECK(K::eye(2, 3).to_vector<float>() == std::vector<float>{1, 0, 0, 0, 1, 0});
  CHECK(K::eye(0, 2).numel() == 0);
  Tensor acc = tensor({1, 1}, Shape{2});
  K::add_inplace(acc, tensor({2, 4}, Shape{2}), 0.5f);
  CHECK(acc.to_vector<float>() == std::vector<float>{2, 3});
  CHECK(K::arange(0, 5, 1).to_vector<float>() == std::vector<float>{0, 1, 2, 3, 4});
  CHECK(K::arange(1, 2, 0.25).to_vector<float>() == std::vector<float>{1, 1.25f, 1.5f, 1.75f});
  CHECK(K::arange(5, 0, -2, DType::I64).to_vector<int64_t>() == std::vector<int64_t>{5, 3, 1});
  CHECK_THROWS_AS(K::arange(0, 1, 0), Error);
  CHECK_THROWS_AS(K::arange(0, 1, -1), Error);
  CHECK(K::linspace(-1, 1, 5).to_vector<float>() == std::vector<float>{-1, -0.5f, 0, 0.5f, 1});
  auto l = K::linspace(0, 1, 7).to_vector<float>();
  CHECK(l.front() == 0.f);
  CHECK(l.back() == 1.f);
  CHECK(K::linspace(3, 3, 1).to_vector<float>() == std::vector<float>{3});
}

TEST_CASE("bad input: dtype, device and shape errors name the op and the shapes") {
  Tensor a = tensor({1, 2, 3}, Shape{3});
  Tensor u = Tensor::zeros(Shape{3}, DType::U8);
  CHECK_THROWS_WITH_AS(K::exp(u), doctest::Contains("exp: expected a float32 tensor, got uint8"), Error);
  CHECK_THROWS_WITH_AS(K::add(a, tensor({1, 2}, Shape{2})),
                       doctest::Contains("add: shapes [3] and [2] cannot be broadcast"), Error);
  CHECK_THROWS_WITH_AS(K::mul(a, Tensor()), doctest::Contains("mul: an input tensor is undefined"), Error);
  CHECK_THROWS_WITH_AS(K::clamp(a, 1.f, 0.f), doctest::Contains("clamp: lower bound"), Error);
  CHECK_THROWS_WITH_AS(K::relu_backward(a, tensor({1}, Shape{1})),
                       doctest::Contains("relu_backward: gradient shape [3] differs"), Error);
  CHECK_THROWS_WITH_AS(K::add_inplace(a, tensor({1, 2}, Shape{2})),
                       doctest::Contains("add_inplace: destination [3] and source [2] differ"), Error);
  CHECK_THROWS_WITH_AS(K::where(Tensor::zeros(Shape{3}, DType::I32), a, a),
                       doctest::Contains("where: condition must be uint8 or float32"), Error);
}

// Transcendental functions: CUDA's expf/logf/tanhf are within 2 ulp of the correctly rounded value.
PARITY("neg", 0, 0, ({random_tensor(Shape{1000}, 1)}), neg(x[0]))

PARITY("exp", 1e-6, 1e-5, ({random_tensor(Shape{1000}, 2, -3, 3)}), exp(x[0]))

PARITY("log", 1e-6, 1e-5, ({random_tensor(Shape{1000}, 3, 0.1f, 5)}), log(x[0]))

PARITY("sqrt", 1e-6, 1e-6, ({random_tensor(Shape{1000}, 4, 0.1f, 5)}), sqrt(x[0]))

PARITY("abs", 0, 0, ({away_from_zero(Shape{1000}, 5)}), abs(x[0]))

PARITY("relu", 0, 0, ({away_from_zero(Shape{1000}, 6)}), relu(x[0]))

PARITY("leaky_relu", 1e-7, 1e-6, ({away_from_zero(Shape{1000}, 7)}), leaky_relu(x[0], 0.2f))

PARITY("sigmoid", 1e-6, 1e-5, ({random_tensor(Shape{1000}, 8, -6, 6)}), sigmoid(x[0]))

PARITY("tanh", 1e-6, 1e-5, ({random_tensor(Shape{1000}, 9, -3, 3)}), tanh(x[0]))

PARITY("clamp", 0, 0, ({random_tensor(Shape{1000}, 10, -2, 2)}), clamp(x[0], -0.5f, 0.75f))

PARITY("pow_scalar", 1e-6, 1e-5, ({random_tensor(Shape{1000}, 11, 0.1f, 3)}), pow(x[0], 1.7f))

PARITY("scalar_arith", 1e-6, 1e-6, ({random_tensor(Shape{1000}, 12)}), rsub((x[0] + 1.5f) * 3.f / 7.f, 2.f))

PARITY("add_broadcast", 1e-6, 1e-6, ({random_tensor(Shape{4, 5, 6}, 13), random_tensor(Shape{5, 1}, 14)}),
       add(x[0], x[1]))

PARITY("sub_broadcast", 1e-6, 1e-6, ({random_tensor(Shape{4, 5, 6}, 15), random_tensor(Shape{6}, 16)}), sub(x[0], x[1]))

PARITY("mul_broadcast", 1e-6, 1e-6, ({random_tensor(Shape{4, 1, 6}, 17), random_tensor(Shape{5, 6}, 18)}),
       mul(x[0], x[1]))

PARITY("div_broadcast", 1e-6, 1e-5, ({random_tensor(Shape{4, 5, 6}, 19), random_tensor(Shape{4, 1, 1}, 20, 0.5f, 2)}),
       div(x[0], x[1]))

PARITY("pow_tensor", 1e-5, 1e-5, ({random_tensor(Shape{30}, 21, 0.5f, 2), random_tensor(Shape{30}, 22)}),
       pow(x[0], x[1]))

PARITY("maximum_minimum", 1e-6, 1e-6, ({random_tensor(Shape{100}, 23), random_tensor(Shape{100}, 24)}),
       maximum(x[0], x[1]) + minimum(x[0], x[1]) * 2.f)

PARITY("compare", 0, 0, ({random_tensor(Shape{200}, 25), random_tensor(Shape{200}, 26)}),
       cast(concat({cast(lt(x[0], x[1]), DType::F32), cast(ge(x[0], x[1]), DType::F32),
                    cast(eq(x[0], x[0]), DType::F32), cast(ne(x[0], x[1]), DType::F32)},
                   0)
                .detach(),
            DType::U8))

PARITY("where", 1e-7, 0,
       ({random_tensor(Shape{3, 40}, 27), random_tensor(Shape{40}, 28), random_tensor(Shape{3, 1}, 29)}),
       where(gt(x[0], Tensor::scalar(0.f, x[0].device())), x[1], x[2]))

PARITY("cast_roundtrip", 0, 0, ({random_tensor(Shape{100}, 30, -50, 50)}),
       cast(cast(cast(x[0].detach(), DType::I32), DType::I64), DType::F32))

PARITY("expand", 1e-6, 1e-6, ({random_tensor(Shape{3, 1, 4}, 31)}), expand(x[0], Shape{2, 3, 5, 4}))

PARITY("linspace_arange_eye", 0, 0, ({Tensor::zeros(Shape{1})}),
       concat({reshape(kernels::eye(5, 7, x[0].device()), {-1}), kernels::linspace(-1.f, 1.f, 64, x[0].device()),
               kernels::arange(0, 10, 0.5, DType::F32, x[0].device())},
              0))

PARITY("fill_add_inplace", 0, 0, ({random_tensor(Shape{300}, 48)}), [&] {
  Tensor t = Tensor::empty(Shape{300}, DType::F32, x[0].device());
  kernels::fill(t, 1.5);
  kernels::add_inplace(t, x[0].detach(), 2.f);
  return t;
}())

PARITY("add_scalar_inplace", 0, 0, ({random_tensor(Shape{300}, 49)}), [&] {
  Tensor t = x[0].detach().clone();
  kernels::add_scalar_(t, -0.375);
  return t;
}())

}  // TEST_SUITE
