#include "tgraph/featurize/featurize.h"

#include <google/protobuf/descriptor.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <numeric>
#include <set>
#include <system_error>

#include "proto/tuning.pb.h"
#include "tgraph/featurize/hlo_graph.h"
#include "tgraph/featurize/hlo_input.h"
#include "tgraph/io/npz.h"
#include "tgraph/util/error.h"

namespace tgraph::featurize {

std::string read_whole_file(const std::string& path, const std::string& what,
                            const std::string& readable) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) throw_error(path, "", what, "a directory");
  std::ifstream f(path, std::ios::binary);
  if (!f) throw_error(path, "", readable, std::strerror(errno));
  std::string bytes((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  if (f.bad()) throw_error(path, "", readable, "a read error");
  return bytes;
}

namespace {

namespace fs = std::filesystem;
namespace gp = google::protobuf;

std::string read_record_bytes(const std::string& path) {
  std::string bytes =
      read_whole_file(path, "a tuning record file (.pb)", "a readable tuning record file (.pb)");
  // No protobuf starts with 0x1f (field 3, wire type 7): these are gzip magic bytes.
  if (is_gzip(bytes)) bytes = gunzip(bytes, path);
  return bytes;
}

// ---- Locating the field of a parse failure ----
//
// libprotobuf only says whether a parse succeeded. To name the field, the bytes are walked again
// at the wire level, guided by the message descriptors, until the first structural problem: a
// truncated tag / varint / fixed value, a length running past its enclosing message, an invalid
// wire type or an unbalanced group.

struct WireProblem {
  std::string field, expected, found;
};

class WireChecker {
 public:
  // The message is `size` bytes at byte `base` of a file of `total` bytes (byte offsets in the
  // problems are the file's).
  WireChecker(const char* data, size_t size, size_t base, size_t total)
      : data_(reinterpret_cast<const uint8_t*>(data)), size_(size), base_(base), total_(total) {}

  // False (and *p filled) at the first problem of a message of type d spanning the whole buffer.
  bool check(const gp::Descriptor* d, const std::string& root, WireProblem* p) {
    size_t pos = 0;
    return message(d, 0, size_, root, 0, -1, &pos, p);
  }

 private:
  enum class Varint { kOk, kTruncated, kTooLong };

  Varint varint(size_t* pos, size_t end, uint64_t* v) const {
    *v = 0;
    for (int i = 0; i < 10; ++i) {
      if (*pos >= end) return Varint::kTruncated;
      const uint8_t b = data_[(*pos)++];
      *v |= static_cast<uint64_t>(b & 0x7f) << (7 * i);
      if (!(b & 0x80)) return Varint::kOk;
    }
    return Varint::kTooLong;
  }

  std::string left(size_t pos, size_t end) const {
    const bool file_end = end == size_ && base_ + size_ == total_;
    return TG_STR(end - pos << " bytes left in " << (file_end ? "the file" : "its message")
                            << " at byte " << base_ + pos << " of " << total_
                            << " (truncated or corrupt)");
  }

  bool fail(WireProblem* p, std::string field, std::string expected, std::string found) const {
    *p = {std::move(field), std::move(expected), std::move(found)};
    return false;
  }

  static bool packed_varints(const gp::FieldDescriptor* fd) {
    if (!fd || !fd->is_repeated()) return false;
    switch (fd->type()) {
      case gp::FieldDescriptor::TYPE_INT32:
      case gp::FieldDescriptor::TYPE_INT64:
      case gp::FieldDescriptor::TYPE_UINT32:
      case gp::FieldDescriptor::TYPE_UINT64:
      case gp::FieldDescriptor::TYPE_SINT32:
      case gp::FieldDescriptor::TYPE_SINT64:
      case gp::FieldDescriptor::TYPE_BOOL:
      case gp::FieldDescriptor::TYPE_ENUM:
        return true;
      default:
        return false;
    }
  }

  // Fields in [pos, end) of a message of type d (nullptr: an unknown field's payload). group >= 0:
  // inside a group of that field number, which must end with its end-group tag.
  bool message(const gp::Descriptor* d, size_t pos, size_t end, const std::string& path, int depth,
               int group, size_t* out_pos, WireProblem* p) const {
    if (depth > 100)  // libprotobuf's default recursion limit
      return fail(p, path, "messages nested at most 100 deep", "deeper nesting");
    std::map<int, int> seen;  // field number -> occurrences so far (repeated-field index)
    while (pos < end) {
      const size_t tag_at = pos;
      uint64_t tag = 0;
      Varint r = varint(&pos, end, &tag);
      if (r == Varint::kTruncated) return fail(p, path, "a complete field tag", left(tag_at, end));
      if (r == Varint::kTooLong)
        return fail(p, path, "a field tag",
                    TG_STR("an over-long varint at byte " << base_ + tag_at));
      const uint64_t number = tag >> 3;
      const int wire = static_cast<int>(tag & 7);
      if (number == 0 || number > 536870911)
        return fail(p, path, "a field number in [1, 2^29-1]",
                    TG_STR("field number " << number << " at byte " << base_ + tag_at));
      const int num = static_cast<int>(number);
      const gp::FieldDescriptor* fd = d ? d->FindFieldByNumber(num) : nullptr;
      std::string field = path + "." + (fd ? fd->name() : TG_STR("<field " << num << ">"));
      const int index = seen[num]++;
      // A packed list is one occurrence of the whole list: no [index] then.
      if (fd && fd->is_repeated() && !(wire == 2 && packed_varints(fd)))
        field += TG_STR("[" << index << "]");
      switch (wire) {
        case 0: {
          uint64_t v;
          r = varint(&pos, end, &v);
          if (r == Varint::kTruncated)
            return fail(p, field, "a complete varint", left(tag_at, end));
          if (r == Varint::kTooLong)
            return fail(p, field, "a varint of at most 10 bytes",
                        TG_STR("an over-long varint at byte " << base_ + tag_at));
          break;
        }
        case 1:
        case 5: {
          const size_t n = wire == 1 ? 8 : 4;
          if (end - pos < n) return fail(p, field, TG_STR(n << " bytes"), left(pos, end));
          pos += n;
          break;
        }
        case 2: {
          uint64_t len;
          const size_t len_at = pos;
          r = varint(&pos, end, &len);
          if (r != Varint::kOk)
            return fail(p, field, "a complete length prefix", left(len_at, end));
          if (len > end - pos) {
            // Cut short: a message field's available bytes usually show a deeper field that
            // breaks off, which names the place more precisely.
            size_t after;
            if (fd && fd->type() == gp::FieldDescriptor::TYPE_MESSAGE &&
                !message(fd->message_type(), pos, end, field, depth + 1, -1, &after, p))
              return false;
            return fail(p, field, TG_STR(len << " bytes"), left(pos, end));
          }
          const size_t stop = pos + static_cast<size_t>(len);
          if (fd && fd->type() == gp::FieldDescriptor::TYPE_MESSAGE) {
            size_t after;
            if (!message(fd->message_type(), pos, stop, field, depth + 1, -1, &after, p))
              return false;
          } else if (packed_varints(fd)) {
            size_t q = pos;
            while (q < stop) {
              uint64_t v;
              const size_t at = q;
              if (varint(&q, stop, &v) != Varint::kOk)
                return fail(p, field, "complete packed varints",
                            TG_STR("a broken varint at byte " << base_ + at));
            }
          }
          pos = stop;
          break;
        }
        case 3: {
          size_t after;
          if (!message(nullptr, pos, end, field, depth + 1, num, &after, p)) return false;
          pos = after;
          break;
        }
        case 4:
          if (group == num) {
            *out_pos = pos;
            return true;
          }
          return fail(p, path, "a field tag",
                      TG_STR("an end-group tag of field " << num << " at byte " << base_ + tag_at
                                                          << " with no such group open"));
        default:
          return fail(p, field, "a wire type in 0-5",
                      TG_STR("wire type " << wire << " at byte " << base_ + tag_at));
      }
    }
    if (group >= 0) return fail(p, path, "an end-group tag", left(pos, end));
    *out_pos = pos;
    return true;
  }

  const uint8_t* data_;
  size_t size_, base_, total_;
};

}  // namespace

void parse_message(const std::string& source, const char* data, size_t size, size_t base,
                   size_t total, gp::Message* msg, const std::string& root) {
  const std::string type = msg->GetDescriptor()->name();
  const std::string field = root.empty() ? type : root;
  if (size > static_cast<size_t>(INT_MAX))
    throw_error(source, field, "a message below 2 GiB (libprotobuf's limit)",
                TG_STR(size << " bytes"));
  if (msg->ParseFromArray(data, static_cast<int>(size))) return;
  WireProblem p;
  if (!WireChecker(data, size, base, total).check(msg->GetDescriptor(), field, &p))
    throw_error(source, p.field, p.expected, p.found);
  throw_error(source, field, "a serialized " + type + " protobuf",
              TG_STR(size << " bytes that libprotobuf cannot parse"));
}

namespace {

template <typename Msg>
void parse_record(const std::string& path, const std::string& bytes, Msg* msg) {
  if (bytes.size() > static_cast<size_t>(INT_MAX))
    throw_error(path, Msg::descriptor()->name(), "a record below 2 GiB (libprotobuf's limit)",
                TG_STR(bytes.size() << " bytes"));
  parse_message(path, bytes.data(), bytes.size(), 0, bytes.size(), msg);
}

// ---- Record kind ----

RecordKind detect_kind_bytes(const std::string& bytes) {
  // ModuleTuningData (layout): module = 1, fingerprint = 2, runs = 3, config_index_to_node = 4.
  // TuningData (tile): only modules = 1, repeated.
  std::set<int> fields;
  int ones = 0;
  size_t first_begin = 0, first_end = 0;
  scan_fields(bytes, 0, bytes.size(), [&](const WireField& w) {
    const int num = w.num;
    const size_t b = w.begin, e = w.end;
    fields.insert(num);
    if (num == 1 && ones++ == 0) first_begin = b, first_end = e;
    return true;
  });
  for (int f : {2, 3, 4})
    if (fields.count(f)) return RecordKind::kLayout;
  if (ones >= 2) return RecordKind::kTile;
  RecordKind kind = RecordKind::kLayout;
  if (ones == 1) {
    // A single field 1 holds an HloModuleProto (layout) or a ModuleTuningData (tile kernel). Their
    // field 2 differs in wire type: entry computation name (bytes) vs fingerprint (varint). Without
    // a field 2 (fingerprint 0), look at field 1: the module's name vs a whole HloModuleProto,
    // which starts with its own name tag (0x0a), a byte no module name starts with.
    int field2_wire = -1;
    size_t name_begin = 0, name_end = 0;
    scan_fields(bytes, first_begin, first_end, [&](const WireField& w) {
      const int num = w.num, wire = w.wire;
      const size_t b = w.begin, e = w.end;
      if (num == 1 && wire == 2 && name_end == 0) name_begin = b, name_end = e;
      if (num == 2) field2_wire = wire;
      return num != 2;
    });
    if (field2_wire >= 0)
      kind = field2_wire == 0 ? RecordKind::kTile : RecordKind::kLayout;
    else if (name_end > name_begin && bytes[name_begin] == '\x0a')
      kind = RecordKind::kTile;
  }
  // Undecidable input (empty, garbage, a module alone) is parsed as a layout record, whose errors
  // then say what is wrong or missing.
  return kind;
}

// ---- Featurization ----

std::string file_stem(const std::string& path) {
  return fs::path(path).stem().string();
}

std::string stem_or(const std::string& preferred, const std::string& fallback) {
  std::string s = sanitize_stem(preferred);
  return s.empty() ? sanitize_stem(fallback) : s;
}

void copy_graph(HloGraph&& hg, GraphBase* g) {
  g->num_nodes = hg.num_nodes;
  g->num_edges = static_cast<int64_t>(hg.edge_index.size() / 2);
  g->node_feat = std::move(hg.node_feat);
  g->node_opcode = std::move(hg.node_opcode);
  g->edge_index = std::move(hg.edge_index);
}

LayoutGraph layout_from(const xla::ModuleTuningData& rec, const std::string& src,
                        const FeaturizeOptions& opt, FeaturizeStats* st) {
  const std::string R = "ModuleTuningData";
  if (!rec.has_module()) throw_error(src, R + ".module", "an HloModuleProto (field 1)", "none");
  HloGraph hg = encode_hlo_module(rec.module(), {opt.minor_to_major_pad}, src, R + ".module");
  st->unknown_opcode_nodes += hg.unknown_opcode_nodes;
  const int64_t N = hg.num_nodes;

  LayoutGraph g;
  g.node_splits = std::move(hg.node_splits);
  copy_graph(std::move(hg), &g);

  // Configurable nodes: config index i configures node config_index_to_node[i]. The file lists
  // them ascending (node_config_ids), so config columns are permuted into node order.
  const int NC = rec.config_index_to_node_size();
  if (NC == 0)
    throw_error(src, R + ".config_index_to_node", "at least one configurable node",
                "an empty list");
  std::vector<int64_t> node_of(NC);
  for (int i = 0; i < NC; ++i) {
    const uint64_t v = rec.config_index_to_node(i);
    if (v >= static_cast<uint64_t>(N))
      throw_error(src, TG_STR(R << ".config_index_to_node[" << i << "]"),
                  TG_STR("a node index in [0, " << N - 1 << "]"), TG_STR(v));
    node_of[i] = static_cast<int64_t>(v);
  }
  std::vector<int> order(NC);  // order[k] = config index of the k-th configurable node
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](int a, int b) { return node_of[a] < node_of[b]; });
  for (int k = 1; k < NC; ++k)
    if (node_of[order[k]] == node_of[order[k - 1]])
      throw_error(
          src, TG_STR(R << ".config_index_to_node[" << order[k] << "]"), "distinct node indices",
          TG_STR("node " << node_of[order[k]] << " again (also at [" << order[k - 1] << "])"));
  g.num_config_nodes = NC;
  g.node_config_ids.resize(NC);
  for (int k = 0; k < NC; ++k) g.node_config_ids[k] = node_of[order[k]];

  const int64_t row_size = int64_t(NC) * kLayoutConfigDim;
  int64_t defaults = 0;
  st->runs_total += rec.runs_size();
  for (int r = 0; r < rec.runs_size(); ++r) {
    const auto& run = rec.runs(r);
    const std::string rf = TG_STR(R << ".runs[" << r << "]");
    if (run.error()) {
      ++st->runs_error;
      continue;
    }
    if (!run.has_profile() || run.profile().compute_time_ns() <= 0)
      throw_error(src, rf + ".profile.compute_time_ns", "a runtime > 0 ns in a run without error",
                  run.has_profile() ? TG_STR(run.profile().compute_time_ns()) : "no profile");
    // Repeated default runs carry no configuration of their own (all -1): one row is kept, so a
    // tiny record cannot make memory grow as runs x NC.
    if (run.is_default() && opt.default_config_all_minus_one && defaults > 0) {
      ++defaults;
      ++st->runs_default_repeats;
      continue;
    }
    const size_t base = g.node_config_feat.size();
    g.node_config_feat.resize(base + static_cast<size_t>(row_size), -1.f);  // [C, NC, 18]
    if (run.is_default()) ++defaults;
    if (!(run.is_default() && opt.default_config_all_minus_one)) {
      if (!run.has_module_config())
        throw_error(src, rf + ".module_config", "a layout configuration (HloModuleConfig)",
                    run.has_op_config() ? "an op_config (a tile record?)" : "none");
      const auto& cfg = run.module_config().layout_config().nodes();
      const std::string nf = rf + ".module_config.layout_config.nodes";
      if (cfg.size() != NC)
        throw_error(src, nf,
                    TG_STR(NC << " node configurations (one per config_index_to_node entry)"),
                    TG_STR(cfg.size()));
      for (int k = 0; k < NC; ++k) {
        const int j = order[k];
        const auto& node = cfg[j];
        if (node.tensors_size() > kLayoutTensors)
          throw_error(src, TG_STR(nf << "[" << j << "].tensors"),
                      TG_STR("at most " << kLayoutTensors << " tensors"),
                      TG_STR(node.tensors_size()));
        for (int t = 0; t < node.tensors_size(); ++t) {
          const auto& dims = node.tensors(t).dims();
          if (dims.size() > kLayoutDims)
            throw_error(src, TG_STR(nf << "[" << j << "].tensors[" << t << "].dims"),
                        TG_STR("at most " << kLayoutDims << " dimensions"), TG_STR(dims.size()));
          for (int d = 0; d < dims.size(); ++d) {
            if (dims[d] < 0 || dims[d] >= kLayoutDims)
              throw_error(src, TG_STR(nf << "[" << j << "].tensors[" << t << "].dims[" << d << "]"),
                          TG_STR("a dimension in [0, " << kLayoutDims - 1 << "]"), TG_STR(dims[d]));
            g.node_config_feat[base + (k * kLayoutTensors + t) * kLayoutDims + d] =
                static_cast<float>(dims[d]);
          }
        }
      }
    }
    g.config_runtime.push_back(run.profile().compute_time_ns());
  }
  g.num_configs = static_cast<int64_t>(g.config_runtime.size());
  if (g.num_configs == 0)
    throw_error(src, R + ".runs", "at least one run without error",
                TG_STR(rec.runs_size() << " runs, " << st->runs_error << " with error"));
  if (defaults == 0)
    throw_error(src, R + ".runs", "a run without error that has is_default set",
                TG_STR("none among " << g.num_configs << " valid runs"));
  st->runs_kept += g.num_configs;
  g.labelled = true;
  g.config_feat_loaded = true;
  g.stem = stem_or(opt.name.empty() ? rec.module().name() : opt.name, file_stem(src));
  if (g.stem.empty()) g.stem = "layout";
  return g;
}

