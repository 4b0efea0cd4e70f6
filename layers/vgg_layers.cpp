// VGG-19's ReLU layer names, apart from the network (the config parsers check names with it and
// need nothing else of the network).
#include <map>

#include "layers/vgg.h"

namespace anima {

int Vgg19::relu_index(const std::string& name) {
  static const std::map<std::string, int> index = {{"relu1_1", 1},  {"relu1_2", 3},  {"relu2_1", 6},  {"relu2_2", 8},
                                                   {"relu3_1", 11}, {"relu3_2", 13}, {"relu3_3", 15}, {"relu3_4", 17},
                                                   {"relu4_1", 20}, {"relu4_2", 22}, {"relu4_3", 24}, {"relu4_4", 26},
                                                   {"relu5_1", 29}};
  auto it = index.find(name);
  ANIMA_CHECK(it != index.end(), "Vgg19: unknown layer '", name, "' (relu1_1 ... relu5_1)");
  return it->second;
}

}  // namespace anima
