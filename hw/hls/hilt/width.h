// hilt HLS kernel library: stream width converters.
//
// The kernels stream one value per beat; a DMA moves wider words. These convert between N values of
// BITS bits and words of WORD bits holding WORD / BITS values each, lowest value in the lowest bits
// (the AXI byte-lane order), sign-extending on the way back.
#ifndef HILT_WIDTH_H
#define HILT_WIDTH_H

#include "numerics.h"
#include "stream.h"

namespace hilt {

typedef uint64_t word_t;  ///< up to 64-bit words

/// Pack N values of BITS bits into ceil(N / (WORD / BITS)) words. P: N, BITS, WORD.
template <class P>
void pack(hls::stream<data_t> &in, hls::stream<word_t> &out) {
  const int per_word = P::WORD / P::BITS;
  const word_t mask = ((word_t)1 << P::BITS) - 1;
  word_t w = 0;
  int filled = 0;
  for (int i = 0; i < P::N; i++) {
    HILT_HLS(PIPELINE II = 1)
    w |= ((word_t)(uint32_t)in.read() & mask) << (filled * P::BITS);
    if (++filled == per_word || i == P::N - 1) {
      out.write(w);
      w = 0;
      filled = 0;
    }
  }
}

/// Unpack words back into N sign-extended values. P: N, BITS, WORD.
template <class P>
void unpack(hls::stream<word_t> &in, hls::stream<data_t> &out) {
  const int per_word = P::WORD / P::BITS;
  const word_t mask = ((word_t)1 << P::BITS) - 1;
  word_t w = 0;
  for (int i = 0; i < P::N; i++) {
    HILT_HLS(PIPELINE II = 1)
    if (i % per_word == 0) w = in.read();
    const word_t u = (w >> ((i % per_word) * P::BITS)) & mask;
    out.write((data_t)((u >> (P::BITS - 1)) ? (acc_t)(u | ~mask) : (acc_t)u));
  }
}

}  // namespace hilt

#endif  // HILT_WIDTH_H
