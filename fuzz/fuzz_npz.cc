// libFuzzer harness: the npz reader (libzip, ZIP64, deflate, npy headers, whole and row-range
// reads) on arbitrary archives. Bad input must be a tgraph::Error; memory stays bounded by the
// declared-size checks.
#include <cstddef>
#include <cstdint>

#include "fuzz_util.h"
#include "tgraph/io/npz.h"
#include "tgraph/util/error.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string& p = tgraph::fuzz::write_input(data, size, ".npz");
  try {
    tgraph::NpzReader r(p);
    for (const auto& m : r.members()) {
      try {
        tgraph::NpyHeader h = r.header(m.key);
        if (h.data_bytes() > (64u << 20)) continue;  // keep each input cheap
        tgraph::NdArray a = r.read(m.key);
        if (!h.shape.empty() && h.shape[0] > 1) r.read_rows(m.key, 1, h.shape[0]);
      } catch (const tgraph::Error&) {
      }
    }
  } catch (const tgraph::Error&) {
  }
  return 0;
}
