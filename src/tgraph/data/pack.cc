// Packed layout cache, format version 2. All integers little-endian (the build requires a
// little-endian host). Layout of a .tgpack file:
//
//   offset  field
//   0       magic "TGPACK01" (8 bytes)
//   8       u32 format version (kPackFormatVersion)
//   12      u32 header_bytes (multiple of 64; the first section starts there)
//   16      u32 flags: 1 prune, 2 dedup, 4 repad, 8 labelled, 16 contract; bits 8..15: the
//           K of hops:K (0 in packs written before reach modes: K = 1)
//   20      u32 stem length in bytes
//   24      u64 source .npz size, u64 source content key (source_content_key) -> staleness
//   40      i64 N', E', NC, C, source N, source E, source C, duplicates removed
//   104     u64 section offsets [8] in the order of kSections below
//   168     u64 section hashes [7] (every section except config_feat)
//   224     u64 header hash (bytes 0..223 and the stem)
//   232     stem bytes, zero padding to header_bytes
//   sections, each starting at a multiple of 64:
//     node_feat [N', 140] f32 (pruned rows, re-padded if flagged) | node_opcode [N'] u8 |
//     edge_index [E', 2] i64 | config_pos [NC] i64 | node_ids [N'] i64 |
//     config_feat [C, NC, 18] i8 | config_runtime [C] i64 | source_rows [C] i64
//
// config_feat is written before the runtimes because with dedup the number of kept rows and their
// mean runtimes are only known after streaming it; the header is written last (seek back).
#include "tgraph/data/pack.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <exception>
#include <filesystem>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <unordered_set>

#include "tgraph/data/features.h"
#include "tgraph/data/prune.h"
#include "tgraph/io/npz.h"
#include "tgraph/util/atomic_file.h"
#include "tgraph/util/error.h"

#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "the .tgpack format is written in host byte order and requires a little-endian host"
#endif

namespace fs = std::filesystem;

