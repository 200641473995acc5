// hilt HLS kernel library: the fixed-point primitives of docs/numerics.md.
//
// Values travel as data_t (the 8- or 16-bit word sign-extended); accumulators are computed exactly in
// 64 bits and wrapped to the contract's width once, which equals a wrapping adder of that width.
#ifndef HILT_NUMERICS_H
#define HILT_NUMERICS_H

#include <stdint.h>

namespace hilt {

typedef int32_t data_t;  ///< one activation, error or weight per stream beat
typedef int64_t acc_t;   ///< accumulator (wrapped to ACC_BITS / 48 bits by wrap())

/// v * 2^-s rounded half up: (v + 2^(s-1)) >> s for s > 0 (arithmetic shift), v * 2^-s for s <= 0.
inline acc_t shift_round(acc_t v, int s) {
  if (s > 0) return (v + ((acc_t)1 << (s - 1))) >> s;
  if (s < 0) return v * ((acc_t)1 << (-s));
  return v;
}

/// Clamp to the signed range of `bits`.
inline acc_t saturate(acc_t v, int bits) {
  const acc_t hi = ((acc_t)1 << (bits - 1)) - 1;
  const acc_t lo = -hi - 1;
  return v > hi ? hi : (v < lo ? lo : v);
}

/// Two's-complement wrap-around to `bits` (what a fixed-width adder does on overflow).
inline acc_t wrap(acc_t v, int bits) {
  if (bits >= 64) return v;
  const uint64_t mask = ((uint64_t)1 << bits) - 1;
  const uint64_t u = (uint64_t)v & mask;
  return (u >> (bits - 1)) ? (acc_t)(u | ~mask) : (acc_t)u;
}

/// Accumulator to output word: shift with round-half-up, then saturate.
inline data_t requantize(acc_t acc, int shift, int bits) { return (data_t)saturate(shift_round(acc, shift), bits); }

}  // namespace hilt

#endif  // HILT_NUMERICS_H