std::vector<TileGraph> tiles_from(const xla::TuningData& rec, const std::string& src,
                                  const FeaturizeOptions& opt, FeaturizeStats* st) {
  if (rec.modules_size() == 0)
    throw_error(src, "TuningData.modules", "at least one kernel (ModuleTuningData)", "none");
  std::vector<TileGraph> out;
  std::set<std::string> stems;
  for (int k = 0; k < rec.modules_size(); ++k) {
    const auto& m = rec.modules(k);
    const std::string kf = TG_STR("TuningData.modules[" << k << "]");
    ++st->kernels_total;
    st->runs_total += m.runs_size();
    if (!m.has_module())
      throw_error(src, kf + ".module", "the kernel's HloModuleProto (field 1)", "none");
    // Like TpuGraphs: a kernel measured once, or with a run that has no tile config, carries no
    // ranking information and is left out.
    bool all_tiled = true;
    for (const auto& run : m.runs())
      all_tiled &= run.has_op_config() && run.op_config().has_tile_size_config();
    if (m.runs_size() < 2 || !all_tiled) {
      ++st->kernels_skipped;
      continue;
    }
    HloGraph hg = encode_hlo_module(m.module(), {opt.minor_to_major_pad}, src, kf + ".module");
    st->unknown_opcode_nodes += hg.unknown_opcode_nodes;
    TileGraph g;
    copy_graph(std::move(hg), &g);

    int64_t normalizer = -1;
    for (const auto& run : m.runs()) {
      if (run.error()) {
        ++st->runs_error;
        continue;
      }
      const int64_t t = run.profile().compute_time_ns();
      if (t <= 1) {  // TpuGraphs' threshold: 0 or 1 ns means "not measured"
        ++st->runs_no_runtime;
        continue;
      }
      if (normalizer < 0 && run.is_default()) normalizer = t;
      const size_t base = g.config_feat.size();
      g.config_feat.resize(base + kTileConfigDim);  // [C, 24]
      tile_config_features(run.op_config().tile_size_config(), &g.config_feat[base]);
      g.config_runtime.push_back(t);
    }
    g.num_configs = static_cast<int64_t>(g.config_runtime.size());
    if (normalizer < 0)
      throw_error(src, kf + ".runs", "a run without error, with a runtime, that has is_default set",
                  TG_STR("none among " << g.num_configs << " valid runs of " << m.runs_size()));
    g.config_runtime_normalizers.assign(g.config_runtime.size(), normalizer);
    g.labelled = true;
    st->runs_kept += g.num_configs;

    std::string name = stem_or(opt.name.empty() ? m.module().name() : opt.name, file_stem(src));
    if (name.empty()) name = "kernel";
    const std::string base =
        name + "_" + (m.fingerprint() ? signed_hex(m.fingerprint()) : std::to_string(k));
    // Unique whatever the names: "<base>_<k>" can itself be another kernel's name, so keep
    // counting until the stem is free.
    std::string stem = base;
    for (int n = 0; !stems.insert(stem).second; ++n)
      stem = base + "_" + std::to_string(k) + (n ? "_" + std::to_string(n) : "");
    g.stem = stem;
    out.push_back(std::move(g));
  }
  if (out.empty())
    throw_error(src, "TuningData.modules",
                "at least one kernel with 2 or more runs, each with a tile_size_config",
                TG_STR("none of " << rec.modules_size()));
  return out;
}

