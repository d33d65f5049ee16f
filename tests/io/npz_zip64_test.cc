// Real ZIP64: one member larger than 4 GiB uncompressed. Written with deflate level 1 (the data is
// a simple pattern, so the archive itself is small) and read back from the far end, which also
// shows that a row range is reached by streaming, not by inflating the member into memory; then
// streamed whole and read whole (a whole read of a 12.7 GB member once failed with "trailing
// bytes"; issue #11). Peak memory: the 4 GiB array.
#include <gtest/gtest.h>

#include "../test_util.h"
#include "tgraph/io/npz.h"

namespace tgraph {

TEST(NpzZip64, MemberLargerThan4GiBRoundTrips) {
  test::TempDir d;
  const int64_t rows = (int64_t(1) << 32) / 64 + 1000;  // 64-byte rows: 4 GiB + 64000 bytes
  auto value = [](uint64_t elem) { return static_cast<uint32_t>(elem * 2654435761u >> 7) & 0xff; };
  {
    NpzWriter w(d.file("big.npz"), 1);
    w.add("small", std::vector<int64_t>{1, 2, 3}, {3});
    w.add_stream("huge", DType::kU8, {rows, 64}, [&](uint8_t* dst, uint64_t off, uint64_t n) {
      for (uint64_t i = 0; i < n; ++i) dst[i] = static_cast<uint8_t>(value((off + i) / 4096));
    });
    w.commit();
  }
  NpzReader r(d.file("big.npz"));
  const NpzMemberInfo& m = r.member("huge");
  EXPECT_GT(m.size, uint64_t(1) << 32);
  EXPECT_EQ(r.header("huge").shape, (std::vector<int64_t>{rows, 64}));
  NdArray tail = r.read_rows("huge", rows - 10, rows);  // to the end: the CRC is checked too
  for (int64_t i = 0; i < tail.numel(); ++i) {
    uint64_t byte = static_cast<uint64_t>((rows - 10) * 64 + i);
    ASSERT_EQ(tail.data<uint8_t>()[i], value(byte / 4096)) << "byte " << byte;
  }
  EXPECT_EQ(r.read("small").to_vector<int64_t>(), (std::vector<int64_t>{1, 2, 3}));

  // Streamed whole in chunks, then read whole into memory (4 GiB): both must end exactly at the
  // member's end (CRC checked, no trailing bytes) with the right bytes throughout.
  int64_t seen = 0;
  r.for_each_rows("huge", 1 << 20, [&](const NdArray& c, int64_t r0) {
    ASSERT_EQ(r0, seen);
    const uint64_t at = static_cast<uint64_t>(r0) * 64;
    ASSERT_EQ(c.data<uint8_t>()[0], value(at / 4096)) << "byte " << at;
    seen += c.shape()[0];
  });
  EXPECT_EQ(seen, rows);
  NdArray whole = r.read("huge");
  ASSERT_EQ(whole.shape(), (std::vector<int64_t>{rows, 64}));
  const uint8_t* p = whole.data<uint8_t>();
  for (uint64_t byte = 0; byte < static_cast<uint64_t>(rows) * 64; byte += 4096 * 997)
    ASSERT_EQ(p[byte], value(byte / 4096)) << "byte " << byte;
  EXPECT_EQ(p[rows * 64 - 1], value((rows * 64 - 1) / 4096));
}

}  // namespace tgraph
