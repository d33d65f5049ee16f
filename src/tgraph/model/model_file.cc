#include "tgraph/model/model_file.h"

#include <zlib.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <fstream>

#include <torch/torch.h>

#include "tgraph/util/atomic_file.h"
#include "tgraph/util/error.h"

namespace tgraph {

int64_t default_inference_slate(const LoadedModel& m) {
  bool xattn = false;
  for (const LoadedNet& n : m.members) xattn = xattn || n.file.config.cross_attention;
  if (!xattn) return kPlainInferenceSlate;
  int64_t train_slate = 32;
  const nlohmann::json& t = m.file().training;
  if (t.contains("slate") && t["slate"].is_number_integer())
    train_slate = t["slate"].get<int64_t>();
  return std::clamp<int64_t>(2 * train_slate, 2, int64_t{1} << 20);
}

int default_slate_repeats(const LoadedModel& m) {
  for (const LoadedNet& n : m.members)
    if (n.file.config.cross_attention) return kXattnSlateRepeats;
  return 1;
}

nlohmann::json reach_to_json(const Reach& r) {
  if (r == Reach{}) return true;
  if (r.mode == Reach::kWhole) return false;
  return r.str();
}

Reach reach_from_json(const nlohmann::json& v, const std::string& path) {
  if (v.is_boolean()) return v.get<bool>() ? Reach{} : Reach::whole();
  if (v.is_string()) {
    try {
      return Reach::parse(v.get<std::string>(), path);
    } catch (const Error&) {
    }
  }
  throw_error(path, "preprocessing.prune", "true | false | \"hops:K\" | \"contract\"",
              v.dump().substr(0, 40));
}

namespace {
constexpr char kMagic[8] = {'T', 'G', 'R', 'A', 'P', 'H', 'M', 'F'};

template <typename T>
void put(std::ostream& o, T v) {
  o.write(reinterpret_cast<const char*>(&v), sizeof(T));
}
}  // namespace

// CRC-32 (zlib's) of a tensor's bytes: a flipped weight byte is an error, not another model.
uint32_t crc32_of(const void* data, uint64_t n) {
  uLong c = crc32(0L, Z_NULL, 0);
  const auto* p = static_cast<const Bytef*>(data);
  while (n > 0) {
    const uInt k = static_cast<uInt>(std::min<uint64_t>(n, 1u << 30));
    c = crc32(c, p, k);
    p += k;
    n -= k;
  }
  return static_cast<uint32_t>(c);
}

// The container (magic, version, header JSON, tensors) shared by model and ensemble files.
void write_container(const std::string& path, nlohmann::json h,
                     const std::map<std::string, torch::Tensor>& tensors);

std::map<std::string, torch::Tensor> module_tensors(const torch::nn::Module& m) {
  std::map<std::string, torch::Tensor> out;
  for (const auto& p : m.named_parameters())
    out[p.key()] = p.value().detach().to(torch::kCPU, torch::kFloat32).contiguous();
  for (const auto& b : m.named_buffers())
    out[b.key()] = b.value().detach().to(torch::kCPU, torch::kFloat32).contiguous();
  return out;
}

namespace {
// Copies t[name] into each parameter and buffer of m found there with the same shape; a missing or
// mis-shaped tensor is an error unless `partial`. Returns the number copied.
size_t copy_tensors(torch::nn::Module& m, const std::map<std::string, torch::Tensor>& t,
                    const std::string& source, bool partial) {
  torch::NoGradGuard ng;
  size_t used = 0;
  auto copy = [&](const std::string& name, torch::Tensor& dst) {
    auto it = t.find(name);
    if (it == t.end()) {
      if (partial) return;
      throw_error(source, "tensors", "a tensor named '" + name + "'", "none");
    }
    if (it->second.sizes() != dst.sizes()) {
      if (partial) return;
      throw_error(source, "tensors." + name, TG_STR("shape " << dst.sizes()),
                  TG_STR("shape " << it->second.sizes()));
    }
    dst.copy_(it->second);
    ++used;
  };
  for (auto& p : m.named_parameters()) copy(p.key(), p.value());
  for (auto& b : m.named_buffers()) copy(b.key(), b.value());
  return used;
}
}  // namespace

size_t load_matching_tensors(torch::nn::Module& m, const std::map<std::string, torch::Tensor>& t) {
  return copy_tensors(m, t, "", /*partial=*/true);
}

void load_module_tensors(torch::nn::Module& m, const std::map<std::string, torch::Tensor>& t,
                         const std::string& source) {
  const size_t used = copy_tensors(m, t, source, /*partial=*/false);
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
  if (!f.optimizer.is_null()) h["optimizer"] = f.optimizer;
  std::map<std::string, torch::Tensor> all = f.tensors;
  for (const auto& [name, t] : f.optimizer_tensors) all["optimizer." + name] = t;
  write_container(path, h, all);
}

void write_container(const std::string& path, nlohmann::json h,
                     const std::map<std::string, torch::Tensor>& tensors) {
  h["tensors"] = nlohmann::json::array();
  uint64_t offset = 0;
  for (const auto& [name, t] : tensors) {
    TG_CHECK(t.scalar_type() == torch::kFloat32 && t.is_contiguous() && t.device().is_cpu(),
             "tensor ", name, " must be contiguous CPU float32");
    uint64_t nb = static_cast<uint64_t>(t.numel()) * 4;
    h["tensors"].push_back({{"name", name},
                            {"dtype", "<f4"},
                            {"shape", t.sizes().vec()},
                            {"offset", offset},
                            {"bytes", nb},
                            {"crc32", crc32_of(t.data_ptr<float>(), nb)}});
    offset += nb;
  }
  std::string header = h.dump();
  AtomicFile out(path);
  auto& o = out.stream();
  o.write(kMagic, 8);
  put<uint32_t>(o, kModelFormatVersion);
  put<uint64_t>(o, header.size());
  o.write(header.data(), static_cast<std::streamsize>(header.size()));
  for (const auto& [name, t] : tensors)
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
  if (!h.is_object()) throw_error(path, "header", "a JSON object", h.type_name());
  if (h.contains("feature_schema_version") && !h["feature_schema_version"].is_number_unsigned())
    throw_error(path, "feature_schema_version", "an unsigned integer",
                h["feature_schema_version"].dump().substr(0, 40));
  uint32_t schema = h.value("feature_schema_version", 0u);
  if (schema != kFeatureSchemaVersion)
    throw_error(path, "feature_schema_version",
                TG_STR(kFeatureSchemaVersion << " (the features this build computes)"),
                TG_STR(schema << ": the model was trained on different features; retrain it"));
  *data_start = 8 + 4 + 8 + hlen;
  return h;
}

}  // namespace

