// Order statistics (kernels/select.h): k-th smallest, median, percentile, CUDA-vs-CPU parity.

#include "kernels/select.h"
#include "tests/parity.h"
#include "tests/test_util.h"

using namespace anima;
namespace K = anima::kernels;
using test::random_tensor;
using test::tensor;

TEST_SUITE("kernels") {

TEST_CASE("per-row k-th smallest, median and percentile") {
  Tensor x = tensor({5, 1, 4, 2, 3, 9, -1, 7, 0, 8}, Shape{2, 5});
  CHECK(K::kth_smallest(x, Tensor::from_vector<int32_t>({0, 4}, Shape{2})).to_vector<float>() ==
        std::vector<float>{1, 9});
  CHECK(K::row_median(x).to_vector<float>() == std::vector<float>{3, 7});
  CHECK(K::row_percentile(x, 0.25).to_vector<float>() == std::vector<float>{2, 0});
  CHECK(K::row_median(tensor({4, 1, 3, 2}, Shape{1, 4})).item() == 2.f);  // lower median
  Tensor r = random_tensor(Shape{3, 1001}, 1);
  auto v = r.to_vector<float>();
  std::vector<float> row(v.begin() + 1001, v.begin() + 2002);
  std::sort(row.begin(), row.end());
  CHECK(K::row_median(r).to_vector<float>()[1] == row[500]);
  CHECK_THROWS_WITH_AS(K::kth_smallest(x, Tensor::from_vector<int32_t>({0, 5}, Shape{2})),
                       doctest::Contains("k = 5 for row 1"), Error);
  CHECK_THROWS_WITH_AS(K::row_percentile(x, 1.5), doctest::Contains("q must be in [0, 1]"), Error);
}

PARITY("kth_smallest_median", 0, 0, ({random_tensor(Shape{8, 4096}, 107)}), kernels::row_median(x[0].detach()))

}  // TEST_SUITE
