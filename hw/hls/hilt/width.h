// hilt HLS kernel library: stream width converters and AXI4-Stream beats.
//
// The kernels stream one value per beat; a DMA moves wider words. These convert between N values of
// BITS bits and words of WORD bits holding WORD / BITS values each, lowest value in the lowest bits
// (the AXI byte-lane order), sign-extending on the way back.
//
// On the accelerator's ports the words are AXI4-Stream beats, ap_axiu<W, 0, 0, 0> (members data, keep,
// strb, last): Xilinx's <ap_axi_sdata.h> under synthesis or HILT_VENDOR_HEADERS, else the shim below with
// the same member names and layout. The beat layout is the one sw/hilt/accel/interface.py defines: a
// section's elements little-endian, element i at bit i * BITS, every section starting on a new beat (the
// last beat zero-padded), TKEEP and TSTRB all ones, TLAST on the last beat of a call's output.
#ifndef HILT_WIDTH_H
#define HILT_WIDTH_H

#include "numerics.h"
#include "stream.h"

#if defined(__SYNTHESIS__)
#define HILT_VENDOR_AXIS 1
#elif defined(HILT_VENDOR_HEADERS) && defined(__has_include)
#if __has_include(<ap_axi_sdata.h>)
#define HILT_VENDOR_AXIS 1
#endif
#endif

#ifdef HILT_VENDOR_AXIS
#include <ap_axi_sdata.h>
#else
namespace hilt {

#ifdef HILT_VENDOR_HEADERS
// Xilinx's ap_int.h without ap_axi_sdata.h (the Apache-2.0 ap_types set): the beat's fields are ap_uint.
template <int N>
using field_t = ap_uint<N>;
#else

/// An unsigned N-bit field for the shim's beat: what ap_uint<N> offers the helpers below
/// (assignment from an integer, range(hi, lo) read and write, to_uint64()).
template <int N>
class bits_t {
 public:
  static const int WORDS = (N + 63) / 64;
  bits_t() { clear(); }
  bits_t(uint64_t v) { *this = v; }  // NOLINT: implicit, like ap_uint's constructors
  bits_t &operator=(uint64_t v) {
    clear();
    w_[0] = N >= 64 ? v : (v & (((uint64_t)1 << (N % 64)) - 1));
    return *this;
  }
  uint64_t to_uint64() const { return w_[0]; }
  operator bool() const {
    for (int i = 0; i < WORDS; i++)
      if (w_[i]) return true;
    return false;
  }

  /// Bits hi..lo (at most 64 of them, not crossing a 64-bit boundary of the field).
  struct range_ref {
    bits_t *f;
    int hi, lo;
    uint64_t mask() const { return hi - lo == 63 ? ~(uint64_t)0 : (((uint64_t)1 << (hi - lo + 1)) - 1); }
    range_ref &operator=(uint64_t v) {
      uint64_t &w = f->w_[lo / 64];
      w = (w & ~(mask() << (lo % 64))) | ((v & mask()) << (lo % 64));
      return *this;
    }
    uint64_t to_uint64() const { return (f->w_[lo / 64] >> (lo % 64)) & mask(); }
  };
  range_ref range(int hi, int lo) {
    range_ref r = {this, hi, lo};
    return r;
  }

 private:
  void clear() {
    for (int i = 0; i < WORDS; i++) w_[i] = 0;
  }
  uint64_t w_[WORDS];
};

template <int N>
using field_t = bits_t<N>;
#endif

}  // namespace hilt

/// The shim's AXI4-Stream beat: ap_axiu's members, in its order, for no TUSER, TID or TDEST.
template <int D, int U, int TI, int TD>
struct ap_axiu;

template <int D>
struct ap_axiu<D, 0, 0, 0> {
  hilt::field_t<D> data = 0;  // initialised, so g++ -Wall sees no read of an unset ap_uint
  hilt::field_t<(D + 7) / 8> keep = 0;
  hilt::field_t<(D + 7) / 8> strb = 0;
  hilt::field_t<1> last = 0;
};
#endif

