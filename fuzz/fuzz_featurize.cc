// libFuzzer harness: the XLA tuning-record featurizer (protobuf parsing, graph building, layout
// and tile features) on arbitrary bytes.
#include <cstddef>
#include <cstdint>

#include "fuzz_util.h"
#include "tgraph/featurize/featurize.h"
#include "tgraph/util/error.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string& p = tgraph::fuzz::write_input(data, size, ".pb");
  try {
    tgraph::featurize::featurize_record(p);
  } catch (const tgraph::Error&) {
  }
  return 0;
}
