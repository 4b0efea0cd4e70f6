#include "layers/checkpoint.h"

#include <atomic>
#include <cmath>

#include "formats/safetensors.h"
#include "formats/tensor_file.h"
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

namespace {

bool has_prefix(const std::string& name, const std::string& prefix) {
  return name.compare(0, prefix.size(), prefix) == 0;
}

// The file's tensors of the listed parts (a PyTorch file: only those are read), checked finite;
// tensors under parts.unused are dropped and counted.
SafetensorsFile read_parts(const std::string& path, const CheckpointParts& parts, bool optimizers, size_t* unread,
                           size_t* dropped) {
  auto wanted = [&](const std::string& n) {
    for (const auto& [name, m] : parts.modules)
      if (has_prefix(n, name + ".")) return true;
    for (const auto& [name, o] : parts.optimizers)
      if (optimizers && has_prefix(n, name + ".")) return true;
    return false;
  };
  SafetensorsFile file = load_tensor_file(path, wanted, unread);
  std::string bad = nonfinite_report(file.tensors);
  ANIMA_CHECK(bad.empty(), path, ": the checkpoint holds ", bad, "; it cannot be used");
  NamedTensors kept;
  for (auto& [n, t] : file.tensors) {
    bool unused = false;
    for (const std::string& p : parts.unused) unused = unused || has_prefix(n, p);
    if (unused)
      ++*dropped;
    else
      kept.emplace_back(n, t);
  }
  if (*dropped > 0) {
    std::string prefixes;
    for (const std::string& p : parts.unused) prefixes += (prefixes.empty() ? "" : ", ") + p + "*";
    std::fprintf(stderr, "note: %s: %zu tensors %s dropped (this model's forward pass never uses them)\n", path.c_str(),
                 *dropped, prefixes.c_str());
  }
  file.tensors = std::move(kept);
  return file;
}

void load_module(const std::string& path, const SafetensorsFile& file, const std::string& name, Module* m,
                 bool strict) {
  try {
    m->load_state_dict(under_prefix(file, name), strict);
  } catch (const Error& e) {
    ANIMA_FAIL(path, ": module '", name, "': ", e.what());
  }
}

}  // namespace

std::map<std::string, std::string> load_checkpoint(const std::string& path, const CheckpointParts& parts, bool strict) {
  bool pytorch = is_pytorch_file(path);
  ANIMA_CHECK(!pytorch || parts.optimizers.empty(), path,
              ": a PyTorch checkpoint holds no anima optimiser state, so a run cannot be resumed from it; start a "
              "new run from its weights with `anima train --init-from ",
              path, "`");
  size_t unread = 0, dropped = 0;
  SafetensorsFile file = read_parts(path, parts, true, &unread, &dropped);
  for (const auto& [name, m] : parts.modules) {
    ANIMA_CHECK(!under_prefix(file, name).empty(), path, ": no tensors for module '", name, "'");
    load_module(path, file, name, m, strict);
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

WeightsReport load_weights(const std::string& path, const CheckpointParts& parts) {
  WeightsReport r;
  SafetensorsFile file = read_parts(path, parts, false, &r.unread, &r.dropped);
  for (const auto& [name, m] : parts.modules) {
    if (under_prefix(file, name).empty()) {
      r.absent.push_back(name);
      continue;
    }
    load_module(path, file, name, m, true);
    r.loaded.push_back(name);
  }
  ANIMA_CHECK(!r.loaded.empty(), path, ": holds no weights for any part of this model (", parts.modules.size(),
              " parts looked for, e.g. '", parts.modules.empty() ? "" : parts.modules[0].first, ".*')");
  r.metadata = file.metadata;
  return r;
}

std::string WeightsReport::summary(const std::string& path) const {
  auto list = [](const std::vector<std::string>& v) {
    std::string s;
    for (const auto& x : v) s += (s.empty() ? "" : ", ") + x;
    return s;
  };
  std::string s = path + ": weights of " + list(loaded);
  if (!absent.empty()) s += "; not in the file: " + list(absent) + " (kept as initialised)";
  auto format = metadata.find("format");
  if (format != metadata.end() && format->second.rfind("pytorch", 0) == 0) s += "; " + format->second;
  auto epoch = metadata.find("epoch");
  if (epoch != metadata.end()) s += "; epoch " + epoch->second;
  if (unread > 0) s += "; " + std::to_string(unread) + " other tensors (optimiser states) not needed";
  return s;
}

}  // namespace anima
