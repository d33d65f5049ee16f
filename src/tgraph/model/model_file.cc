#include "tgraph/model/model_file.h"

#include <cstring>
#include <fstream>

#include <torch/torch.h>

#include "tgraph/util/atomic_file.h"
#include "tgraph/util/error.h"

namespace tgraph {

namespace {
constexpr char kMagic[8] = {'T', 'G', 'R', 'A', 'P', 'H', 'M', 'F'};

template <typename T>
void put(std::ostream& o, T v) {
  o.write(reinterpret_cast<const char*>(&v), sizeof(T));
}
}  // namespace

std::map<std::string, torch::Tensor> module_tensors(const torch::nn::Module& m) {
  std::map<std::string, torch::Tensor> out;
  for (const auto& p : m.named_parameters())
    out[p.key()] = p.value().detach().to(torch::kCPU, torch::kFloat32).contiguous();
  for (const auto& b : m.named_buffers())
    out[b.key()] = b.value().detach().to(torch::kCPU, torch::kFloat32).contiguous();
  return out;
}

void load_module_tensors(torch::nn::Module& m, const std::map<std::string, torch::Tensor>& t,
                         const std::string& source) {
  torch::NoGradGuard ng;
  size_t used = 0;
  auto copy = [&](const std::string& name, torch::Tensor& dst) {
    auto it = t.find(name);
    if (it == t.end()) throw_error(source, "tensors", "a tensor named '" + name + "'", "none");
    if (it->second.sizes() != dst.sizes())
      throw_error(source, "tensors." + name, TG_STR("shape " << dst.sizes()),
                  TG_STR("shape " << it->second.sizes()));
    dst.copy_(it->second);
    ++used;
  };
  for (auto& p : m.named_parameters()) copy(p.key(), p.value());
  for (auto& b : m.named_buffers()) copy(b.key(), b.value());
  if (used != t.size())
    throw_error(source, "tensors", TG_STR(used << " tensors for this model"),
                TG_STR(t.size() << " (the file was written by a different architecture)"));
}

void save_model_file(const std::string& path, const ModelFile& f) {
  nlohmann::json h;
  h["magic"] = "TGRAPHMF";
  h["format_version"] = kModelFormatVersion;
  h["feature_schema_version"] = kFeatureSchemaVersion;
  h["task"] = f.task;
  h["model"] = f.config.to_json();
  h["normalizer"] = f.normalizer;
  h["preprocessing"] = f.preprocessing;
  h["training"] = f.training;
  h["tensors"] = nlohmann::json::array();
  uint64_t offset = 0;
  for (const auto& [name, t] : f.tensors) {
    TG_CHECK(t.scalar_type() == torch::kFloat32 && t.is_contiguous() && t.device().is_cpu(),
             "tensor ", name, " must be contiguous CPU float32");
    uint64_t nb = static_cast<uint64_t>(t.numel()) * 4;
    h["tensors"].push_back({{"name", name},
                            {"dtype", "<f4"},
                            {"shape", t.sizes().vec()},
                            {"offset", offset},
                            {"bytes", nb}});
    offset += nb;
  }
  std::string header = h.dump();
  AtomicFile out(path);
  auto& o = out.stream();
  o.write(kMagic, 8);
  put<uint32_t>(o, kModelFormatVersion);
  put<uint64_t>(o, header.size());
  o.write(header.data(), static_cast<std::streamsize>(header.size()));
  for (const auto& [name, t] : f.tensors)
    o.write(reinterpret_cast<const char*>(t.data_ptr<float>()), t.numel() * 4);
  out.commit();
}

namespace {

nlohmann::json read_header(std::ifstream& in, const std::string& path, uint64_t* data_start,
                           uint64_t file_size) {
  char magic[8];
  in.read(magic, 8);
  if (!in || std::memcmp(magic, kMagic, 8) != 0)
    throw_error(path, "magic", "a tgraph model file (starts with TGRAPHMF)",
                "other bytes (not a tgraph model, or a truncated file)");
  uint32_t version = 0;
  uint64_t hlen = 0;
  in.read(reinterpret_cast<char*>(&version), 4);
  in.read(reinterpret_cast<char*>(&hlen), 8);
  if (!in) throw_error(path, "header", "a complete header", "end of file");
  if (version != kModelFormatVersion)
    throw_error(path, "format_version", TG_STR(kModelFormatVersion << " (this build)"),
                TG_STR(version << (version > kModelFormatVersion ? " (written by a newer tgraph)"
                                                                 : " (an older format)")));
  if (hlen > file_size || hlen > (uint64_t(1) << 30))
    throw_error(path, "header length", TG_STR("at most the file size " << file_size),
                TG_STR(hlen << " (truncated or corrupt file)"));
  std::string hs(hlen, '\0');
  in.read(hs.data(), static_cast<std::streamsize>(hlen));
  if (!in) throw_error(path, "header", TG_STR(hlen << " bytes of JSON"), "end of file");
  nlohmann::json h;
  try {
    h = nlohmann::json::parse(hs);
  } catch (const nlohmann::json::exception& e) {
    throw_error(path, "header", "valid JSON", e.what());
  }
  uint32_t schema = h.value("feature_schema_version", 0u);
  if (schema != kFeatureSchemaVersion)
    throw_error(path, "feature_schema_version",
                TG_STR(kFeatureSchemaVersion << " (the features this build computes)"),
                TG_STR(schema << ": the model was trained on different features; retrain it"));
  *data_start = 8 + 4 + 8 + hlen;
  return h;
}

}  // namespace

nlohmann::json read_model_header(const std::string& path) {
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  if (!in) throw_error(path, "", "a readable model file", "cannot open");
  uint64_t size = static_cast<uint64_t>(in.tellg());
  in.seekg(0);
  uint64_t start = 0;
  return read_header(in, path, &start, size);
}

ModelFile load_model_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  if (!in) throw_error(path, "", "a readable model file", "cannot open");
  uint64_t size = static_cast<uint64_t>(in.tellg());
  in.seekg(0);
  uint64_t start = 0;
  nlohmann::json h = read_header(in, path, &start, size);
  ModelFile f;
  try {
    f.task = h.at("task").get<std::string>();
    f.normalizer = h.at("normalizer");
    f.preprocessing = h.at("preprocessing");
    f.training = h.at("training");
  } catch (const nlohmann::json::exception& e) {
    throw_error(path, "header", "task, normalizer, preprocessing and training", e.what());
  }
  if (!h.contains("model")) throw_error(path, "model", "hyper-parameters", "none");
  try {
    f.config = ModelConfig::from_json(h["model"]);
  } catch (const Error& e) {
    throw_error(path, "model", "valid hyper-parameters", e.what());
  }
  for (const auto& t : h.value("tensors", nlohmann::json::array())) {
    std::string name = t.value("name", "");
    auto shape = t.value("shape", std::vector<int64_t>{});
    uint64_t off = t.value("offset", uint64_t(0)), nb = t.value("bytes", uint64_t(0));
    int64_t numel = 1;
    for (auto d : shape) numel *= d;
    if (t.value("dtype", "") != "<f4" || nb != static_cast<uint64_t>(numel) * 4 ||
        start + off + nb > size)
      throw_error(path, "tensors." + name, "float32 data inside the file",
                  TG_STR(nb << " bytes at offset " << off << " (file has " << size << " bytes)"));
    auto tensor = torch::empty(shape, torch::kFloat32);
    in.seekg(static_cast<std::streamoff>(start + off));
    in.read(reinterpret_cast<char*>(tensor.data_ptr<float>()), static_cast<std::streamsize>(nb));
    if (!in) throw_error(path, "tensors." + name, "its data", "end of file");
    f.tensors[name] = tensor;
  }
  return f;
}

LoadedModel load_layout_model(const std::string& path, torch::Device device) {
  LoadedModel lm;
  lm.file = load_model_file(path);
  if (lm.file.task != "layout")
    throw_error(path, "task", "a layout model", "'" + lm.file.task + "'");
  lm.model = make_layout_model(lm.file.config);
  load_module_tensors(*lm.model, lm.file.tensors, path);
  lm.model->to(device);
  lm.model->eval();
  return lm;
}

}  // namespace tgraph
