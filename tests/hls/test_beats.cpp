// AXI4-Stream beat packing: for each (BITS, WORD, N) below, reads N values from stdin, packs them as one
// section with TLAST requested, and prints "BITS WORD N DATA_HEX LAST_FLAGS ROUND_TRIP": the beats' bytes
// little-endian in hex, the TLAST of every beat (0/1), and whether unpacking gave the values back.
// The pytest driver compares the bytes with sw/hilt/accel/interface.py's pack.
#include <cstdio>

#include "hilt/dataflow.h"
#include "hilt/width.h"

template <int N_, int BITS_, int WORD_>
struct cfg {
  static const int N = N_, BITS = BITS_, WORD = WORD_;
};

template <class P>
static int run() {
  typedef typename hilt::axis<P::WORD>::beat beat_t;
  HILT_STREAM(int64_t, values, P::N);
  HILT_STREAM(int64_t, back, P::N);
  HILT_STREAM(beat_t, beats, P::N);
  HILT_STREAM(beat_t, copy, P::N);
  int64_t v[P::N];
  for (int i = 0; i < P::N; i++) {
    long long x;
    if (std::scanf("%lld", &x) != 1) return 1;
    v[i] = x;
    values.write(v[i]);
  }
  hilt::pack_beats<P>(values, beats, true);
  std::printf("%d %d %d ", P::BITS, P::WORD, P::N);
  char flags[P::N + 1];
  int n = 0;
  while (!beats.empty()) {
    beat_t b = beats.read();
    flags[n++] = b.last ? '1' : '0';
    if (b.keep.to_uint64() != (P::WORD >= 512 ? ~0ull : ((1ull << (P::WORD / 8)) - 1))) return 2;
    for (int k = 0; k < P::WORD / 64; k++) {
      const uint64_t w = b.data.range(64 * k + 63, 64 * k).to_uint64();
      for (int byte = 0; byte < 8; byte++) std::printf("%02x", (unsigned)((w >> (8 * byte)) & 0xFF));
    }
    copy.write(b);
  }
  flags[n] = 0;
  hilt::unpack_beats<P>(copy, back);
  int same = 1;
  for (int i = 0; i < P::N; i++) same &= back.read() == v[i];
  std::printf(" %s %d\n", flags, same);
  return 0;
}

int main() {
  int rc = run<cfg<13, 8, 64> >() | run<cfg<16, 8, 64> >() | run<cfg<33, 8, 128> >() | run<cfg<7, 16, 64> >() |
           run<cfg<9, 16, 128> >() | run<cfg<5, 32, 64> >() | run<cfg<3, 32, 128> >() | run<cfg<3, 64, 128> >() |
           run<cfg<1, 8, 128> >();
  return rc;
}
