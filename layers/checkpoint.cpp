#include "layers/checkpoint.h"

#include <atomic>
#include <cmath>

#include "formats/safetensors.h"
#include "kernels/elementwise.h"
#include "kernels/reduce.h"

namespace anima {
namespace {

NamedTensors with_prefix(const std::string& prefix, const NamedTensors& in) {
  NamedTensors out;
  for (const auto& [n, t] : in) out.emplace_back(prefix + "." + n, t);
  return out;
}

// The entries of `file` under "prefix.", with the prefix removed.
NamedTensors under_prefix(const SafetensorsFile& file, const std::string& prefix) {
  NamedTensors out;
  std::string p = prefix + ".";
  for (const auto& [n, t] : file.tensors)
    if (n.compare(0, p.size(), p) == 0) out.emplace_back(n.substr(p.size()), t);
  return out;
}

// The number of non-finite values (NaN, +-inf) of a float tensor on any device.
int64_t count_nonfinite(const Tensor& t) {
  if (t.dtype() != DType::F32 || t.numel() == 0) return 0;
  if (t.device().is_cpu()) {
    const float* p = t.data<float>();
    int64_t n = 0;
    for (int64_t i = 0; i < t.numel(); ++i) n += !std::isfinite(p[i]);
    return n;
  }
  Tensor z = kernels::mul_scalar(t.detach(), 0.f);  // NaN exactly where t is not finite
  return int64_t(kernels::sum(kernels::cast(kernels::ne(z, z), DType::F32)).item());
}

// "" when every value is finite, else what and where.
std::string nonfinite_report(const NamedTensors& all) {
  int64_t total = 0, tensors = 0;
  std::string first;
  for (const auto& [name, t] : all) {
    int64_t n = count_nonfinite(t);
    if (n == 0) continue;
    total += n;
    ++tensors;
    if (first.empty()) first = name;
  }
  if (total == 0) return "";
  return std::to_string(total) + " non-finite values in " + std::to_string(tensors) + " tensor(s), first '" +
         printable(first) + "'";
}

std::atomic<int64_t> g_written{0};

}  // namespace

int64_t checkpoints_written() { return g_written.load(); }

void save_checkpoint(const std::string& path, const CheckpointParts& parts,
                     std::map<std::string, std::string> metadata) {
  NamedTensors all;
  for (const auto& [name, m] : parts.modules)
    for (auto& e : with_prefix(name, m->state_dict())) all.push_back(std::move(e));
  for (const auto& [name, o] : parts.optimizers)
    for (auto& e : with_prefix(name, o->state_dict())) all.push_back(std::move(e));
  // A checkpoint is a state to continue from: NaN or infinite weights (a diverged run) are never
  // written, so the file on disk stays the last good one.
  std::string bad = nonfinite_report(all);
  ANIMA_CHECK(bad.empty(), path, ": not written: the state holds ", bad,
              " (the run diverged: a learning rate too high?); the previous checkpoint is kept");
  metadata["format"] = kCheckpointFormat;
  save_safetensors(path, all, metadata);
  ++g_written;
}

std::map<std::string, std::string> load_checkpoint(const std::string& path, const CheckpointParts& parts, bool strict) {
  SafetensorsFile file = load_safetensors(path);
  std::string bad = nonfinite_report(file.tensors);
  ANIMA_CHECK(bad.empty(), path, ": the checkpoint holds ", bad, "; it cannot be used");
  for (const auto& [name, m] : parts.modules) {
    NamedTensors state = under_prefix(file, name);
    ANIMA_CHECK(!state.empty(), path, ": no tensors for module '", name, "'");
    try {
      m->load_state_dict(state, strict);
    } catch (const Error& e) {
      ANIMA_FAIL(path, ": module '", name, "': ", e.what());
    }
  }
  for (const auto& [name, o] : parts.optimizers) {
    try {
      o->load_state_dict(under_prefix(file, name));
    } catch (const Error& e) {
      ANIMA_FAIL(path, ": optimiser '", name, "': ", e.what());
    }
  }
  return file.metadata;
}

}  // namespace anima
