// libFuzzer harness: the model-file reader (container, header JSON, tensor table, CRC-32, finite
// weights, hyper-parameter bounds, architecture check) on arbitrary bytes, through load_model (the
// path every command and the API take), single models and ensembles alike.
#include <cstddef>
#include <cstdint>

#include "fuzz_util.h"
#include "tgraph/model/model_file.h"
#include "tgraph/util/error.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string& p = tgraph::fuzz::write_input(data, size, ".tgm");
  try {
    tgraph::read_model_header(p);
    tgraph::load_model(p, torch::kCPU);
  } catch (const tgraph::Error&) {
  }
  return 0;
}