namespace {
nlohmann::json read_model_header_impl(const std::string& path) {
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  if (!in) throw_error(path, "", "a readable model file", "cannot open");
  uint64_t size = static_cast<uint64_t>(in.tellg());
  in.seekg(0);
  uint64_t start = 0;
  return read_header(in, path, &start, size);
}
}  // namespace

namespace {

struct Container {
  nlohmann::json header;
  std::map<std::string, torch::Tensor> tensors;
};

Container read_container(const std::string& path) {
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  if (!in) throw_error(path, "", "a readable model file", "cannot open");
  uint64_t size = static_cast<uint64_t>(in.tellg());
  in.seekg(0);
  uint64_t start = 0;
  Container c;
  c.header = read_header(in, path, &start, size);
  const nlohmann::json table = c.header.value("tensors", nlohmann::json::array());
  if (!table.is_array()) throw_error(path, "tensors", "a list", table.type_name());
  const uint64_t data_bytes = size - start;
  // Check the whole table (types, sizes, ranges, overlaps) before allocating anything.
  struct Entry {
    std::string name;
    std::vector<int64_t> shape;
    uint64_t offset = 0, bytes = 0;
    int64_t crc = -1;
  };
  std::vector<Entry> entries;
  for (size_t i = 0; i < table.size(); ++i) {
    const nlohmann::json& t = table[i];
    Entry e;
    try {
      e.name = t.at("name").get<std::string>();
      e.shape = t.at("shape").get<std::vector<int64_t>>();
      e.offset = t.at("offset").get<uint64_t>();
      e.bytes = t.at("bytes").get<uint64_t>();
      if (t.contains("crc32")) e.crc = t["crc32"].get<uint32_t>();
      if (t.at("dtype").get<std::string>() != "<f4") throw std::runtime_error("dtype");
    } catch (const std::exception& ex) {
      throw_error(path, TG_STR("tensors[" << i << "]"),
                  "name, dtype \"<f4\", shape, offset, bytes (crc32)", ex.what());
    }
    const std::string field = "tensors." + e.name;
    if (e.name.empty() || e.shape.size() > 8)
      throw_error(path, field, "a named tensor of rank <= 8", TG_STR("rank " << e.shape.size()));
    uint64_t numel = 1;
    for (int64_t d : e.shape) {
      if (d < 0 || (d > 0 && numel > (uint64_t(1) << 40) / static_cast<uint64_t>(d)))
        throw_error(path, field, "dimensions >= 0 with fewer than 2^40 elements",
                    nlohmann::json(e.shape).dump());
      numel *= static_cast<uint64_t>(d);
    }
    if (e.bytes != numel * 4 || e.offset > data_bytes || e.bytes > data_bytes - e.offset)
      throw_error(path, field, "float32 data inside the file",
                  TG_STR(e.bytes << " bytes at offset " << e.offset << " (" << data_bytes
                                 << " bytes of tensor data)"));
    entries.push_back(std::move(e));
  }
  {
    std::vector<const Entry*> by_offset;
    for (const auto& e : entries) by_offset.push_back(&e);
    std::sort(by_offset.begin(), by_offset.end(),
              [](const Entry* a, const Entry* b) { return a->offset < b->offset; });
    for (size_t i = 1; i < by_offset.size(); ++i)
      if (by_offset[i]->offset < by_offset[i - 1]->offset + by_offset[i - 1]->bytes)
        throw_error(path, "tensors." + by_offset[i]->name, "data not overlapping another tensor's",
                    "overlap with " + by_offset[i - 1]->name);
  }
  for (const auto& e : entries) {
    const std::string field = "tensors." + e.name;
    if (c.tensors.count(e.name)) throw_error(path, field, "one tensor of that name", "two");
    auto tensor = torch::empty(e.shape, torch::kFloat32);
    in.seekg(static_cast<std::streamoff>(start + e.offset));
    in.read(reinterpret_cast<char*>(tensor.data_ptr<float>()),
            static_cast<std::streamsize>(e.bytes));
    if (!in) throw_error(path, field, "its data", "end of file");
    if (e.crc >= 0 && crc32_of(tensor.data_ptr<float>(), e.bytes) != static_cast<uint32_t>(e.crc))
      throw_error(path, field, TG_STR("CRC-32 " << e.crc << " (as written)"),
                  "other bytes (the file is damaged)");
    if (tensor.numel() > 0 && !torch::isfinite(tensor).all().item<bool>())
      throw_error(path, field, "finite weights", "NaN or infinity");
    c.tensors[e.name] = tensor;
  }
  return c;
}

// One model's part of a header (the top level of a model file, or an ensemble member entry).
ModelFile model_from_header(const nlohmann::json& h, const std::string& path) {
  ModelFile f;
  try {
    f.task = h.at("task").get<std::string>();
    f.normalizer = h.at("normalizer");
    f.preprocessing = h.at("preprocessing");
    f.training = h.at("training");
  } catch (const nlohmann::json::exception& e) {
    throw_error(path, "header", "task, normalizer, preprocessing and training", e.what());
  }
  if (f.task != "layout" && f.task != "tile")
    throw_error(path, "task", "layout | tile", "'" + f.task + "'");
  for (const auto& [key, part] :
       {std::pair<const char*, const nlohmann::json*>{"normalizer", &f.normalizer},
        {"preprocessing", &f.preprocessing},
        {"training", &f.training}})
    if (!part->is_object()) throw_error(path, key, "a JSON object", part->type_name());
  // Fields other code reads with a default: the right type or absent.
  auto expect = [&](const nlohmann::json& part, const char* where, const char* key, bool ok,
                    const char* type) {
    if (part.contains(key) && !ok)
      throw_error(path, std::string(where) + "." + key, type, part[key].dump().substr(0, 40));
  };
  const nlohmann::json& tr = f.training;
  const nlohmann::json& pp = f.preprocessing;
  expect(tr, "training", "collection", tr.contains("collection") && tr["collection"].is_string(),
         "a string");
  expect(tr, "training", "loss", tr.contains("loss") && tr["loss"].is_string(), "a string");
  expect(tr, "training", "weight_decay",
         tr.contains("weight_decay") && tr["weight_decay"].is_number(), "a number");
  expect(tr, "training", "updates", tr.contains("updates") && tr["updates"].is_number_integer(),
         "an integer");
  if (f.task == "tile")
    expect(pp, "preprocessing", "prune", pp.contains("prune") && pp["prune"].is_boolean(),
           "true | false");
  else if (pp.contains("prune"))
    reach_from_json(pp["prune"], path);
  expect(pp, "preprocessing", "repad", pp.contains("repad") && pp["repad"].is_boolean(),
         "true | false");
  if (!h.contains("model")) throw_error(path, "model", "hyper-parameters", "none");
  try {
    f.config = ModelConfig::from_json(h["model"]);
  } catch (const Error& e) {
    throw_error(path, "model", "valid hyper-parameters", e.what());
  }
  if ((f.config.task() == Kind::kTile) != (f.task == "tile"))
    throw_error(path, "model.name", "a " + f.task + " model",
                "'" + f.config.name + "' (the other task)");
  if (h.contains("optimizer")) {
    f.optimizer = h["optimizer"];
    const nlohmann::json& o = f.optimizer;
    if (!o.is_object() || (o.contains("steps") && !o["steps"].is_object()))
      throw_error(path, "optimizer", "{\"name\": \"adamw\", \"steps\": {...}}",
                  o.dump().substr(0, 60));
    const nlohmann::json steps = o.value("steps", nlohmann::json::object());
    for (const auto& [k, v] : steps.items())
      if (!v.is_number_integer()) throw_error(path, "optimizer.steps." + k, "an integer", v.dump());
  }
  return f;
}

LoadedNet make_net(ModelFile f, const std::string& path, torch::Device device) {
  LoadedNet n;
  // Every block holds at least one hidden x hidden/2 matrix: an architecture larger than the
  // weights the file declares is refused before it is allocated.
  const ModelConfig& c = f.config;
  uint64_t declared = 0;
  for (const auto& [name, t] : f.tensors) declared += static_cast<uint64_t>(t.numel());
  const uint64_t blocks = static_cast<uint64_t>(std::max(0, c.dense_layers - 1 + c.graph_layers));
  const uint64_t needed = blocks * static_cast<uint64_t>(c.hidden) * (c.hidden / 2);
  if (needed > declared)
    throw_error(path, "model",
                TG_STR("hyper-parameters matching the " << declared << " weights in the file"),
                TG_STR("hidden " << c.hidden << " with " << blocks << " blocks (at least " << needed
                                 << " weights)"));
  n.net = make_model(f.config);
  load_module_tensors(*n.net, f.tensors, path);
  n.net->to(device);
  n.net->eval();
  n.node_norm = FeatureNormalizer::from_json(f.normalizer, path);
  if (f.task == "tile")
    n.config_norm = TileConfigNormalizer::from_json(
        f.preprocessing.value("config_norm", nlohmann::json()), path);
  n.file = std::move(f);
  return n;
}

}  // namespace