namespace tgraph {

namespace {

constexpr char kMagic[8] = {'T', 'G', 'P', 'A', 'C', 'K', '0', '1'};
constexpr size_t kFixedHeader = 232;  // bytes before the stem
constexpr uint64_t kAlign = 64;
constexpr uint32_t kMaxStem = 4096;
enum Section { kNodeFeat, kOpcode, kEdges, kConfigPos, kNodeIds, kConfigFeat, kRuntime, kSrcRows };
constexpr int kNumSections = 8;
constexpr const char* kSectionName[kNumSections] = {"node_feat",      "node_opcode", "edge_index",
                                                    "config_pos",     "node_ids",    "config_feat",
                                                    "config_runtime", "source_rows"};
// Index into the stored hashes (config_feat has none: it is range-checked when read instead).
int hash_slot(int s) {
  return s < kConfigFeat ? s : s - 1;
}

constexpr uint32_t kPrune = 1, kDedup = 2, kRepad = 4, kLabelled = 8, kContract = 16;  // flags
constexpr int kHopsShift = 8;  // flags bits 8..15: K of hops:K

// MurmurHash64A: fast word-wise hash; two seeds give the 128-bit row fingerprint for dedup.
uint64_t hash64(const void* key, size_t len, uint64_t seed) {
  const uint64_t m = 0xc6a4a7935bd1e995ull;
  const int r = 47;
  uint64_t h = seed ^ (len * m);
  const auto* data = static_cast<const uint8_t*>(key);
  const size_t nblocks = len / 8;
  for (size_t i = 0; i < nblocks; ++i) {
    uint64_t k;
    std::memcpy(&k, data + 8 * i, 8);
    k *= m;
    k ^= k >> r;
    k *= m;
    h ^= k;
    h *= m;
  }
  const uint8_t* tail = data + 8 * nblocks;
  switch (len & 7) {
    case 7:
      h ^= uint64_t(tail[6]) << 48;
      [[fallthrough]];
    case 6:
      h ^= uint64_t(tail[5]) << 40;
      [[fallthrough]];
    case 5:
      h ^= uint64_t(tail[4]) << 32;
      [[fallthrough]];
    case 4:
      h ^= uint64_t(tail[3]) << 24;
      [[fallthrough]];
    case 3:
      h ^= uint64_t(tail[2]) << 16;
      [[fallthrough]];
    case 2:
      h ^= uint64_t(tail[1]) << 8;
      [[fallthrough]];
    case 1:
      h ^= uint64_t(tail[0]);
      h *= m;
  }
  h ^= h >> r;
  h *= m;
  h ^= h >> r;
  return h;
}
constexpr uint64_t kSeedA = 0x243f6a8885a308d3ull, kSeedB = 0x13198a2e03707344ull;

struct RowHash {
  uint64_t a, b;
  bool operator==(const RowHash& o) const { return a == o.a && b == o.b; }
};
struct RowHashHasher {
  size_t operator()(const RowHash& h) const { return static_cast<size_t>(h.a); }
};

// Fixed-size header fields, in file order after the magic.
struct Header {
  uint32_t version = kPackFormatVersion, header_bytes = 0, flags = 0, stem_len = 0;
  uint64_t source_size = 0;
  uint64_t source_key = 0;
  int64_t n = 0, e = 0, nc = 0, c = 0, src_n = 0, src_e = 0, src_c = 0, dups = 0;
  uint64_t offset[kNumSections] = {};
  uint64_t hash[kNumSections - 1] = {};
  uint64_t header_hash = 0;
};

template <typename T>
void put(std::string* s, T v) {
  s->append(reinterpret_cast<const char*>(&v), sizeof(T));
}

std::string encode_header(const Header& h, const std::string& stem) {
  std::string s(kMagic, 8);
  put(&s, h.version);
  put(&s, h.header_bytes);
  put(&s, h.flags);
  put(&s, h.stem_len);
  put(&s, h.source_size);
  put(&s, h.source_key);
  for (int64_t v : {h.n, h.e, h.nc, h.c, h.src_n, h.src_e, h.src_c, h.dups}) put(&s, v);
  for (uint64_t v : h.offset) put(&s, v);
  for (uint64_t v : h.hash) put(&s, v);
  TG_CHECK(s.size() == kFixedHeader - 8);
  std::string hashed = s + stem;
  put(&s, hash64(hashed.data(), hashed.size(), kSeedA));
  s += stem;
  s.resize(h.header_bytes, '\0');
  return s;
}

uint64_t align_up(uint64_t x) {
  return (x + kAlign - 1) / kAlign * kAlign;
}

// Sequential writer that tracks the offset and pads sections to kAlign.
class SectionWriter {
 public:
  explicit SectionWriter(std::ofstream& out) : out_(out) {}
  uint64_t pos() const { return pos_; }
  void write(const void* p, uint64_t n) {
    out_.write(static_cast<const char*>(p), static_cast<std::streamsize>(n));
    pos_ += n;
  }
  void align() {
    static const char zeros[kAlign] = {};
    write(zeros, align_up(pos_) - pos_);
  }
  // Writes a whole section at an aligned offset; returns its hash.
  template <typename T>
  uint64_t section(const std::vector<T>& v, uint64_t* offset) {
    align();
    *offset = pos_;
    write(v.data(), v.size() * sizeof(T));
    return hash64(v.data(), v.size() * sizeof(T), kSeedB);
  }

