// libFuzzer harness: reading users' HLO dumps (gzip, text / binary detection, text-format and
// binary protobuf parsing, graph building, the module's own layouts) on arbitrary bytes, through
// the in-memory entry points of hlo_input.h.
#include <cstddef>
#include <cstdint>
#include <string>

#include "tgraph/featurize/hlo_input.h"
#include "tgraph/util/error.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string bytes(reinterpret_cast<const char*>(data), size);
  tgraph::featurize::ModuleGraphOptions opt;
  opt.max_bytes = size_t(64) << 20;  // a gzip input inflates to at most 64 MiB here (not 2 GiB)
  try {
    tgraph::featurize::detect_hlo_bytes(bytes, "input", opt.max_bytes);
  } catch (const tgraph::Error&) {
  }
  try {
    tgraph::featurize::featurize_module_bytes(bytes, "input", opt);
  } catch (const tgraph::Error&) {
  }
  return 0;
}
