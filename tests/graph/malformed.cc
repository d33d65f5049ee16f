#include "malformed.h"

#include <cmath>
#include <cstring>
#include <limits>
#include <stdexcept>

#include "../test_util.h"
#include "tgraph/io/npz.h"

namespace tgraph::test {

namespace {

size_t find_or_throw(const std::string& hay, const std::string& needle, size_t from = 0) {
  size_t p = hay.find(needle, from);
  if (p == std::string::npos) throw std::runtime_error("fixture: pattern not found: " + needle);
  return p;
}

void put_u32(std::string& b, size_t off, uint32_t v) {
  for (int i = 0; i < 4; ++i) b[off + i] = static_cast<char>((v >> (8 * i)) & 0xff);
}

// Writes arrays after `edit` changed them.
template <typename F>
std::string variant(const std::string& dir, const std::string& name, F edit, int level = 6) {
  LayoutArrays a = make_layout_arrays();
  edit(a);
  std::string p = dir + "/" + name + ".npz";
  write_layout(p, a, level);
  return p;
}

}  // namespace

std::vector<MalformedCase> make_malformed_fixtures(const std::string& dir) {
  std::vector<MalformedCase> cases;
  const std::string good = dir + "/good_deflated.npz";
  const std::string good_stored = dir + "/good_stored.npz";
  write_layout(good, make_layout_arrays(), 6);
  write_layout(good_stored, make_layout_arrays(), 0);
  const std::string deflated = read_bytes(good);
  const std::string stored = read_bytes(good_stored);

  {  // 1. truncated archive: the end (central directory) is missing
    std::string p = dir + "/truncated_archive.npz";
    write_bytes(p, deflated.substr(0, deflated.size() * 6 / 10));
    cases.push_back({"truncated archive", p, {"zip archive", "truncated archive"}});
  }
  {  // 2. bad CRC: one data byte of node_feat flipped in a stored archive
    std::string b = stored;
    size_t h = find_or_throw(b, "{'descr': '<f4', 'fortran_order': False, 'shape': (12, 140)");
    b[h + 300] ^= 0x5a;
    std::string p = dir + "/bad_crc.npz";
    write_bytes(p, b);
    cases.push_back({"bad CRC", p, {"node_feat", "CRC"}});
  }
  cases.push_back({"wrong dtype",
                   variant(dir, "wrong_dtype",
                           [](LayoutArrays& a) {
                             a.edge_index = NdArray::from_vector(a.edge_index.to_vector<float>(),
                                                                 a.edge_index.shape());
                           }),
                   {"edge_index", "integer dtype", "<f4"}});
  cases.push_back({"wrong rank",
                   variant(dir, "wrong_rank",
                           [](LayoutArrays& a) {
                             a.node_feat = NdArray::from_vector(a.node_feat.to_vector<float>(),
                                                                {a.node_feat.numel()});
                           }),
                   {"node_feat", "rank 2", "found rank 1"}});
  cases.push_back({"mismatched C",
                   variant(dir, "mismatched_c",
                           [](LayoutArrays& a) {
                             auto v = a.config_runtime.to_vector<int64_t>();
                             v.push_back(999);
                             a.config_runtime = NdArray::from_vector(v, {int64_t(v.size())});
                           }),
                   {"config_runtime", "to match C of node_config_feat", "(6,)"}});
  cases.push_back({"edge out of range",
                   variant(dir, "edge_out_of_range",
                           [](LayoutArrays& a) { a.edge_index.data<int64_t>()[7] = 12; }),
                   {"edge_index", "[0, 11]", "found 12 at [3, 1]"}});
  {
    std::string p = dir + "/missing_key.npz";
    write_layout(p, make_layout_arrays(), 6, "node_splits");
    cases.push_back({"missing key", p, {"node_splits", "no such key"}});
  }
  cases.push_back({"NaN feature",
                   variant(dir, "nan_feature",
                           [](LayoutArrays& a) {
                             a.node_feat.data<float>()[5 * 140 + 21] =
                                 std::numeric_limits<float>::quiet_NaN();
                           }),
                   {"node_feat", "finite", "nan at [5, 21]"}});
  {  // 9. a member whose bytes are not npy
    std::string b = stored;
    size_t m = find_or_throw(b, "\x93NUMPY");
    b[m + 1] = 'X';
    std::string p = dir + "/bad_npy_magic.npz";
    write_bytes(p, b);
    cases.push_back({"bad npy magic", p, {"node_feat", "npy magic"}});
  }
  {  // 10. npy header length field pointing past the member's end (last member, node_splits)
    std::string b = stored;
    size_t m = b.rfind("\x93NUMPY");
    b[m + 8] = static_cast<char>(0xf0);
    b[m + 9] = static_cast<char>(0xff);
    std::string p = dir + "/header_past_end.npz";
    write_bytes(p, b);
    cases.push_back({"header length past end", p, {"node_splits", "header length past the end"}});
  }
  {  // 11. uncompressed size declared ~2 GB for a member of a few hundred bytes
    std::string b = deflated;
    size_t local = find_or_throw(b, std::string("PK\x03\x04", 4));
    size_t central = find_or_throw(b, std::string("PK\x01\x02", 4));
    put_u32(b, local + 22, 0x7ffffff0u);
    put_u32(b, central + 24, 0x7ffffff0u);
    std::string p = dir + "/declared_size_too_large.npz";
    write_bytes(p, b);
    cases.push_back({"declared size far larger than the archive",
                     p,
                     {"node_feat", "declared size far larger than the archive"}});
  }
  cases.push_back({"config ids not ascending",
                   variant(dir, "ids_not_ascending",
                           [](LayoutArrays& a) {
                             std::swap(a.node_config_ids.data<int64_t>()[0],
                                       a.node_config_ids.data<int64_t>()[1]);
                           }),
                   {"node_config_ids", "ascending"}});
  cases.push_back({"zero runtime in labelled file",
                   variant(dir, "zero_runtime",
                           [](LayoutArrays& a) { a.config_runtime.data<int64_t>()[2] = 0; }),
                   {"config_runtime", "all runtimes > 0", "0 at [2]"}});
  cases.push_back(
      {"node_splits not ending at N",
       variant(dir, "bad_splits", [](LayoutArrays& a) { a.node_splits.data<int64_t>()[2] = 11; }),
       {"node_splits", "ending at N = 12"}});
  cases.push_back({"config value out of range",
                   variant(dir, "config_value",
                           [](LayoutArrays& a) { a.node_config_feat.data<float>()[18 + 4] = 7; }),
                   {"node_config_feat", "[-1, 5]", "7 at [0, 1, 4]"}});
  cases.push_back(
      {"opcode out of range",
       variant(dir, "opcode", [](LayoutArrays& a) { a.node_opcode.data<uint8_t>()[3] = 200; }),
       {"node_opcode", "[0, 120]", "200 at [3]"}});
  {
    std::string p = dir + "/not_a_zip.npz";
    write_bytes(p, "this is not a zip file at all, just text\n");
    cases.push_back({"not a zip", p, {"not a ZIP archive"}});
  }
  return cases;
}

}  // namespace tgraph::test
