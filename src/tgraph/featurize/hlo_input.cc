#include "tgraph/featurize/hlo_input.h"

#include <google/protobuf/io/tokenizer.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>
#include <google/protobuf/text_format.h>
#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <nlohmann/json.hpp>
#include <system_error>
#include <unordered_map>

#include "proto/tuning.pb.h"
#include "tgraph/featurize/featurize.h"
#include "tgraph/featurize/hlo_graph.h"
#include "tgraph/featurize/opcodes.h"
#include "tgraph/util/atomic_file.h"
#include "tgraph/util/error.h"

namespace tgraph::featurize {

namespace {

namespace fs = std::filesystem;
namespace gp = google::protobuf;

const char* const kWhatWeRead =
    "an HLO dump (HloProto, HloModuleProto or HloSnapshot protobuf, binary or text format, "
    "optionally gzip) or a tuning record (ModuleTuningData / TuningData)";

const char* const kHowToDump =
    "dump a proto instead: XLA_FLAGS=\"--xla_dump_to=DIR --xla_dump_hlo_as_proto\" (files "
    "*.hlo.pb), or JAX jax.jit(f).lower(*args).compiler_ir('hlo').as_serialized_hlo_module_proto()"
    ", or TF tf.function(f).experimental_get_compiler_ir(*args)(stage='hlo_serialized')";

std::string read_file(const std::string& path) {
  return read_whole_file(path, "an HLO dump file", "a readable HLO dump file");
}

std::string kind_name(HloFileKind k) {
  switch (k) {
    case HloFileKind::kHloModule:
      return "HloModuleProto";
    case HloFileKind::kHloProto:
      return "HloProto";
    case HloFileKind::kHloSnapshot:
      return "HloSnapshot";
    case HloFileKind::kTuningLayout:
      return "ModuleTuningData layout record";
    case HloFileKind::kTuningTile:
      return "TuningData tile record";
  }
  return "?";
}

bool is_tuning(HloFileKind k) {
  return k == HloFileKind::kTuningLayout || k == HloFileKind::kTuningTile;
}

// ---- Binary protobuf: wire-level classification ----

bool identifier_like_opcode(const std::string& b, size_t begin, size_t end) {
  if (end <= begin || end - begin > 64) return false;
  if (!(b[begin] >= 'a' && b[begin] <= 'z')) return false;
  for (size_t i = begin; i < end; ++i) {
    const char c = b[i];
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_')) return false;
  }
  return true;
}

bool printable(const std::string& b, size_t begin, size_t end) {
  for (size_t i = begin; i < end; ++i) {
    const auto c = static_cast<unsigned char>(b[i]);
    if (c < 0x20 || c == 0x7f) return false;
  }
  return true;
}

// An HloInstructionProto: an opcode (field 2) that reads like one ("get-tuple-element").
bool looks_like_instruction(const std::string& b, size_t begin, size_t end) {
  bool opcode = false, bad = false;
  scan_fields(b, begin, end, [&](const WireField& f) {
    if (f.num == 2) {
      opcode = f.wire == 2 && identifier_like_opcode(b, f.begin, f.end);
      bad = !opcode;
    } else if ((f.num == 1 || f.num == 3) && f.wire != 2) {
      bad = true;  // name, shape
    } else if (f.num == 35 && f.wire != 0) {
      bad = true;  // id
    }
    return !bad && !opcode;
  });
  return opcode && !bad;
}

// An HloComputationProto: 1 if its first instructions (up to 8) look like instructions, 0 if it
// has none, -1 if it is not one.
int check_computation(const std::string& b, size_t begin, size_t end) {
  int seen = 0;
  bool bad = false;
  scan_fields(b, begin, end, [&](const WireField& f) {
    if (f.num == 2) {
      if (f.wire != 2 || !looks_like_instruction(b, f.begin, f.end)) bad = true;
      ++seen;
    } else if (f.num == 1 && f.wire != 2) {
      bad = true;
    } else if ((f.num == 5 || f.num == 6) && f.wire != 0) {
      bad = true;  // id, root_id
    }
    return !bad && seen < 8;
  });
  return bad ? -1 : seen > 0 ? 1 : 0;
}

// An HloModuleProto: a printable name (field 1) and a computation (field 3) whose instructions
// have identifier-like opcodes. An HloProto or a record parsed as a module "succeeds" with its
// module bytes as the name (not printable: they start with the name tag 0x0a), so libprotobuf's
// verdict alone says nothing. Tolerates a cut-short range (a truncated file).
bool looks_like_module(const std::string& b, size_t begin, size_t end) {
  bool name = false, computation = false, bad = false;
  int checked = 0;
  scan_fields(b, begin, end, [&](const WireField& f) {
    switch (f.num) {
      case 1:  // name
        name = f.wire == 2 && f.end > f.begin && printable(b, f.begin, f.end);
        bad = !name;
        break;
      case 2:  // entry_computation_name
        bad = f.wire != 2;
        break;
      case 3:  // computations
        if (f.wire != 2) {
          bad = true;
        } else if (!computation && checked < 4) {
          ++checked;
          const int c = check_computation(b, f.begin, f.end);
          bad = c < 0;
          computation = c > 0;
        }
        break;
      case 5:  // id
      case 6:  // entry_computation_id
        bad = f.wire != 0;
        break;
      default:
        break;
    }
    return !bad && !(name && computation);
  });
  return name && computation && !bad;
}

// The top level of a message: field counts, the first field 1 and whether every field was whole.
struct TopLevel {
  bool complete = false;
  int count[8] = {};  // occurrences of fields 1-7 (index = field number)
  int wire2 = -1;     // wire type of the first field 2
  int other = 0;      // fields numbered 8 or more
  WireField first;    // the first field 1 (wire type 2), if any
  bool has_first = false;
};

TopLevel top_level(const std::string& b, size_t begin, size_t end) {
  TopLevel t;
  t.complete = scan_fields(b, begin, end, [&](const WireField& f) {
    if (f.num < 8) {
      ++t.count[f.num];
      if (f.num == 2 && t.wire2 < 0) t.wire2 = f.wire;
    } else {
      ++t.other;
    }
    if (f.num == 1 && f.wire == 2 && !t.has_first) t.first = f, t.has_first = true;
    return true;
  });
  return t;
}

// Is t (a ModuleTuningData candidate whose field 1 is a module) a layout record rather than an
// HloProto? An HloProto has only hlo_module = 1 and buffer_assignment = 3 (2 is reserved); a
// record has fingerprint = 2 (varint), runs = 3 (repeated) and config_index_to_node = 4.
bool record_fields(const TopLevel& t) {
  return t.count[2] > 0 || t.count[4] > 0 || t.count[3] > 1;
}

struct BinaryKind {
  bool known = false;
  HloFileKind kind = HloFileKind::kHloModule;
  bool top_complete = false;
};

BinaryKind classify_binary(const std::string& b) {
  BinaryKind r;
  const TopLevel top = top_level(b, 0, b.size());
  r.top_complete = top.complete;
  auto set = [&](HloFileKind k) {
    r.known = true;
    r.kind = k;
    return r;
  };
  if (looks_like_module(b, 0, b.size())) return set(HloFileKind::kHloModule);
  if (!top.has_first) return r;
  const WireField& f1 = top.first;
  if (looks_like_module(b, f1.begin, f1.end))
    return set(record_fields(top) ? HloFileKind::kTuningLayout : HloFileKind::kHloProto);
  const TopLevel inner = top_level(b, f1.begin, f1.end);
  if (!inner.has_first || !looks_like_module(b, inner.first.begin, inner.first.end)) return r;
  // Field 1 is an HloProto (snapshot) or a ModuleTuningData (the first kernel of a tile record).
  if (top.count[1] > 1) return set(HloFileKind::kTuningTile);
  if (top.count[2] || top.count[3] || top.count[4]) return set(HloFileKind::kHloSnapshot);
  return set(record_fields(inner) ? HloFileKind::kTuningTile : HloFileKind::kHloSnapshot);
}

// ---- Text ----

bool text_like(const std::string& b) {
  const size_t n = std::min<size_t>(b.size(), 1 << 16);
  for (size_t i = 0; i < n; ++i) {
    const auto c = static_cast<unsigned char>(b[i]);
    if ((c < 0x20 && c != '\t' && c != '\n' && c != '\r' && c != '\f' && c != '\v') || c == 0x7f)
      return false;
  }
  return n > 0;
}

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

// Position of the first character that is neither white space nor in a comment line (# or //).
size_t skip_space_and_comments(const std::string& b, size_t pos) {
  if (pos == 0 && b.compare(0, 3, "\xef\xbb\xbf") == 0) pos = 3;  // UTF-8 byte order mark
  while (pos < b.size()) {
    if (is_space(b[pos])) {
      ++pos;
    } else if (b[pos] == '#' || b.compare(pos, 2, "//") == 0) {
      const size_t nl = b.find('\n', pos);
      pos = nl == std::string::npos ? b.size() : nl + 1;
    } else {
      break;
    }
  }
  return pos;
}

bool starts_with_at(const std::string& b, size_t pos, const char* s) {
  return b.compare(pos, std::strlen(s), s) == 0;
}

bool ident_char(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
}

// The identifier at pos when a text-format field follows ("name:", "hlo_module {"), else "".
std::string field_name_at(const std::string& b, size_t pos) {
  size_t e = pos;
  if (e >= b.size() ||
      !((b[e] >= 'A' && b[e] <= 'Z') || (b[e] >= 'a' && b[e] <= 'z') || b[e] == '_'))
    return "";
  while (e < b.size() && ident_char(b[e])) ++e;
  size_t q = e;
  while (q < b.size() && (b[q] == ' ' || b[q] == '\t' || b[q] == '\r' || b[q] == '\n')) ++q;
  if (q < b.size() && (b[q] == ':' || b[q] == '{' || b[q] == '<')) return b.substr(pos, e - pos);
  return "";
}

[[noreturn]] void stablehlo_error(const std::string& source, const std::string& form) {
  throw_error(
      source, "", "an HLO dump (HloProto, HloModuleProto or HloSnapshot protobuf)",
      "StableHLO / MLIR (" + form + "), the program before XLA compiles it to HLO; " + kHowToDump);
}

// Decides what a text file is from its first token; throws for everything but a text-format
// HloProto / HloSnapshot / HloModuleProto.
HloFileKind classify_text(const std::string& b, const std::string& source) {
  const size_t p = skip_space_and_comments(b, 0);
  if (starts_with_at(b, p, "HloModule") && p + 9 < b.size() && is_space(b[p + 9]))
    throw_error(source, "", "an HLO dump as a protobuf (HloProto, HloModuleProto or HloSnapshot)",
                std::string("an HLO text dump (\"HloModule ...\"), which tgraph does not parse; ") +
                    kHowToDump);
  if (starts_with_at(b, p, "func.func") || starts_with_at(b, p, "\"builtin.module\"") ||
      starts_with_at(b, p, "stablehlo.") || starts_with_at(b, p, "mhlo."))
    stablehlo_error(source, "text");
  if (starts_with_at(b, p, "module") && p + 6 < b.size() &&
      (b[p + 6] == '@' || b[p + 6] == '{' || is_space(b[p + 6]))) {
    // "module @jit_f attributes {...} {" and "module {" are MLIR modules, unless "module {" opens
    // a text-format ModuleTuningData ("module { name: ...").
    const size_t q = skip_space_and_comments(b, p + 6);
    if (!starts_with_at(b, q, "{") || field_name_at(b, skip_space_and_comments(b, q + 1)).empty())
      stablehlo_error(source, "text");
  }
  const std::string name = field_name_at(b, p);
  static const char* const kModuleFields[] = {"name",
                                              "entry_computation_name",
                                              "entry_computation_id",
                                              "computations",
                                              "host_program_shape",
                                              "id",
                                              "schedule",
                                              "input_output_alias",
                                              "buffer_donor",
                                              "cross_program_prefetches",
                                              "is_dynamic",
                                              "spmd_output_sharding",
                                              "spmd_parameters_shardings",
                                              "use_auto_spmd_partitioning",
                                              "profile_info",
                                              "device_assignment",
                                              "stack_frame_index",
                                              "frontend_attributes"};
  if (name == "hlo_module" || name == "buffer_assignment") return HloFileKind::kHloProto;
  if (name == "hlo" || name == "arguments" || name == "result" || name == "execution_platform")
    return HloFileKind::kHloSnapshot;
  for (const char* f : kModuleFields)
    if (name == f) return HloFileKind::kHloModule;
  if (name == "module" || name == "modules" || name == "fingerprint" || name == "runs" ||
      name == "config_index_to_node")
    throw_error(source, "", kWhatWeRead,
                "a text-format tuning record; tgraph reads tuning records in binary protobuf "
                "form");
  std::string start = b.substr(p, std::min<size_t>(40, b.size() - p));
  for (char& c : start)
    if (c == '\n' || c == '\r' || c == '\t') c = ' ';
  throw_error(source, "", kWhatWeRead,
              p >= b.size() ? std::string("a text file with nothing but white space and comments")
                            : "a text file starting with \"" + start +
                                  "\" (text-format protos start with a field such as "
                                  "hlo_module {, hlo { or name:)");
}

class TextErrors : public gp::io::ErrorCollector {
 public:
  void AddError(int line, gp::io::ColumnNumber column, const std::string& message) override {
    if (first.empty())
      first = TG_STR("line " << line + 1 << " column " << column + 1 << ": " << message);
  }
  // Unknown fields (real dumps carry many this file does not declare) are warnings: ignored.
  void AddWarning(int, gp::io::ColumnNumber, const std::string&) override {}
  std::string first;
};

void parse_text(const std::string& source, const std::string& text, gp::Message* msg) {
  const std::string type = msg->GetDescriptor()->name();
  if (text.size() > kMaxProtoBytes)
    throw_error(source, type, "a text-format message below 2 GiB (libprotobuf's limit)",
                TG_STR(text.size() << " bytes"));
  TextErrors errors;
  gp::TextFormat::Parser parser;
  parser.AllowUnknownField(true);
  parser.AllowUnknownExtension(true);
  parser.AllowFieldNumber(true);  // "7: ..." as TextFormat prints fields it does not know
  parser.RecordErrorsTo(&errors);
  if (!parser.ParseFromString(text, msg))
    throw_error(source, type + " (text format)", "a valid text-format " + type,
                errors.first.empty() ? std::string("a parse error") : errors.first);
}

// ---- Reading a dump ----

struct Dump {
  HloFileInfo info;
  bool known = false;        // a kind was recognized
  bool top_complete = true;  // binary: the top-level message is whole
  std::string data;          // decompressed bytes
};

Dump sniff(std::string bytes, const std::string& source, size_t max_bytes) {
  Dump d;
  if (is_gzip(bytes)) {
    d.info.gzip = true;
    bytes = gunzip(bytes, source, max_bytes);
  }
  d.data = std::move(bytes);
  const std::string& b = d.data;
  if (b.empty())
    throw_error(source, "", kWhatWeRead,
                d.info.gzip ? "gzip data that inflates to nothing" : "an empty file");
  if (b.compare(0, 4, "ML\xefR") == 0) stablehlo_error(source, "MLIR bytecode");
  if (text_like(b)) {
    d.info.text_format = true;
    d.info.kind = classify_text(b, source);
    d.known = true;
    return d;
  }
  const BinaryKind k = classify_binary(b);
  d.known = k.known;
  d.top_complete = k.top_complete;
  d.info.kind = k.kind;
  return d;
}

[[noreturn]] void unknown_binary(const Dump& d, const std::string& source) {
  std::string head;
  for (size_t i = 0; i < std::min<size_t>(8, d.data.size()); ++i) {
    char buf[4];
    std::snprintf(buf, sizeof buf, "%02x", static_cast<unsigned char>(d.data[i]));
    head += (i ? " " : "") + std::string(buf);
  }
  throw_error(source, "", kWhatWeRead,
              TG_STR(d.data.size() << " bytes" << (d.info.gzip ? " (after gzip)" : "")
                                   << " that are none of these (starting " << head << ")"));
}

[[noreturn]] void tuning_record_error(const Dump& d, const std::string& source) {
  throw_error(source, "", "an HLO dump (HloProto, HloModuleProto or HloSnapshot)",
              "a " + kind_name(d.info.kind) +
                  ": featurize it as a record (`tgraph featurize FILE --out DIR`, "
                  "featurize_record), which keeps its measured runs");
}

// The module of a recognized dump, and its field path for error messages.
struct Module {
  xla::HloModuleProto proto;
  std::string field;
};

Module extract_module(Dump& d, const std::string& source) {
  Module m;
  const std::string& b = d.data;
  const size_t total = b.size();
  if (d.info.text_format) {
    switch (d.info.kind) {
      case HloFileKind::kHloModule:
        parse_text(source, b, &m.proto);
        m.field = "HloModuleProto";
        break;
      case HloFileKind::kHloProto: {
        xla::HloProto p;
        parse_text(source, b, &p);
        if (!p.has_hlo_module())
          throw_error(source, "HloProto.hlo_module", "the module (hlo_module { ... })", "none");
        m.proto.Swap(p.mutable_hlo_module());
        m.field = "HloProto.hlo_module";
        break;
      }
      default: {
        xla::HloSnapshot s;
        parse_text(source, b, &s);
        if (!s.has_hlo() || !s.hlo().has_hlo_module())
          throw_error(source, s.has_hlo() ? "HloSnapshot.hlo.hlo_module" : "HloSnapshot.hlo",
                      "the module (hlo { hlo_module { ... } })", "none");
        m.proto.Swap(s.mutable_hlo()->mutable_hlo_module());
        m.field = "HloSnapshot.hlo.hlo_module";
        break;
      }
    }
    return m;
  }
  // Binary. A singular message field that occurs once is parsed from its own bytes (so that the
  // buffer assignment or a snapshot's literals are not copied as unknown fields); several
  // occurrences merge, so then the enclosing message is parsed whole.
  switch (d.info.kind) {
    case HloFileKind::kHloModule:
      m.field = "HloModuleProto";
      parse_message(source, b.data(), total, 0, total, &m.proto, m.field);
      break;
    case HloFileKind::kHloProto: {
      const TopLevel top = top_level(b, 0, total);
      if (top.count[1] == 1 && top.first.complete) {
        m.field = "HloProto.hlo_module";
        parse_message(source, b.data() + top.first.begin, top.first.end - top.first.begin,
                      top.first.begin, total, &m.proto, m.field);
      } else {
        xla::HloProto p;
        parse_message(source, b.data(), total, 0, total, &p);
        m.proto.Swap(p.mutable_hlo_module());
        m.field = "HloProto.hlo_module";
      }
      break;
    }
    default: {  // kHloSnapshot
      const TopLevel top = top_level(b, 0, total);
      const TopLevel inner = top_level(b, top.first.begin, top.first.end);
      m.field = "HloSnapshot.hlo.hlo_module";
      if (top.count[1] == 1 && top.first.complete && inner.count[1] == 1 && inner.first.complete) {
        parse_message(source, b.data() + inner.first.begin, inner.first.end - inner.first.begin,
                      inner.first.begin, total, &m.proto, m.field);
      } else if (top.count[1] == 1 && top.first.complete) {
        xla::HloProto p;
        parse_message(source, b.data() + top.first.begin, top.first.end - top.first.begin,
                      top.first.begin, total, &p, "HloSnapshot.hlo");
        m.proto.Swap(p.mutable_hlo_module());
      } else {
        xla::HloSnapshot s;
        parse_message(source, b.data(), total, 0, total, &s);
        m.proto.Swap(s.mutable_hlo()->mutable_hlo_module());
      }
      break;
    }
  }
  return m;
}

// ---- Featurizing the module ----

// Writes the minor_to_major of `shape` to out[0..5] (left at -1 for a tuple, a shape without a
// layout, or rank > 6).
void layout_slot(const xla::ShapeProto& shape, const std::string& source, const std::string& field,
                 float* out) {
  if (shape.element_type() == xla::TUPLE || shape.tuple_shapes_size() > 0 || !shape.has_layout())
    return;
  const int rank = shape.dimensions_size();
  const auto& m2m = shape.layout().minor_to_major();
  if (rank > kLayoutDims || m2m.empty()) return;
  bool ok = m2m.size() == rank;
  std::vector<bool> seen(rank, false);
  for (int i = 0; ok && i < m2m.size(); ++i) {
    const int64_t v = m2m[i];
    ok = v >= 0 && v < rank && !seen[v];
    if (ok) seen[v] = true;
  }
  if (!ok) {
    std::string found;
    for (int i = 0; i < m2m.size(); ++i) found += (i ? "," : "") + std::to_string(m2m[i]);
    throw_error(source, field + ".shape.layout.minor_to_major",
                TG_STR("a permutation of the shape's " << rank << " dimensions"),
                "[" + found + "]");
  }
  for (int i = 0; i < rank; ++i) out[i] = static_cast<float>(m2m[i]);
}

std::string file_stem(const std::string& path) {
  return fs::path(path).stem().string();
}

ModuleGraph build(Module&& mod, const HloFileInfo& info, const std::string& source,
                  const ModuleGraphOptions& opt) {
  const xla::HloModuleProto& module = mod.proto;
  const std::string& field = mod.field;
  if (module.computations_size() == 0)
    throw_error(source, field + ".computations", "at least one computation with instructions",
                "none");
  HloGraph hg = encode_hlo_module(module, {opt.minor_to_major_pad}, source, field);

  ModuleGraph out;
  out.info = info;
  out.module_name = module.name();
  out.unknown_opcode_nodes = hg.unknown_opcode_nodes;
  const int64_t N = hg.num_nodes;
  out.node_names.reserve(static_cast<size_t>(N));

  // Configurable nodes (node order = computations in proto order, instructions in stored order,
  // as encode_hlo_module numbers them) and the module's own layouts for them. Operand ids were
  // checked by encode_hlo_module.
  LayoutGraph& g = out.graph;
  std::vector<float> row;
  int64_t node = 0;
  for (int c = 0; c < module.computations_size(); ++c) {
    const auto& comp = module.computations(c);
    std::unordered_map<int64_t, int> index_of;
    index_of.reserve(comp.instructions_size());
    for (int i = 0; i < comp.instructions_size(); ++i)
      index_of.emplace(comp.instructions(i).id(), i);
    const std::string cfield = TG_STR(field << ".computations[" << c << "]");
    for (int i = 0; i < comp.instructions_size(); ++i, ++node) {
      const auto& inst = comp.instructions(i);
      out.node_names.push_back(inst.name());
      const std::string& op = inst.opcode();
      const bool conv_or_dot = op == "convolution" || op == "dot";
      if (!conv_or_dot && op != "reshape") continue;
      g.node_config_ids.push_back(node);
      const size_t base = row.size();
      row.resize(base + kLayoutConfigDim, -1.f);
      const std::string ifield = TG_STR(cfield << ".instructions[" << i << "]");
      layout_slot(inst.shape(), source, ifield, &row[base]);
      for (int k = 0; k < (conv_or_dot ? 2 : 1) && k < inst.operand_ids_size(); ++k) {
        const int j = index_of.at(inst.operand_ids(k));
        layout_slot(comp.instructions(j).shape(), source,
                    TG_STR(cfield << ".instructions[" << j << "]"),
                    &row[base + (k + 1) * kLayoutDims]);
      }
    }
  }
  TG_CHECK(node == N, "numbered ", node, " nodes, the encoder ", N);
  const int64_t NC = static_cast<int64_t>(g.node_config_ids.size());
  if (NC == 0)
    throw_error(source, field,
                "at least one configurable node (a convolution, dot or reshape instruction, the "
                "TpuGraphs rule)",
                TG_STR("none among its " << N << " instructions: nothing to rank"));

  g.num_config_nodes = NC;
  g.node_config_feat = std::move(row);  // [1, NC, 18]
  g.config_runtime = {0};
  g.num_configs = 1;
  g.labelled = false;
  g.config_feat_loaded = true;
  g.node_splits = std::move(hg.node_splits);
  g.num_nodes = N;
  g.num_edges = static_cast<int64_t>(hg.edge_index.size() / 2);
  g.node_feat = std::move(hg.node_feat);
  g.node_opcode = std::move(hg.node_opcode);
  g.edge_index = std::move(hg.edge_index);
  g.stem = sanitize_stem(opt.name.empty() ? module.name() : opt.name);
  if (g.stem.empty()) g.stem = sanitize_stem(file_stem(source));
  if (g.stem.empty()) g.stem = "module";
  return out;
}

ModuleGraph featurize_dump(Dump& d, const std::string& source, const ModuleGraphOptions& opt) {
  if (!d.known) unknown_binary(d, source);
  if (is_tuning(d.info.kind)) tuning_record_error(d, source);
  Module m = extract_module(d, source);
  d.data.clear();
  d.data.shrink_to_fit();
  return build(std::move(m), d.info, source, opt);
}

std::string lower(std::string s) {
  for (char& c : s)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return s;
}

}  // namespace

std::string HloFileInfo::describe() const {
  return kind_name(kind) + " (" + (text_format ? "text format" : "binary") +
         (gzip ? ", gzip)" : ")");
}

bool is_gzip(const std::string& data) {
  return data.size() >= 2 && data[0] == '\x1f' && data[1] == '\x8b';
}

std::string gunzip(const std::string& data, const std::string& source, size_t max_bytes) {
  struct Stream {
    z_stream z{};
    bool init = false;
    ~Stream() {
      if (init) inflateEnd(&z);
    }
  } s;
  if (inflateInit2(&s.z, 15 + 16) != Z_OK)  // 16: gzip header and trailer (CRC-32, size)
    throw_error(source, "gzip", "zlib to start inflating", "an initialization error");
  s.init = true;
  const auto* in = reinterpret_cast<const Bytef*>(data.data());
  size_t in_pos = 0;  // bytes handed to zlib so far
  constexpr size_t kMaxFeed = size_t(1) << 30;
  std::string out;
  size_t n = 0;                                                          // output bytes produced
  const size_t cap = max_bytes == SIZE_MAX ? max_bytes : max_bytes + 1;  // +1: detects "too much"
  // First guess of the size: the last member's ISIZE trailer (its size mod 2^32), unless that is
  // beyond deflate's best ratio (about 1032:1) for this input.
  size_t hint = std::max<size_t>(data.size() * 2, 1 << 16);
  if (data.size() >= 18) {
    const auto* t = reinterpret_cast<const uint8_t*>(data.data()) + data.size() - 4;
    const size_t isize = t[0] | t[1] << 8 | t[2] << 16 | static_cast<size_t>(t[3]) << 24;
    if (isize > 0 && isize / 1100 <= data.size()) hint = std::max<size_t>(isize, 1 << 16);
  }
  auto too_large = [&] {
    throw_error(source, "gzip",
                TG_STR("data that inflates to at most " << max_bytes
                                                        << " bytes (libprotobuf's 2 GiB limit)"),
                "more (a dump too large to read, or a gzip bomb)");
  };
  for (;;) {
    if (s.z.avail_in == 0 && in_pos < data.size()) {
      const size_t feed = std::min(kMaxFeed, data.size() - in_pos);
      s.z.next_in = const_cast<Bytef*>(in + in_pos);
      s.z.avail_in = static_cast<uInt>(feed);
      in_pos += feed;
    }
    if (n == out.size()) {
      if (out.size() >= cap) too_large();
      // hint + 1: an exact guess still leaves room to reach the end of the stream.
      out.resize(std::min(out.empty() ? hint + 1 : out.size() * 2, cap));
    }
    const size_t room = std::min(out.size() - n, kMaxFeed);
    s.z.next_out = reinterpret_cast<Bytef*>(&out[n]);
    s.z.avail_out = static_cast<uInt>(room);
    const int rc = inflate(&s.z, Z_NO_FLUSH);
    n += room - s.z.avail_out;
    const size_t consumed = in_pos - s.z.avail_in;  // compressed bytes read so far
    if (rc == Z_STREAM_END) {
      if (consumed == data.size()) break;
      // Another gzip member (concatenated .gz files) or trailing bytes.
      if (data.size() - consumed >= 2 && data[consumed] == '\x1f' && data[consumed + 1] == '\x8b') {
        inflateReset(&s.z);
        continue;
      }
      throw_error(source, "gzip", "nothing after the gzip stream",
                  TG_STR(data.size() - consumed << " trailing bytes at byte " << consumed));
    }
    if (rc == Z_DATA_ERROR || rc == Z_NEED_DICT || rc == Z_STREAM_ERROR)
      throw_error(source, "gzip", "valid gzip data",
                  TG_STR((s.z.msg ? s.z.msg : "corrupt data")
                         << " after " << consumed << " compressed bytes"));
    if (rc == Z_MEM_ERROR) throw std::bad_alloc();
    // Z_OK or Z_BUF_ERROR: no progress is possible only when the input is used up.
    if (s.z.avail_in == 0 && in_pos == data.size() && s.z.avail_out > 0)
      throw_error(source, "gzip", "a complete gzip stream (its end marker, CRC-32 and size)",
                  TG_STR("the data ends after " << data.size() << " bytes (truncated)"));
  }
  if (n > max_bytes) too_large();
  out.resize(n);
  return out;
}

HloFileInfo detect_hlo_bytes(const std::string& bytes, const std::string& source,
                             size_t max_bytes) {
  Dump d = sniff(bytes, source, max_bytes);
  if (!d.known) unknown_binary(d, source);
  return d.info;
}

HloFileInfo detect_hlo_file(const std::string& path) {
  return detect_hlo_bytes(read_file(path), path);
}

std::optional<HloFileInfo> try_detect_hlo_file(const std::string& path) {
  const Dump d = sniff(read_file(path), path, kMaxProtoBytes);
  if (!d.known || (!d.info.text_format && !d.top_complete)) return std::nullopt;
  return d.info;
}

ModuleGraph featurize_module_bytes(const std::string& bytes, const std::string& source,
                                   const ModuleGraphOptions& opt) {
  Dump d = sniff(bytes, source, opt.max_bytes);
  return featurize_dump(d, source, opt);
}

ModuleGraph featurize_module_file(const std::string& path, const ModuleGraphOptions& opt) {
  Dump d = sniff(read_file(path), path, opt.max_bytes);
  return featurize_dump(d, path, opt);
}

std::optional<ModuleGraph> try_featurize_module_file(const std::string& path,
                                                     const ModuleGraphOptions& opt) {
  Dump d = sniff(read_file(path), path, opt.max_bytes);
  if (!d.known || (!d.info.text_format && !d.top_complete) || is_tuning(d.info.kind))
    return std::nullopt;
  return featurize_dump(d, path, opt);
}

std::vector<std::string> write_module_graph(const ModuleGraph& m, const std::string& out_dir,
                                            int level) {
  const std::string& stem = m.graph.stem;
  TG_CHECK(!stem.empty() && stem.find('/') == std::string::npos, "bad output stem '", stem, "'");
  TG_CHECK(m.node_names.size() == static_cast<size_t>(m.graph.num_nodes),
           "node names: ", m.node_names.size(), " for ", m.graph.num_nodes, " nodes");
  std::error_code ec;
  fs::create_directories(out_dir, ec);
  if (ec || !fs::is_directory(out_dir))
    throw_error(out_dir, "--out", "a writable output directory",
                ec ? ec.message() : "not a directory");
  const std::string npz = (fs::path(out_dir) / (stem + ".npz")).string();
  const std::string names = (fs::path(out_dir) / (stem + ".names.json")).string();
  // Names are bytes: invalid UTF-8 is written with replacement characters rather than refused.
  const std::string json =
      nlohmann::json(m.node_names).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) +
      "\n";
  write_layout_npz(m.graph, npz, level);
  try {
    write_file_atomic(names, json);
  } catch (...) {
    fs::remove(npz, ec);  // all or nothing
    throw;
  }
  return {npz, names};
}

bool is_hlo_dump_path(const std::string& path) {
  std::error_code ec;
  if (fs::is_directory(path, ec)) return false;
  std::ifstream f(path, std::ios::binary);
  if (f) {
    char head[8] = {};
    f.read(head, sizeof head);
    const std::string h(head, static_cast<size_t>(f.gcount()));
    if (!h.empty()) {  // an empty file goes by its name, as a missing one
      if (h.compare(0, 2, "PK") == 0 || h.compare(0, 6, "TGPACK") == 0) return false;
      if (is_gzip(h) || h.compare(0, 4, "ML\xefR") == 0 || h[0] == '\x0a') return true;
      return text_like(h);
    }
  }
  std::string ext = lower(fs::path(path).extension().string());
  if (ext == ".gz") ext = lower(fs::path(path).stem().extension().string());
  return ext == ".pb" || ext == ".pbtxt" || ext == ".textproto" || ext == ".txt" || ext == ".hlo" ||
         ext == ".mlir" || ext == ".gz" || ext == ".binpb";
}

}  // namespace tgraph::featurize