 private:
  std::ofstream& out_;
  uint64_t pos_ = 0;
};

// Converts one chunk of node_config_feat (f32 or f64, [rows, NC, 18]) to int8, checking that
// every value is integral in [-1, 5]. first_flat: flat index of the chunk's first element.
template <typename F>
void to_int8(const F* src, int64_t n, int8_t* dst, const std::string& path,
             const std::vector<int64_t>& shape, int64_t first_flat) {
  for (int64_t i = 0; i < n; ++i) {
    const F x = src[i];
    if (!(x >= F(-1) && x <= F(5)) || x != static_cast<F>(static_cast<int>(x))) {
      int64_t flat = first_flat + i;
      const int64_t j = flat % shape[2], k = (flat / shape[2]) % shape[1],
                    c = flat / (shape[2] * shape[1]);
      throw_error(path, "node_config_feat", "integral layout values in [-1, 5]",
                  TG_STR(x << " at [" << c << ", " << k << ", " << j << "]"));
    }
    dst[i] = static_cast<int8_t>(x);
  }
}

// The first bytes of a file for a message: printable ASCII kept, the rest as \xNN.
std::string printable(const std::string& b) {
  std::string s;
  for (unsigned char ch : b) {
    if (ch >= 32 && ch < 127 && ch != '"') {
      s += static_cast<char>(ch);
    } else {
      static const char* d = "0123456789abcdef";
      s += "\\x";
      s += d[ch >> 4];
      s += d[ch & 15];
    }
  }
  return s;
}

void pread_all(int fd, void* dst, uint64_t n, uint64_t offset, const std::string& path,
               const std::string& field) {
  auto* p = static_cast<uint8_t*>(dst);
  while (n > 0) {
    const size_t want = static_cast<size_t>(std::min<uint64_t>(n, uint64_t(1) << 30));
    const ssize_t got = ::pread(fd, p, want, static_cast<off_t>(offset));
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) throw_error(path, field, "a readable file", std::strerror(errno));
    if (got == 0)
      throw_error(path, field, TG_STR(n << " more bytes at offset " << offset),
                  "end of file (truncated?)");
    p += got;
    n -= static_cast<uint64_t>(got);
    offset += static_cast<uint64_t>(got);
  }
}

}  // namespace

FileStamp file_stamp(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0)
    throw_error(path, "", "an existing file", std::strerror(errno));
  FileStamp s;
  s.size = static_cast<uint64_t>(st.st_size);
  s.mtime_ns = static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
  return s;
}

