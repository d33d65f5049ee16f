// `tgraph synth`: writes a synthetic dataset in the exact TpuGraphs on-disk format (all five
// collections, train/valid/test, test unlabelled) from HLO-like modules and an analytic cost model.
//
// Everything derives from one seed: a master std::mt19937_64 plans every file (model, names,
// sub-seeds) sequentially; each file is then generated from its own sub-seed, so the output is
// byte-identical for a seed whatever the thread count. docs/synth.md describes the generator.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace tgraph::synth {

struct Preset {
  std::string name;
  int xla_train = 0, xla_valid = 0, xla_test = 0;  // layout graphs per split (xla collections)
  int nlp_train = 0, nlp_valid = 0, nlp_test = 0;
  int64_t nodes_min = 0, nodes_max = 0;  // target N of a layout graph (log-uniform)
  int64_t train_configs_min = 0, train_configs_max = 0;
  int64_t eval_configs = 1000;  // valid and test layout files
  int tile_train = 0, tile_valid = 0, tile_test = 0;
  int64_t tile_configs_max = 0;
  // One extra xla train graph for scale tests (0: none).
  int64_t largest_nodes = 0, largest_configs = 0;
};

// tiny | small | full; throws tgraph::Error for another name.
Preset preset_by_name(const std::string& name);

struct SynthOptions {
  std::string out_dir;  // files go to out_dir/npz/...
  std::string preset = "tiny";
  uint64_t seed = 0;
  int threads = 1;
  bool only_largest = false;  // write only the largest layout graph (both searches)
  int64_t max_configs = 0;    // cap on C of every file (0: none)
  int compression_level = 6;  // np.savez_compressed uses zlib's default, 6
  bool force = false;         // replace existing .npz files under out_dir/npz
  std::function<void(const std::string&)> log;  // progress lines; may be empty
};

struct SynthFile {
  std::string path;        // relative to out_dir
  std::string collection;  // layout:xla:random, ..., tile:xla
  std::string split;
  int64_t nodes = 0, edges = 0, config_nodes = -1, configs = 0;
  uint64_t bytes = 0;
};

struct SynthReport {
  std::vector<SynthFile> files;  // sorted by path
  uint64_t total_bytes = 0;
};

// Generates the dataset. Bad options -> tgraph::Error.
SynthReport synthesize(const SynthOptions& opt);

struct Module;
// The module behind one layout file of a dataset made with (preset, seed): the file's source
// ("xla" | "nlp"), split and stem, as in npz/layout/<source>/<search>/<split>/<stem>.npz. The plan
// is replayed exactly as synthesize() makes it (max_configs does not change the graphs). Throws
// tgraph::Error when the plan has no such file.
Module regenerate_layout_module(const std::string& preset, uint64_t seed, const std::string& source,
                                const std::string& split, const std::string& stem);

}  // namespace tgraph::synth
