// The model registry and the one face every model shows the commands (models/common/model.h).
#include <cmath>
#include <filesystem>

#include "kernels/random.h"
#include "kernels/shape_ops.h"
#include "models/registry.h"
#include "tests/test_util.h"
#include "tests/tiny_fomm_config.h"
#include "tests/tiny_refined_mask_config.h"

using namespace anima;

TEST_CASE("registry: every model's example config parses to its own kind; names, aliases and errors") {
  REQUIRE(model_registry().size() >= 2);
  CHECK(std::string(model_registry().front().name) == "fomm");  // a config without `model:` is FOMM's
  for (const ModelEntry& e : model_registry()) {
    INFO(e.name);
    std::unique_ptr<ModelConfig> c = load_model_config(test::source_path(e.example_config));
    CHECK(std::string(c->kind()) == e.name);
    CHECK(&find_model(e.name, "test") == &e);
    CHECK(c->run().frame_h() > 0);
    CHECK(c->schedule().batch_size > 0);
    CHECK(!c->run().text.empty());
  }
  CHECK(std::string(find_model("refined-mask", "test").name) == "refined_mask");
  CHECK_THROWS_WITH_AS(find_model("tps", "x.yaml"),
                       doctest::Contains("x.yaml: 'model' must be one of fomm, refined_mask; got 'tps'"), Error);
  CHECK_THROWS_WITH_AS(parse_model_config("model: [a, b]\n", "y.yaml"),
                       doctest::Contains("y.yaml: 'model' must be one of"), Error);
  CHECK(std::string(config_model("model:\n", "z").name) == "fomm");
}

TEST_CASE("registry: every config shipped in configs/ parses through the registry without a warning") {
  std::string dir = test::source_path("configs");
  if (!std::filesystem::is_directory(dir)) {
    test::mark_skipped("the source tree's configs/ is not here");
    return;
  }
  int seen = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    if (e.path().extension() != ".yaml") continue;
    INFO(e.path().filename().string());
    std::unique_ptr<ModelConfig> m = load_model_config(e.path().string());
    CHECK(m->run().warnings.empty());
    CHECK(m->run().frame_h() >= 64);
    ++seen;
  }
  CHECK(seen >= 24);
}

TEST_CASE("model face: each model trains a step, animates and reconstructs through the same calls") {
  struct Case {
    const char* yaml;
    int64_t size;
    int64_t first_reconstructed;
  };
  for (const Case& c : {Case{test::kTinyFommYaml, 32, 0}, Case{test::kTinyRefinedMaskYaml, 48, 1}}) {
    std::unique_ptr<ModelConfig> model = parse_model_config(c.yaml, "tiny");
    INFO(model->kind());
    CHECK(model->run().frame_h() == c.size);
    Generator gen(3);
    std::unique_ptr<Trainer> trainer = model->make_trainer(std::make_shared<Vgg19>(gen), gen, Device::cpu());
    trainer->set_epoch(trainer->all_terms_epoch());
    int64_t b = 2, s = c.size;
    Tensor src = kernels::uniform(Shape{b, 3, s, s}, 0.f, 1.f, gen),
           drv = kernels::uniform(Shape{b, 3, s, s}, 0.f, 1.f, gen);
    std::map<std::string, Tensor> terms = trainer->step(src, drv);
    REQUIRE(terms.size() >= 3);
    for (auto& [name, v] : terms) {
      INFO(name);
      CHECK(v.numel() == 1);
      CHECK(std::isfinite(v.item()));
    }
    Tensor vis = trainer->visualize(src, drv);
    CHECK(vis.size(0) == b * s);
    CHECK(vis.dtype() == DType::U8);
    CHECK(!trainer->checkpoint_parts().modules.empty());

    std::unique_ptr<Animator> animator = trainer->animator();
    CHECK(animator->first_reconstructed_frame() == c.first_reconstructed);
    Tensor one = kernels::slice(src, 0, 0, 1);
    animator->set_source(one, kernels::slice(drv, 0, 0, 1));
    Tensor out = animator->animate(drv);
    CHECK(out.shape() == drv.shape());
    CHECK(animator->figure(1).size(0) == s);
    CHECK(animator->reconstruction_panel(0).size(0) == s);
    NamedTensors inter = animator->intermediates(1);
    REQUIRE(!inter.empty());
    animator->set_source(one);
    CHECK(animator->reconstruct(drv).shape() == drv.shape());
  }
}