void check_stem(const std::string& stem) {
  TG_CHECK(!stem.empty() && stem.find('/') == std::string::npos, "bad output stem '", stem, "'");
}

}  // namespace

std::string sanitize_stem(const std::string& s) {
  std::string out = s;
  for (char& c : out) {
    const bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                    c == '.' || c == '_' || c == '-';
    if (!ok) c = '_';
  }
  // "", "." and ".." are not usable file names.
  if (out.find_first_not_of('.') == std::string::npos) return "";
  return out;
}

std::string signed_hex(uint64_t fingerprint) {
  const bool negative = fingerprint >> 63;
  const uint64_t magnitude = negative ? (~fingerprint + 1) : fingerprint;
  static const char* kDigits = "0123456789abcdef";
  std::string hex;
  uint64_t m = magnitude;
  do {
    hex.insert(hex.begin(), kDigits[m & 15]);
    m >>= 4;
  } while (m);
  return negative ? "-" + hex : hex;
}

RecordKind detect_record_kind(const std::string& path) {
  return detect_kind_bytes(read_record_bytes(path));
}

FeaturizedRecord featurize_record(const std::string& path, const FeaturizeOptions& opt) {
  const std::string bytes = read_record_bytes(path);
  FeaturizedRecord out;
  out.source = path;
  out.kind = opt.kind == RecordKind::kAuto ? detect_kind_bytes(bytes) : opt.kind;
  if (out.kind == RecordKind::kLayout) {
    xla::ModuleTuningData rec;
    parse_record(path, bytes, &rec);
    out.layouts.push_back(layout_from(rec, path, opt, &out.stats));
  } else {
    xla::TuningData rec;
    parse_record(path, bytes, &rec);
    out.tiles = tiles_from(rec, path, opt, &out.stats);
  }
  return out;
}