namespace hilt {

typedef uint64_t word_t;  ///< up to 64-bit words

/// The AXI4-Stream beat of a W-bit port.
template <int W>
struct axis {
  typedef ap_axiu<W, 0, 0, 0> beat;
};

/// The value in slot `slot` of a beat, sign-extended from BITS. P: BITS.
template <class P, class B>
inline int64_t beat_value(B &b, int slot) {
  const uint64_t u = b.data.range(slot * P::BITS + P::BITS - 1, slot * P::BITS).to_uint64();
  return P::BITS == 64 ? (int64_t)u : (int64_t)(u << (64 - P::BITS)) >> (64 - P::BITS);
}

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

/// One section onto the output port: N values of BITS bits packed into ceil(N * BITS / WORD) beats of
/// WORD bits, TKEEP/TSTRB all ones, TLAST on the section's last beat when `last` is set (the call's last
/// section). T: the value stream's type (data_t, or a 64-bit type for 64-bit sections). P: N, BITS, WORD.
template <class P, class T>
void pack_beats(hls::stream<T> &in, hls::stream<typename axis<P::WORD>::beat> &out, bool last) {
  static_assert(P::WORD % P::BITS == 0 && P::BITS <= 64, "a value may not straddle two beats");
  typedef typename axis<P::WORD>::beat beat_t;
  const int per_beat = P::WORD / P::BITS;
  beat_t b;
  b.data = 0;
  for (int i = 0; i < P::N; i++) {
    HILT_HLS(PIPELINE II = 1)
    const int slot = i % per_beat;
    b.data.range(slot * P::BITS + P::BITS - 1, slot * P::BITS) = (uint64_t)(int64_t)in.read();
    if (slot == per_beat - 1 || i == P::N - 1) {
      b.keep = -1;
      b.strb = -1;
      b.last = (last && i == P::N - 1) ? 1 : 0;
      out.write(b);
      b.data = 0;
    }
  }
}

/// One section from the input port: ceil(N * BITS / WORD) beats back into N sign-extended values (TLAST
/// ignored: the accelerator counts beats from the layout). P: N, BITS, WORD.
template <class P, class T>
void unpack_beats(hls::stream<typename axis<P::WORD>::beat> &in, hls::stream<T> &out) {
  static_assert(P::WORD % P::BITS == 0 && P::BITS <= 64, "a value may not straddle two beats");
  typedef typename axis<P::WORD>::beat beat_t;
  const int per_beat = P::WORD / P::BITS;
  beat_t b;
  for (int i = 0; i < P::N; i++) {
    HILT_HLS(PIPELINE II = 1)
    const int slot = i % per_beat;
    if (slot == 0) b = in.read();
    out.write((T)beat_value<P>(b, slot));
  }
}

/// One section from the input port as beats of L values (the first conv's input at ppc = L): a port beat
/// holds a whole number of them. P: N, BITS, WORD.
template <class P, int L>
void unpack_vec(hls::stream<typename axis<P::WORD>::beat> &in, hls::stream<vec<L> > &out) {
  static_assert((P::WORD / P::BITS) % L == 0 && P::N % L == 0, "L must divide a beat's values and N");
  const int per_beat = P::WORD / P::BITS;
  typename axis<P::WORD>::beat b;
  for (int i = 0; i < P::N / L; i++) {
    HILT_HLS(PIPELINE II = 1)
    const int slot = (i * L) % per_beat;
    if (slot == 0) b = in.read();
    vec<L> v;
    for (int s = 0; s < L; s++) {
      HILT_HLS(UNROLL)
      v.v[s] = (data_t)beat_value<P>(b, slot + s);
    }
    out.write(v);
  }
}

/// One section of L-value beats onto the output port (pack_beats for vec<L>). P: N, BITS, WORD.
template <class P, int L>
void pack_vec(hls::stream<vec<L> > &in, hls::stream<typename axis<P::WORD>::beat> &out, bool last) {
  static_assert((P::WORD / P::BITS) % L == 0 && P::N % L == 0, "L must divide a beat's values and N");
  typedef typename axis<P::WORD>::beat beat_t;
  const int per_beat = P::WORD / P::BITS;
  beat_t b;
  b.data = 0;
  for (int i = 0; i < P::N / L; i++) {
    HILT_HLS(PIPELINE II = 1)
    const int slot = (i * L) % per_beat;
    const vec<L> v = in.read();
    for (int s = 0; s < L; s++) {
      HILT_HLS(UNROLL)
      b.data.range((slot + s) * P::BITS + P::BITS - 1, (slot + s) * P::BITS) = (uint64_t)(int64_t)v.v[s];
    }
    if (slot + L == per_beat || i == P::N / L - 1) {
      b.keep = -1;
      b.strb = -1;
      b.last = (last && i == P::N / L - 1) ? 1 : 0;
      out.write(b);
      b.data = 0;
    }
  }
}

/// One input section into an array of N elements (weights, biases). P: N, BITS, WORD.
template <class P, class T>
void unpack_to_array(hls::stream<typename axis<P::WORD>::beat> &in, T *dst) {
  static_assert(P::WORD % P::BITS == 0 && P::BITS <= 64, "a value may not straddle two beats");
  const int per_beat = P::WORD / P::BITS;
  typename axis<P::WORD>::beat b;
  for (int i = 0; i < P::N; i++) {
    HILT_HLS(PIPELINE II = 1)
    if (i % per_beat == 0) b = in.read();
    dst[i] = (T)beat_value<P>(b, i % per_beat);
  }
}

/// One input section into an R x C matrix, row-major (a layer's O x K weights). P: N = R * C, BITS, WORD.
template <class P, int R, int C, class T>
void unpack_to_matrix(hls::stream<typename axis<P::WORD>::beat> &in, T dst[R][C]) {
  static_assert(P::N == R * C && P::WORD % P::BITS == 0, "N must be R x C; a value may not straddle two beats");
  const int per_beat = P::WORD / P::BITS;
  typename axis<P::WORD>::beat b;
  for (int i = 0; i < P::N; i++) {
    HILT_HLS(PIPELINE II = 1)
    if (i % per_beat == 0) b = in.read();
    dst[i / C][i % C] = (T)beat_value<P>(b, i % per_beat);
  }
}

/// One input section onto two FIFOs (a forward tap that two backward units read). P: N, BITS, WORD.
template <class P, class T>
void unpack_beats2(hls::stream<typename axis<P::WORD>::beat> &in, hls::stream<T> &a, hls::stream<T> &b2) {
  const int per_beat = P::WORD / P::BITS;
  typename axis<P::WORD>::beat b;
  for (int i = 0; i < P::N; i++) {
    HILT_HLS(PIPELINE II = 1)
    if (i % per_beat == 0) b = in.read();
    const T v = (T)beat_value<P>(b, i % per_beat);
    a.write(v);
    b2.write(v);
  }
}

/// Skip one input section (a tap no backward unit needs). P: N, BITS, WORD.
template <class P>
void skip_beats(hls::stream<typename axis<P::WORD>::beat> &in) {
  for (int i = 0; i < (P::N * P::BITS + P::WORD - 1) / P::WORD; i++) {
    HILT_HLS(PIPELINE II = 1)
    in.read();
  }
}

}  // namespace hilt

#endif  // HILT_WIDTH_H
