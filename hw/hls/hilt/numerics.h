// hilt HLS kernel library: the fixed-point primitives of docs/numerics.md.
//
// Values travel as data_t (the 8- or 16-bit word sign-extended); accumulators are computed exactly in
// 64 bits and wrapped to the contract's width once, which equals a wrapping adder of that width.
// Storage at the contract's widths (accumulators 32 / 48 bits, gradient memories 48 bits) is int_t<N>:
// Xilinx's ap_int<N> under synthesis or HILT_VENDOR_HEADERS, else an equivalent written for hilt.
#ifndef HILT_NUMERICS_H
#define HILT_NUMERICS_H

#include <stdint.h>

#if defined(HILT_VENDOR_STREAM) && !defined(HILT_VENDOR_HEADERS)
#define HILT_VENDOR_HEADERS
#endif
#if defined(__SYNTHESIS__) || defined(HILT_VENDOR_HEADERS)
#if defined(__GNUC__) && !defined(__clang__)
// ap_private's default constructor masks its value before setting it; g++ -O2 flags that inside the
// vendor's own text. Silenced for that text only: the state at a diagnostic's location is what counts.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#include <ap_int.h>
#pragma GCC diagnostic pop
#else
#include <ap_int.h>
#endif
#endif

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

#if defined(__SYNTHESIS__) || defined(HILT_VENDOR_HEADERS)
template <int N>
using int_t = ap_int<N>;
#else
/// A signed N-bit register (1 <= N <= 64), as ap_int<N> behaves for what the kernels do: arithmetic is
/// done on the widened (int64) value, storing wraps to N bits in two's complement.
template <int N>
class int_t {
  static_assert(N >= 1 && N <= 64, "int_t holds 1 to 64 bits");

 public:
  int_t() : v_(0) {}
  int_t(acc_t v) : v_(wrap(v, N)) {}  // NOLINT: implicit, like ap_int's constructors
  operator acc_t() const { return v_; }
  int_t &operator=(acc_t v) {
    v_ = wrap(v, N);
    return *this;
  }
  int_t &operator+=(acc_t v) { return *this = v_ + v; }
  int_t &operator-=(acc_t v) { return *this = v_ - v; }

 private:
  acc_t v_;
};
#endif

/// The contract's storage widths (docs/numerics.md): weight-gradient memories, 48 bits.
typedef int_t<48> grad_acc_t;

/// N values in one stream beat: the first window generator's input when it takes N values a cycle (the
/// plan's ppc), one word of N x data_t on the FIFO (N x BITS bits of it are used).
template <int N>
struct vec {
  data_t v[N];
};

/// Values per beat of a stream element type: 1 for data_t, N for vec<N>; lane(b, s) is value s of beat b.
template <class T>
struct lanes {
  static const int N = 1;
  static data_t lane(const T &b, int) { return b; }
};
template <int M>
struct lanes<vec<M> > {
  static const int N = M;
  static data_t lane(const vec<M> &b, int s) { return b.v[s]; }
};

}  // namespace hilt

#endif  // HILT_NUMERICS_H