void pack_layout_graph(const std::string& npz_path, const std::string& out_path,
                       const PackOptions& opt) {
  // Key first: if the source changes while it is packed, the next run sees the pack as stale.
  const FileStamp stamp = file_stamp(npz_path);
  const uint64_t key = source_content_key(npz_path);
  LoadOptions lo;
  lo.load_config_feat = false;
  lo.validate_config_values = false;  // validated below in the single streaming pass
  LayoutGraph g = load_layout(npz_path, lo);

  const PrunedGraph p = prune_layout(g.edge_index, g.num_nodes, g.node_config_ids, opt.reach);
  std::vector<float> feat = gather_rows(g.node_feat.data(), kNodeFeatDim, p.node_ids);
  std::vector<float>().swap(g.node_feat);
  if (opt.repad) repad_minor_to_major(feat.data(), p.num_nodes);
  const std::vector<uint8_t> opcode = gather_rows(g.node_opcode.data(), 1, p.node_ids);

  Header h;
  h.stem_len = static_cast<uint32_t>(g.stem.size());
  if (h.stem_len > kMaxStem)
    throw_error(npz_path, "", TG_STR("a file name of at most " << kMaxStem << " bytes"),
                TG_STR(h.stem_len << " bytes"));
  h.header_bytes = static_cast<uint32_t>(align_up(kFixedHeader + h.stem_len));
  h.flags =
      (opt.reach.pruned() ? kPrune : 0) | (opt.reach.mode == Reach::kContract ? kContract : 0) |
      (opt.reach.mode == Reach::kHops ? static_cast<uint32_t>(opt.reach.hops) << kHopsShift : 0) |
      (opt.dedup ? kDedup : 0) | (opt.repad ? kRepad : 0) | (g.labelled ? kLabelled : 0);
  h.source_size = stamp.size;
  h.source_key = key;
  h.n = p.num_nodes;
  h.e = p.num_edges();
  h.nc = g.num_config_nodes;
  h.src_n = g.num_nodes;
  h.src_e = g.num_edges;
  h.src_c = g.num_configs;

  AtomicFile file(out_path);
  SectionWriter w(file.stream());
  w.write(std::string(h.header_bytes, '\0').data(), h.header_bytes);  // placeholder
  h.hash[hash_slot(kNodeFeat)] = w.section(feat, &h.offset[kNodeFeat]);
  h.hash[hash_slot(kOpcode)] = w.section(opcode, &h.offset[kOpcode]);
  h.hash[hash_slot(kEdges)] = w.section(p.edge_index, &h.offset[kEdges]);
  h.hash[hash_slot(kConfigPos)] = w.section(p.config_pos, &h.offset[kConfigPos]);
  h.hash[hash_slot(kNodeIds)] = w.section(p.node_ids, &h.offset[kNodeIds]);

  // node_config_feat: streamed in ~16 MB chunks, converted to int8, optionally de-duplicated.
  w.align();
  h.offset[kConfigFeat] = w.pos();
  const int64_t NC = g.num_config_nodes, C = g.num_configs;
  const int64_t row = NC * kLayoutConfigDim;
  const std::vector<int64_t> shape{C, NC, kLayoutConfigDim};
  std::vector<int64_t> runtime, src_rows;
  std::vector<int64_t> copies;  // dedup: number of source rows merged into each kept row
  std::unordered_map<RowHash, int64_t, RowHashHasher> first;  // row hash -> kept index
  if (opt.dedup) first.reserve(static_cast<size_t>(C));
  std::vector<int8_t> buf;
  int64_t seen_rows = 0;
  NpzReader npz(npz_path);
  const int64_t chunk = std::max<int64_t>(1, (int64_t(16) << 20) / std::max<int64_t>(4 * row, 1));
  npz.for_each_rows("node_config_feat", chunk, [&](const NdArray& a, int64_t r0) {
    const int64_t rows = a.dim(0);
    buf.resize(static_cast<size_t>(rows * row));
    if (a.dtype() == DType::kF32)
      to_int8(a.data<float>(), rows * row, buf.data(), npz_path, shape, r0 * row);
    else if (a.dtype() == DType::kF64)
      to_int8(a.data<double>(), rows * row, buf.data(), npz_path, shape, r0 * row);
    else
      throw_error(npz_path, "node_config_feat", "a float dtype", dtype_descr(a.dtype()));
    if (!opt.dedup) {
      w.write(buf.data(), buf.size());
      for (int64_t i = 0; i < rows; ++i) src_rows.push_back(r0 + i);
      runtime.insert(runtime.end(), g.config_runtime.begin() + r0,
                     g.config_runtime.begin() + r0 + rows);
    } else {
      for (int64_t i = 0; i < rows; ++i) {
        const int8_t* rp = buf.data() + i * row;
        const RowHash key{hash64(rp, static_cast<size_t>(row), kSeedA),
                          hash64(rp, static_cast<size_t>(row), kSeedB)};
        auto [it, fresh] = first.emplace(key, static_cast<int64_t>(src_rows.size()));
        if (fresh) {
          w.write(rp, static_cast<uint64_t>(row));
          src_rows.push_back(r0 + i);
          runtime.push_back(g.config_runtime[r0 + i]);  // summed here, divided below
          copies.push_back(1);
        } else {
          runtime[it->second] += g.config_runtime[r0 + i];
          ++copies[it->second];
        }
      }
    }
    seen_rows += rows;
  });
  TG_CHECK(seen_rows == C, "streamed ", seen_rows, " rows, header says ", C);
  if (opt.dedup)
    // Rounded mean of the copies (halves up); int64 sums stay far below 2^63 (1e5 rows x 1e11 ns).
    for (size_t i = 0; i < runtime.size(); ++i)
      runtime[i] = (runtime[i] + copies[i] / 2) / copies[i];
  h.c = static_cast<int64_t>(src_rows.size());
  h.dups = C - h.c;
  h.hash[hash_slot(kRuntime)] = w.section(runtime, &h.offset[kRuntime]);
  h.hash[hash_slot(kSrcRows)] = w.section(src_rows, &h.offset[kSrcRows]);

  const std::string header = encode_header(h, g.stem);
  file.stream().seekp(0);
  file.stream().write(header.data(), static_cast<std::streamsize>(header.size()));
  file.commit();
}

// ---------------------------------------------------------------------------------------------

PackedGraph::~PackedGraph() {
  close_fd();
}

void PackedGraph::close_fd() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