std::vector<LayoutGraph> featurize_layout_record(const std::string& path,
                                                 const FeaturizeOptions& opt) {
  FeaturizeOptions o = opt;
  o.kind = RecordKind::kLayout;
  return featurize_record(path, o).layouts;
}

std::vector<TileGraph> featurize_tile_record(const std::string& path, const FeaturizeOptions& opt) {
  FeaturizeOptions o = opt;
  o.kind = RecordKind::kTile;
  return featurize_record(path, o).tiles;
}

void write_layout_npz(const LayoutGraph& g, const std::string& path, int level) {
  const int64_t N = g.num_nodes, E = g.num_edges, NC = g.num_config_nodes, C = g.num_configs;
  TG_CHECK(g.config_feat_loaded &&
               static_cast<int64_t>(g.node_config_feat.size()) == C * NC * kLayoutConfigDim,
           "layout graph without its node_config_feat");
  NpzWriter w(path, level);
  w.add("node_feat", g.node_feat, {N, kNodeFeatDim});
  w.add("node_opcode", g.node_opcode, {N});
  w.add("edge_index", g.edge_index, {E, 2});
  w.add("node_config_feat", g.node_config_feat, {C, NC, kLayoutConfigDim});
  w.add("node_config_ids", g.node_config_ids, {NC});
  w.add("config_runtime", g.config_runtime, {C});
  w.add("node_splits", g.node_splits, {1, static_cast<int64_t>(g.node_splits.size())});
  w.commit();
}