namespace {
ModelFile load_model_file_impl(const std::string& path) {
  Container c = read_container(path);
  if (c.header.contains("ensemble"))
    throw_error(path, "ensemble", "a single model file here", "an ensemble of models");
  ModelFile f = model_from_header(c.header, path);
  for (auto& [name, t] : c.tensors) {
    if (name.rfind("optimizer.", 0) == 0)
      f.optimizer_tensors[name.substr(10)] = t;
    else
      f.tensors[name] = t;
  }
  return f;
}

LoadedModel load_model_impl(const std::string& path, torch::Device device) {
  Container c = read_container(path);
  LoadedModel m;
  m.path = path;
  m.device = device;
  if (!c.header.contains("ensemble")) {
    m.members.push_back(make_net(load_model_file_impl(path), path, device));
  } else {
    m.ensemble = true;
    const nlohmann::json& e = c.header["ensemble"];
    if (!e.contains("members") || !e["members"].is_array() || e["members"].empty())
      throw_error(path, "ensemble.members", "a non-empty list", e.dump().substr(0, 80));
    for (size_t i = 0; i < e["members"].size(); ++i) {
      const nlohmann::json& mj = e["members"][i];
      const std::string src = TG_STR(path << " (member " << i << ")");
      ModelFile f = model_from_header(mj, src);
      const std::string prefix = TG_STR("member" << i << "/");
      for (const auto& [name, t] : c.tensors) {
        if (name.rfind(prefix, 0) != 0) continue;
        const std::string rest = name.substr(prefix.size());
        if (rest.rfind("optimizer.", 0) == 0)
          f.optimizer_tensors[rest.substr(10)] = t;
        else
          f.tensors[rest] = t;
      }
      LoadedNet n = make_net(std::move(f), src, device);
      n.offset = mj.value("offset", 0.0);
      n.scale = mj.value("scale", 1.0);
      if (!std::isfinite(n.offset) || !std::isfinite(n.scale) || n.scale <= 0)
        throw_error(src, "scale", "a finite offset and a positive scale",
                    TG_STR(n.offset << ", " << n.scale));
      m.members.push_back(std::move(n));
    }
  }
  const ModelFile& f0 = m.members[0].file;
  m.task = f0.task == "tile" ? Kind::kTile : Kind::kLayout;
  m.reach = m.task == Kind::kLayout
                ? reach_from_json(f0.preprocessing.value("prune", nlohmann::json(true)), m.path)
                : Reach::whole();
  m.repad = f0.preprocessing.value("repad", true);
  m.collection = f0.training.value("collection", m.task == Kind::kTile ? "tile:xla" : "");
  return m;
}

// A header field of the wrong JSON type (e.g. "kind": []) makes nlohmann throw from wherever it is
// read; it is bad input like any other, so it leaves as tgraph::Error naming the file (found by
// fuzz_model_file).
template <typename F>
auto json_errors_as_input_errors(const std::string& path, F f) -> decltype(f()) {
  try {
    return f();
  } catch (const nlohmann::json::exception& e) {
    throw_error(path, "header", "fields of the types tgraph writes", e.what());
  }
}

}  // namespace