PackedGraph::PackedGraph(PackedGraph&& o) noexcept {
  *this = std::move(o);
}

PackedGraph& PackedGraph::operator=(PackedGraph&& o) noexcept {
  if (this == &o) return *this;
  close_fd();
  path_ = std::move(o.path_);
  stem_ = std::move(o.stem_);
  fd_ = o.fd_;
  o.fd_ = -1;
  options_ = o.options_;
  labelled_ = o.labelled_;
  source_size_ = o.source_size_;
  file_bytes_ = o.file_bytes_;
  source_key_ = o.source_key_;
  num_nodes_ = o.num_nodes_;
  num_edges_ = o.num_edges_;
  num_config_nodes_ = o.num_config_nodes_;
  num_configs_ = o.num_configs_;
  source_num_nodes_ = o.source_num_nodes_;
  source_num_edges_ = o.source_num_edges_;
  source_num_configs_ = o.source_num_configs_;
  duplicates_removed_ = o.duplicates_removed_;
  config_offset_ = o.config_offset_;
  node_feat_ = std::move(o.node_feat_);
  node_opcode_ = std::move(o.node_opcode_);
  edge_index_ = std::move(o.edge_index_);
  config_pos_ = std::move(o.config_pos_);
  node_ids_ = std::move(o.node_ids_);
  config_runtime_ = std::move(o.config_runtime_);
  source_rows_ = std::move(o.source_rows_);
  return *this;
}