void write_tile_npz(const TileGraph& g, const std::string& path, int level) {
  const int64_t N = g.num_nodes, E = g.num_edges, C = g.num_configs;
  NpzWriter w(path, level);
  w.add("node_feat", g.node_feat, {N, kNodeFeatDim});
  w.add("node_opcode", g.node_opcode, {N});
  w.add("edge_index", g.edge_index, {E, 2});
  w.add("config_feat", g.config_feat, {C, kTileConfigDim});
  w.add("config_runtime", g.config_runtime, {C});
  w.add("config_runtime_normalizers", g.config_runtime_normalizers, {C});
  w.commit();
}

std::vector<std::string> write_featurized(const FeaturizedRecord& r, const std::string& out_dir,
                                          int level) {
  std::error_code ec;
  fs::create_directories(out_dir, ec);
  if (ec || !fs::is_directory(out_dir))
    throw_error(out_dir, "--out", "a writable output directory",
                ec ? ec.message() : "not a directory");
  std::set<std::string> stems;
  for (const auto& g : r.layouts) check_stem(g.stem), stems.insert(g.stem);
  for (const auto& g : r.tiles) check_stem(g.stem), stems.insert(g.stem);
  TG_CHECK(stems.size() == r.layouts.size() + r.tiles.size(), "duplicate output stems");

  std::vector<std::string> written;
  try {
    for (const auto& g : r.layouts) {
      const std::string p = (fs::path(out_dir) / (g.stem + ".npz")).string();
      write_layout_npz(g, p, level);
      written.push_back(p);
    }
    for (const auto& g : r.tiles) {
      const std::string p = (fs::path(out_dir) / (g.stem + ".npz")).string();
      write_tile_npz(g, p, level);
      written.push_back(p);
    }
  } catch (...) {
    for (const auto& p : written) fs::remove(p, ec);  // best effort: leave no partial output
    throw;
  }
  return written;
}

}  // namespace tgraph::featurize