nlohmann::json read_model_header(const std::string& path) {
  return json_errors_as_input_errors(path, [&] { return read_model_header_impl(path); });
}

ModelFile load_model_file(const std::string& path) {
  return json_errors_as_input_errors(path, [&] { return load_model_file_impl(path); });
}

LoadedModel load_model(const std::string& path, torch::Device device) {
  return json_errors_as_input_errors(path, [&] { return load_model_impl(path, device); });
}

LoadedModel load_model(const std::string& path, torch::Device device, Kind expected_task) {
  LoadedModel m = load_model(path, device);
  if (m.task != expected_task)
    throw_error(path, "task", expected_task == Kind::kTile ? "a tile model" : "a layout model",
                m.task == Kind::kTile ? "a tile model" : "a layout model");
  return m;
}

namespace {

nlohmann::json member_header(const ModelFile& f) {
  nlohmann::json j = {{"task", f.task},
                      {"model", f.config.to_json()},
                      {"normalizer", f.normalizer},
                      {"preprocessing", f.preprocessing},
                      {"training", f.training}};
  if (!f.optimizer.is_null()) j["optimizer"] = f.optimizer;
  return j;
}

void write_ensemble(const std::string& path, const std::vector<ModelFile>& files,
                    const std::vector<std::pair<double, double>>& calibration,
                    const std::vector<std::string>& sources) {
  nlohmann::json h;
  h["magic"] = "TGRAPHMF";
  h["format_version"] = kModelFormatVersion;
  h["feature_schema_version"] = kFeatureSchemaVersion;
  h["ensemble"] = {{"members", nlohmann::json::array()},
                   {"combine", "mean of standardised scores"}};
  std::map<std::string, torch::Tensor> tensors;
  for (size_t i = 0; i < files.size(); ++i) {
    nlohmann::json mj = member_header(files[i]);
    mj["offset"] = calibration[i].first;
    mj["scale"] = calibration[i].second;
    if (i < sources.size()) mj["source"] = sources[i];
    h["ensemble"]["members"].push_back(mj);
    const std::string prefix = TG_STR("member" << i << "/");
    for (const auto& [name, t] : files[i].tensors) tensors[prefix + name] = t;
    for (const auto& [name, t] : files[i].optimizer_tensors)
      tensors[prefix + "optimizer." + name] = t;
  }
  // The top level says what the ensemble is for, like a single model's header.
  h["task"] = files[0].task;
  h["training"] = {{"collection", files[0].training.value("collection", "")},
                   {"members", files.size()}};
  write_container(path, h, tensors);
}

}  // namespace