PackedGraph PackedGraph::open(const std::string& path) {
  PackedGraph g;
  g.path_ = path;
  g.fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (g.fd_ < 0) throw_error(path, "", "a readable .tgpack file", std::strerror(errno));
  struct stat st;
  if (::fstat(g.fd_, &st) != 0) throw_error(path, "", "a readable file", std::strerror(errno));
  g.file_bytes_ = static_cast<uint64_t>(st.st_size);
  auto fail = [&](const std::string& field, const std::string& expected, const std::string& found) {
    throw_error(path, field, expected, found);
  };

  if (g.file_bytes_ < kFixedHeader)
    fail("header", TG_STR("at least " << kFixedHeader << " bytes"),
         TG_STR(g.file_bytes_ << " bytes (truncated?)"));
  std::string raw(kFixedHeader, '\0');
  pread_all(g.fd_, raw.data(), kFixedHeader, 0, path, "header");
  if (raw.compare(0, 6, kMagic, 6) != 0)
    fail("magic", "\"TGPACK01\" (a tgraph pack file)",
         TG_STR("\"" << printable(raw.substr(0, 8)) << "\" (not a .tgpack file)"));
  Header h;
  const char* q = raw.data() + 8;
  auto get = [&](auto* v) {
    std::memcpy(v, q, sizeof(*v));
    q += sizeof(*v);
  };
  get(&h.version);
  if (raw.compare(0, 8, kMagic, 8) != 0 || h.version != kPackFormatVersion)
    fail("version", TG_STR("format version " << kPackFormatVersion << " (re-run tgraph pack)"),
         TG_STR("magic \"" << printable(raw.substr(0, 8)) << "\", version " << h.version));
  get(&h.header_bytes);
  get(&h.flags);
  get(&h.stem_len);
  get(&h.source_size);
  get(&h.source_key);
  for (int64_t* v : {&h.n, &h.e, &h.nc, &h.c, &h.src_n, &h.src_e, &h.src_c, &h.dups}) get(v);
  for (uint64_t& v : h.offset) get(&v);
  for (uint64_t& v : h.hash) get(&v);
  get(&h.header_hash);
  if (h.stem_len > kMaxStem || h.header_bytes != align_up(kFixedHeader + h.stem_len))
    fail("header",
         TG_STR("a stem of at most " << kMaxStem << " bytes and header_bytes "
                                     << align_up(kFixedHeader + h.stem_len)),
         TG_STR("stem length " << h.stem_len << ", header_bytes " << h.header_bytes));
  if (g.file_bytes_ < h.header_bytes)
    fail("header", TG_STR(h.header_bytes << " bytes"),
         TG_STR("a file of " << g.file_bytes_ << " bytes (truncated?)"));
  g.stem_.resize(h.stem_len);
  pread_all(g.fd_, g.stem_.data(), h.stem_len, kFixedHeader, path, "stem");
  {
    std::string hashed = raw.substr(0, kFixedHeader - 8) + g.stem_;
    const uint64_t hh = hash64(hashed.data(), hashed.size(), kSeedA);
    if (hh != h.header_hash)
      fail("header", TG_STR("header checksum " << h.header_hash), TG_STR(hh << " (corrupt file)"));
  }
  // Bounds before any multiplication: sizes that could not come from a real graph are corrupt.
  const int64_t kMax = int64_t(1) << 40;
  for (const auto& field : {std::pair<const char*, int64_t>{"N'", h.n},
                            {"E'", h.e},
                            {"NC", h.nc},
                            {"C", h.c},
                            {"source N", h.src_n},
                            {"source E", h.src_e},
                            {"source C", h.src_c},
                            {"duplicates removed", h.dups}}) {
    // (not a structured binding: clang's C++17 cannot capture one in TG_STR's lambda)
    const char* name = field.first;
    const int64_t v = field.second;
    if (v < 0 || v > kMax) fail("header", TG_STR(name << " in [0, 2^40]"), TG_STR(v));
  }
  if (h.nc > h.n || h.n > h.src_n || h.e > h.src_e || h.c > h.src_c || h.dups != h.src_c - h.c ||
      h.c < 1)
    fail("header", "consistent counts (NC <= N' <= N, E' <= E, 1 <= C <= source C)",
         TG_STR("N' " << h.n << ", N " << h.src_n << ", E' " << h.e << ", E " << h.src_e << ", NC "
                      << h.nc << ", C " << h.c << ", source C " << h.src_c << ", duplicates "
                      << h.dups));

  const uint64_t bytes[kNumSections] = {uint64_t(h.n) * kNodeFeatDim * 4,
                                        uint64_t(h.n),
                                        uint64_t(h.e) * 16,
                                        uint64_t(h.nc) * 8,
                                        uint64_t(h.n) * 8,
                                        uint64_t(h.c) * uint64_t(h.nc) * kLayoutConfigDim,
                                        uint64_t(h.c) * 8,
                                        uint64_t(h.c) * 8};
  uint64_t end = h.header_bytes;
  for (int s = 0; s < kNumSections; ++s) {
    if (h.offset[s] < end || h.offset[s] % kAlign != 0)
      fail(kSectionName[s], TG_STR("an aligned section offset >= " << end),
           TG_STR(h.offset[s] << " (corrupt header)"));
    end = h.offset[s] + bytes[s];
  }
  if (end != g.file_bytes_)
    fail("size", TG_STR(end << " bytes from the header"),
         TG_STR(g.file_bytes_ << " bytes" << (g.file_bytes_ < end ? " (truncated)" : "")));

  g.stem_.shrink_to_fit();
  const int hops = static_cast<int>((h.flags >> kHopsShift) & 0xff);
  if (!(h.flags & kPrune))
    g.options_.reach = Reach::whole();
  else if (h.flags & kContract)
    g.options_.reach = Reach::contract();
  else if (hops <= Reach::kMaxHops)
    g.options_.reach = Reach::with_hops(std::max(hops, 1));
  else
    fail("flags", TG_STR("hops:K with K <= " << Reach::kMaxHops), TG_STR("K = " << hops));
  g.options_.dedup = h.flags & kDedup;
  g.options_.repad = h.flags & kRepad;
  g.labelled_ = h.flags & kLabelled;
  g.source_size_ = h.source_size;
  g.source_key_ = h.source_key;
  g.num_nodes_ = h.n;
  g.num_edges_ = h.e;
  g.num_config_nodes_ = h.nc;
  g.num_configs_ = h.c;
  g.source_num_nodes_ = h.src_n;
  g.source_num_edges_ = h.src_e;
  g.source_num_configs_ = h.src_c;
  g.duplicates_removed_ = h.dups;
  g.config_offset_ = h.offset[kConfigFeat];

  auto load = [&](auto& v, int s) {
    using T = typename std::decay_t<decltype(v)>::value_type;
    v.resize(bytes[s] / sizeof(T));
    pread_all(g.fd_, v.data(), bytes[s], h.offset[s], path, kSectionName[s]);
    const uint64_t hv = hash64(v.data(), bytes[s], kSeedB);
    if (hv != h.hash[hash_slot(s)])
      fail(kSectionName[s], TG_STR("checksum " << h.hash[hash_slot(s)]),
           TG_STR(hv << " (corrupt file)"));
  };
  load(g.node_feat_, kNodeFeat);
  load(g.node_opcode_, kOpcode);
  load(g.edge_index_, kEdges);
  load(g.config_pos_, kConfigPos);
  load(g.node_ids_, kNodeIds);
  load(g.config_runtime_, kRuntime);
  load(g.source_rows_, kSrcRows);
  // Checksums catch corruption; these catch a writer bug the checksum would faithfully preserve.
  for (size_t i = 0; i < g.edge_index_.size(); ++i)
    if (g.edge_index_[i] < 0 || g.edge_index_[i] >= h.n)
      fail("edge_index", TG_STR("node ids in [0, " << h.n << ")"),
           TG_STR(g.edge_index_[i] << " at [" << i / 2 << ", " << i % 2 << "]"));
  for (size_t i = 0; i < g.config_pos_.size(); ++i)
    if (g.config_pos_[i] < 0 || g.config_pos_[i] >= h.n)
      fail("config_pos", TG_STR("positions in [0, " << h.n << ")"),
           TG_STR(g.config_pos_[i] << " at [" << i << "]"));
  for (size_t i = 0; i < g.node_opcode_.size(); ++i)
    if (g.node_opcode_[i] >= kNumOpcodes)
      fail("node_opcode", TG_STR("opcode ids in [0, " << kNumOpcodes - 1 << "]"),
           TG_STR(int(g.node_opcode_[i]) << " at [" << i << "]"));
  return g;
}

