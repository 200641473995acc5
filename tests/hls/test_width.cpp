// Round trip of the stream width converters: values packed into words and back are unchanged, and
// the packed words hold the lowest value in the lowest bits.
#include <cstdio>

#include "hilt/dataflow.h"
#include "hilt/width.h"

struct P8 { static const int N = 13, BITS = 8, WORD = 32; };
struct P16 { static const int N = 7, BITS = 16, WORD = 64; };

template <class P>
static int round_trip(int seed) {
  // called one after the other, so each stream holds a whole call's values
  HILT_STREAM(hilt::data_t, in, P::N);
  HILT_STREAM(hilt::data_t, back, P::N);
  HILT_STREAM(hilt::word_t, words, P::N);
  hilt::data_t values[P::N];
  const int lo = -(1 << (P::BITS - 1)), span = 1 << P::BITS;
  for (int i = 0; i < P::N; i++) {
    values[i] = lo + (i * 7919 + seed * 104729) % span;
    in.write(values[i]);
  }
  hilt::pack<P>(in, words);
  const int per_word = P::WORD / P::BITS;
  if ((int)words.size() != (P::N + per_word - 1) / per_word) return 1;
  HILT_STREAM(hilt::word_t, copy, P::N);
  const hilt::word_t first = words.read();
  if ((hilt::data_t)(int8_t)(first & 0xFF) != (hilt::data_t)(int8_t)(values[0] & 0xFF)) return 2;
  copy.write(first);
  while (!words.empty()) copy.write(words.read());
  hilt::unpack<P>(copy, back);
  for (int i = 0; i < P::N; i++)
    if (back.read() != values[i]) return 3;
  return 0;
}

int main() {
  for (int seed = 0; seed < 5; seed++) {
    const int a = round_trip<P8>(seed), b = round_trip<P16>(seed);
    if (a || b) {
      std::printf("width converter round trip failed: %d %d\n", a, b);
      return 1;
    }
  }
  std::printf("ok\n");
  return 0;
}
