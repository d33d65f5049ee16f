#include "test_util.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <fstream>
#include <random>
#include <sstream>

#include "tgraph/io/npz.h"

namespace tgraph::test {

namespace fs = std::filesystem;

TempDir::TempDir() {
  std::random_device rd;
  for (int i = 0; i < 100; ++i) {
    fs::path p = fs::temp_directory_path() /
                 ("tgraph_test_" + std::to_string(::getpid()) + "_" + std::to_string(rd()));
    std::error_code ec;
    if (fs::create_directory(p, ec)) {
      path_ = p;
      return;
    }
  }
  throw std::runtime_error("cannot create a temporary directory");
}

TempDir::~TempDir() {
  std::error_code ec;
  fs::remove_all(path_, ec);
}

CommandResult run_command(const std::string& cmd) {
  CommandResult r;
  FILE* p = ::popen(("(" + cmd + ") 2>&1").c_str(), "r");
  if (!p) return r;
  std::array<char, 4096> buf;
  size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), p)) > 0) r.output.append(buf.data(), n);
  int st = ::pclose(p);
  r.exit_code = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  return r;
}

std::string run_python(const std::string& code) {
  TempDir d;
  std::string script = d.file("check.py");
  write_bytes(script, code);
  std::string out_file = d.file("out.txt");
  int rc = std::system(
      ("/usr/bin/python3 " + script + " > " + out_file + " 2> " + d.file("err.txt")).c_str());
  std::string out = read_bytes(out_file);
  if (rc != 0) ADD_FAILURE() << "python failed: " << read_bytes(d.file("err.txt")) << "\n" << out;
  return out;
}

bool have_numpy() {
  return std::system("/usr/bin/python3 -c 'import numpy' >/dev/null 2>&1") == 0;
}

std::string read_bytes(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::ostringstream s;
  s << f.rdbuf();
  return s.str();
}

void write_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream f(path, std::ios::binary);
  f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

std::string to_hex(const uint8_t* p, size_t n) {
  static const char* d = "0123456789abcdef";
  std::string s(2 * n, '0');
  for (size_t i = 0; i < n; ++i) {
    s[2 * i] = d[p[i] >> 4];
    s[2 * i + 1] = d[p[i] & 15];
  }
  return s;
}

std::string hex_of(const NdArray& a) {
  return to_hex(a.raw(), a.nbytes());
}

std::string shared_dir() {
  return TGRAPH_SHARED_DIR;
}

std::string real_layout_record() {
  return shared_dir() + "/data/real/module_tuning_data_layout.pb";
}

std::string real_tile_record() {
  return shared_dir() + "/data/real/op_tuning_data.pb";
}

std::string cli_path() {
  return TGRAPH_CLI;
}

LayoutArrays make_layout_arrays(int64_t N, int64_t NC, int64_t C, bool labelled) {
  LayoutArrays a;
  std::mt19937 rng(7);
  std::vector<float> feat(static_cast<size_t>(N * 140));
  for (auto& x : feat) x = static_cast<float>(rng() % 100) / 10.f;
  a.node_feat = NdArray::from_vector(feat, {N, 140});
  std::vector<uint8_t> op(static_cast<size_t>(N));
  for (int64_t i = 0; i < N; ++i) op[i] = static_cast<uint8_t>(i % 3 == 0 ? 26 : 2);
  op[0] = 63;  // parameter
  a.node_opcode = NdArray::from_vector(op, {N});
  std::vector<int64_t> edges;
  for (int64_t u = 1; u < N; ++u) {
    edges.push_back(u);
    edges.push_back(u - 1);
    if (u >= 3 && u % 2 == 1) {
      edges.push_back(u);
      edges.push_back(u - 3);
    }
  }
  // sorted lexicographically by (u, v): rows for one u are (u, u-3), (u, u-1)
  std::vector<std::pair<int64_t, int64_t>> rows;
  for (size_t i = 0; i < edges.size(); i += 2) rows.emplace_back(edges[i], edges[i + 1]);
  std::sort(rows.begin(), rows.end());
  edges.clear();
  for (auto& [u, v] : rows) {
    edges.push_back(u);
    edges.push_back(v);
  }
  a.edge_index = NdArray::from_vector(edges, {static_cast<int64_t>(rows.size()), 2});
  std::vector<float> cf(static_cast<size_t>(C * NC * 18), -1.f);
  for (int64_t c = 1; c < C; ++c)
    for (int64_t k = 0; k < NC; ++k) {
      float* s = cf.data() + (c * NC + k) * 18;
      s[0] = static_cast<float>((c + k) % 2);
      s[1] = static_cast<float>(1 - (c + k) % 2);
      s[6] = static_cast<float>((c - 1) % 7 - 1);  // makes every configuration distinct
    }
  a.node_config_feat = NdArray::from_vector(cf, {C, NC, 18});
  std::vector<int64_t> ids;
  for (int64_t k = 0; k < NC; ++k) ids.push_back(3 * k + 3 < N ? 3 * k + 3 : N - NC + k);
  a.node_config_ids = NdArray::from_vector(ids, {NC});
  std::vector<int64_t> rt(static_cast<size_t>(C), 0);
  if (labelled)
    for (int64_t c = 0; c < C; ++c) rt[c] = 1000 + 37 * ((c * 7) % C);
  a.config_runtime = NdArray::from_vector(rt, {C});
  a.node_splits = NdArray::from_vector(std::vector<int64_t>{0, N / 2, N}, {1, 3});
  return a;
}

void write_layout(const std::string& path, const LayoutArrays& a, int level,
                  const std::string& skip_key) {
  NpzWriter w(path, level);
  const std::pair<const char*, const NdArray*> members[] = {
      {"node_feat", &a.node_feat},
      {"node_opcode", &a.node_opcode},
      {"edge_index", &a.edge_index},
      {"node_config_feat", &a.node_config_feat},
      {"node_config_ids", &a.node_config_ids},
      {"config_runtime", &a.config_runtime},
      {"node_splits", &a.node_splits}};
  for (const auto& [key, arr] : members)
    if (skip_key != key) w.add(key, *arr);
  w.commit();
}

}  // namespace tgraph::test
