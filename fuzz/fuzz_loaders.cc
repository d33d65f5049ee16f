// libFuzzer harness: the TpuGraphs layout and tile loaders (full schema validation) and the
// sample preparation that follows them (pruning at every reach, re-padding) on arbitrary archives.
#include <cstddef>
#include <cstdint>
#include <memory>

#include "fuzz_util.h"
#include "tgraph/data/sample.h"
#include "tgraph/graph/tpugraphs.h"
#include "tgraph/util/error.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string& p = tgraph::fuzz::write_input(data, size, ".npz");
  try {
    auto g = std::make_shared<const tgraph::LayoutGraph>(tgraph::load_layout(p));
    tgraph::Sample s = tgraph::sample_from_layout(g, tgraph::Reach{}, true);
    // The other reaches walk the graph differently (hop distances, chains of dropped nodes).
    for (const tgraph::Reach& r : {tgraph::Reach::contract(), tgraph::Reach::with_hops(3)})
      tgraph::sample_from_layout(g, r, true);
    if (s.num_configs > 0) {
      std::vector<float> buf(static_cast<size_t>(s.config_width));
      s.read_configs({s.num_configs - 1}, buf.data());
    }
  } catch (const tgraph::Error&) {
  }
  try {
    auto t = std::make_shared<const tgraph::TileGraph>(tgraph::load_tile(p));
    tgraph::sample_from_tile(t, true);
  } catch (const tgraph::Error&) {
  }
  return 0;
}
