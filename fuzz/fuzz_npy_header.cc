// libFuzzer harness: the npy header parser on arbitrary bytes. Bad input must be a tgraph::Error.
#include <cstddef>
#include <cstdint>

#include "tgraph/io/npy.h"
#include "tgraph/util/error.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  tgraph::NpyHeader h;
  size_t need = 0;
  try {
    if (tgraph::parse_npy_header(data, size, "fuzz.npy", &h, &need)) (void)h.data_bytes();
  } catch (const tgraph::Error&) {
  }
  return 0;
}