void PackedGraph::read_configs(const std::vector<int64_t>& rows, int8_t* out) const {
  TG_CHECK(fd_ >= 0, "read_configs on a closed PackedGraph");
  const int64_t rb = config_row_bytes();
  for (size_t i = 0; i < rows.size(); ++i)
    if (rows[i] < 0 || rows[i] >= num_configs_)
      throw_error(path_, "config_feat", TG_STR("configuration rows in [0, " << num_configs_ << ")"),
                  TG_STR(rows[i] << " at [" << i << "]"));
  if (rb == 0) return;
  for (size_t i = 0; i < rows.size();) {
    size_t j = i + 1;  // a run of consecutive rows in request order is one read
    while (j < rows.size() && rows[j] == rows[j - 1] + 1) ++j;
    pread_all(fd_, out + i * rb, static_cast<uint64_t>((j - i) * rb),
              config_offset_ + static_cast<uint64_t>(rows[i] * rb), path_, "config_feat");
    i = j;
  }
  const int64_t n = static_cast<int64_t>(rows.size()) * rb;
  for (int64_t i = 0; i < n; ++i)
    if (out[i] < -1 || out[i] > 5)
      throw_error(path_, "config_feat", "layout values in [-1, 5]",
                  TG_STR(int(out[i]) << " in row " << rows[i / rb] << " (corrupt file)"));
}

bool PackedGraph::is_stale(const std::string& npz_path) const {
  try {
    if (file_stamp(npz_path).size != source_size_) return true;  // cheap first
    return source_content_key(npz_path) != source_key_;
  } catch (const Error&) {
    return true;  // gone or unreadable: rebuilding says why
  }
}

uint64_t source_content_key(const std::string& npz_path) {
  NpzReader r(npz_path);
  std::string desc = TG_STR("schema " << kFeatureSchemaVersion << ";");
  for (const auto& m : r.members()) desc += TG_STR(m.key << ":" << m.size << ":" << m.crc32 << ";");
  return hash64(desc.data(), desc.size(), kSeedA);
}

// ---------------------------------------------------------------------------------------------