void save_ensemble_file(const std::string& path, const std::vector<std::string>& members,
                        const std::vector<std::pair<double, double>>& calibration) {
  TG_CHECK(members.size() == calibration.size(), "one calibration per member");
  if (members.size() < 2)
    throw_error("ensemble", "members", "at least 2 model files", std::to_string(members.size()));
  std::vector<ModelFile> files;
  for (size_t i = 0; i < members.size(); ++i) {
    ModelFile f = load_model_file(members[i]);
    if (i > 0) {
      const ModelFile& first = files[0];
      auto mismatch = [&](const char* what, const std::string& a, const std::string& b) {
        throw_error(members[i], what, "the same as " + members[0] + " (" + a + ")", b);
      };
      if (f.task != first.task) mismatch("task", first.task, f.task);
      const std::string c0 = first.training.value("collection", ""),
                        c1 = f.training.value("collection", "");
      if (c0 != c1) mismatch("training.collection", c0, c1);
      nlohmann::json p0 = first.preprocessing, p1 = f.preprocessing;
      p0.erase("config_norm");
      p1.erase("config_norm");
      if (p0 != p1) mismatch("preprocessing", p0.dump(), p1.dump());
    }
    files.push_back(std::move(f));
  }
  write_ensemble(path, files, calibration, members);
}

void save_loaded_model(const std::string& path, const LoadedModel& m) {
  std::vector<ModelFile> files;
  std::vector<std::pair<double, double>> calibration;
  for (const LoadedNet& n : m.members) {
    ModelFile f = n.file;
    f.tensors = module_tensors(*n.net);
    files.push_back(std::move(f));
    calibration.emplace_back(n.offset, n.scale);
  }
  if (m.ensemble)
    write_ensemble(path, files, calibration, {});
  else
    save_model_file(path, files[0]);
}

}  // namespace tgraph