std::vector<std::string> list_packed(const std::string& dir) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec))
    throw_error(dir, "", "a directory of .tgpack files", "not a directory");
  std::vector<std::string> out;
  for (const auto& e : fs::directory_iterator(dir))
    if (e.is_regular_file() && e.path().extension() == ".tgpack") out.push_back(e.path().string());
  std::sort(out.begin(), out.end());
  return out;
}

std::string pack_collection(const std::string& npz_root, const Collection& c,
                            const std::string& split, const std::string& cache_root,
                            const PackOptions& opt, int threads, PackCollectionStats* stats) {
  if (c.kind != Kind::kLayout)
    throw_error("--collection", "", "a layout collection (layout:{xla|nlp}:{random|default})",
                c.name());
  const std::vector<std::string> files = list_graph_files(c.dir(npz_root, split));
  // Another reach than the default gets its own cache tree, so runs that differ only in reach can
  // share a cache root without rebuilding each other's packs.
  std::string root = cache_root;
  if (opt.reach != Reach{}) {
    std::string tag = opt.reach.str();
    std::replace(tag.begin(), tag.end(), ':', '-');
    root = (fs::path(cache_root) / ("reach-" + tag)).string();
  }
  const std::string out_dir = c.dir(root, split);
  std::error_code ec;
  fs::create_directories(out_dir, ec);
  if (ec) throw_error(out_dir, "", "a writable cache directory", ec.message());

  PackCollectionStats st;
  st.files = static_cast<int64_t>(files.size());
  std::atomic<size_t> next{0};
  std::atomic<int64_t> packed{0}, skipped{0};
  std::atomic<bool> failed{false};
  std::exception_ptr first_error;
  std::mutex mu;
  auto work = [&] {
    for (size_t i; !failed && (i = next++) < files.size();) {
      try {
        const std::string out =
            (fs::path(out_dir) / (fs::path(files[i]).stem().string() + ".tgpack")).string();
        bool fresh = false;
        if (fs::exists(out)) {
          try {  // an unreadable or old-format pack is simply rebuilt
            PackedGraph pg = PackedGraph::open(out);
            fresh = pg.options() == opt && !pg.is_stale(files[i]);
          } catch (const Error&) {
          }
        }
        if (fresh) {
          ++skipped;
        } else {
          pack_layout_graph(files[i], out, opt);
          ++packed;
        }
      } catch (...) {
        std::lock_guard<std::mutex> lock(mu);
        if (!first_error) first_error = std::current_exception();
        failed = true;
      }
    }
  };
  const int nt = std::max(1, std::min<int>(threads, static_cast<int>(files.size())));
  std::vector<std::thread> pool;
  for (int t = 1; t < nt; ++t) pool.emplace_back(work);
  work();
  for (auto& t : pool) t.join();
  if (first_error) std::rethrow_exception(first_error);

  // Orphans: packs whose source is gone would otherwise be picked up by list_packed.
  std::unordered_set<std::string> stems;
  for (const auto& f : files) stems.insert(fs::path(f).stem().string());
  for (const auto& p : list_packed(out_dir))
    if (!stems.count(fs::path(p).stem().string()) && fs::remove(p, ec)) ++st.removed;

  st.packed = packed;
  st.skipped = skipped;
  if (stats) *stats = st;
  return out_dir;
}

std::shared_ptr<const PackedGraph> pack_to_temporary(const std::string& npz_path,
                                                     const PackOptions& opt) {
  static std::atomic<uint64_t> counter{0};
  const fs::path tmp = fs::temp_directory_path() /
                       TG_STR("tgraph-" << ::getpid() << "-" << counter++ << "-"
                                        << fs::path(npz_path).stem().string() << ".tgpack");
  std::shared_ptr<const PackedGraph> g;
  try {
    pack_layout_graph(npz_path, tmp.string(), opt);
    g = std::make_shared<const PackedGraph>(PackedGraph::open(tmp.string()));
  } catch (...) {
    std::error_code ec;
    fs::remove(tmp, ec);
    throw;
  }
  std::error_code ec;
  fs::remove(tmp, ec);
  return g;
}

}  // namespace tgraph
