// hilt HLS kernel library: forward layer kernels.
//
// Streams carry one value per beat in pixel-major, channel-minor order (HWC), which is what a
// streaming window generator needs. Every kernel takes its layer's parameter struct P as the only
// template parameter, so all signatures look alike; the struct is generated per layer instance.
// All arithmetic follows docs/numerics.md and is compared bit for bit with the golden model.
#ifndef HILT_LAYERS_H
#define HILT_LAYERS_H

#include "dataflow.h"
#include "numerics.h"
#include "stream.h"

// HILT_TRIP(kind) marks one iteration of a pipelined loop (one cycle at II = 1) of the layer struct P:
// `slide` a window generator's step, `stream` where it or a vector reader takes a value (or ppc),
// `window` a window beat emitted, `compute` an MVAU's fold step, `out` an output value serialized,
// `grad` a gradient unit's (o, k) step. Empty for synthesis; the C simulation counts them to check the
// performance model (hilt.codegen.reachable).
#ifndef HILT_TRIP
#define HILT_TRIP(kind)
#endif

// HILT_ARRAY(var) follows every memory a kernel of layer struct P declares (HILT_ARRAY_STATIC(var): the top's
// file-scope memories): empty for synthesis; the C simulation's census (codegen/census.h) records each
// array's elements and element width, which tests compare with the memory plan (hilt.plan.memory).
#ifndef HILT_ARRAY
#define HILT_ARRAY(var)
#define HILT_ARRAY_STATIC(var)
#endif

namespace hilt {

/// The line buffer's banks (factors of cyclic partitions; docs/hls.md: folding): columns X, channels CH.
/// Reads: a window row's KW columns at any offset fall into distinct column banks when X >= KW; Op::CH_BANKS
/// lanes that read one (row, column) in the same cycle fall into distinct channel banks. Writes: PPC
/// consecutive stream values span at most PPC columns (X >= PPC) and min(PPC, C) channels of one column.
template <class P, class Op, int PPC>
struct line_banks {
  static const int X = P::KW > PPC ? P::KW : PPC;
  static const int WRITE_CH = PPC < P::C ? PPC : P::C;
  static const int CH = Op::CH_BANKS > WRITE_CH ? Op::CH_BANKS : WRITE_CH;
};

/// Sliding-window generator: streams the padded map through KH + 1 line buffers and has `op` emit each
/// output pixel's Op::BEATS beats (op.beat(line, top, col, b, out)) while the next row arrives: one loop
/// per input row, pipelined at II = 1, reading a group of the row and emitting one beat each step, so a
/// row costs max(reads, beats) cycles, not their sum. P: C, H, W (input), KH, KW, SH, SW, PT, PL (padding
/// before), HP, WP (padded size, including bottom/right padding and any ceil-mode overhang), HO, WO.
/// `fill` is the value padding reads as (0, or the minimum for max-pooling). The input stream's element
/// In carries lanes<In>::N values (PPC: 1, or the plan's ppc for the first conv): a padded row is taken
/// PPC positions a cycle, ceil(WP * C / PPC) cycles a row.
///
/// The line buffer is banked so that one cycle can read a window's values and write PPC new ones: rows
/// completely (a window spans KH rows, the row being read is the KH + 1st), columns and channels
/// cyclically (line_banks).
/// \tparam P  the layer's config struct (params.h): the geometry fields above
/// \tparam In the input stream's element: data_t, or vec<PPC>
/// \tparam Op the per-pixel operation (WindowPixel, MaxPixel, AvgPixel): CH_BANKS, BEATS, beat()
template <class P, class In, class Op>
void slide(hls::stream<In> &in, hls::stream<data_t> &out, data_t fill, Op &op) {
  const int PPC = lanes<In>::N, ROW = P::WP * P::C, LO = P::PL * P::C, HI = (P::PL + P::W) * P::C;
  const int R = P::KH + 1, GROUPS = (ROW + PPC - 1) / PPC;
  typedef line_banks<P, Op, lanes<In>::N> banks;
  static_assert((P::W * P::C) % PPC == 0, "PPC must divide an image row's values (beats never straddle rows)");
  static_assert(banks::X >= P::KW && banks::X >= PPC && banks::CH >= 1, "the line buffer's banks");
  data_t line[P::KH + 1][P::WP][P::C];
  HILT_ARRAY(line);
  HILT_HLS(ARRAY_PARTITION variable = line complete dim = 1)
  HILT_HLS(ARRAY_PARTITION variable = line cyclic factor = banks::X dim = 2)
  HILT_HLS(ARRAY_PARTITION variable = line cyclic factor = banks::CH dim = 3)
  // A group of PPC row positions may straddle the padding's edge: its image values come from the
  // unused lanes of the last beat read (`avail` of `held`) and, at most once a cycle, a new beat.
  In held = In();
  int avail = 0;
  for (int r = 0; r <= P::HP; r++) {  // r = HP: no row left to read, the last output row to emit
    const int top = r - P::KH;        // the output row whose window rows (top .. r - 1) are complete
    const bool emit = top >= 0 && top % P::SH == 0 && top / P::SH < P::HO;
    const bool row_inside = r >= P::PT && r < P::PT + P::H;
    const int reads = r < P::HP ? GROUPS : 0, emits = emit ? P::WO * Op::BEATS : 0;
    int col = 0, b = 0;
    for (int t = 0; t < (reads > emits ? reads : emits); t++) {
      HILT_HLS(PIPELINE II = 1)
      HILT_TRIP(slide);
      if (t < reads) {
        HILT_TRIP(stream);
        const int q0 = t * PPC;  // the group's first position in the padded row (column q / C, channel q % C)
        const int lo = q0 > LO ? q0 : LO, hi = q0 + PPC < HI ? q0 + PPC : HI;
        const int need = row_inside && hi > lo ? hi - lo : 0;
        In next = held;
        if (need > avail) next = in.read();
        for (int s = 0; s < PPC; s++) {
          HILT_HLS(UNROLL)
          const int q = q0 + s, u = q - lo;  // u: the lane's index among the group's image values
          if (q >= ROW) continue;
          const data_t v = u < 0 || u >= need ? fill
                           : u < avail        ? lanes<In>::lane(held, PPC - avail + u)
                                              : lanes<In>::lane(next, u - avail);
          line[r % R][q / P::C][q % P::C] = v;
        }
        avail = need > avail ? avail + PPC - need : avail - need;
        held = next;
      }
      if (t < emits) {
        op.beat(line, top, col, b, out);
        if (++b == Op::BEATS) {
          b = 0;
          col++;
        }
      }
    }
  }
}

/// Line-buffer channels banked for LANES window values read per cycle: consecutive window indices vary
/// the column, then the row, then the channel, so LANES of them share a (row, column) only every KH x KW.
template <class P, int LANES>
struct window_banks {
  static const int CH_BANKS = (LANES + P::KH * P::KW - 1) / (P::KH * P::KW);
};

/// Two products of one activation in one multiply, as a DSP48E2 does two int8 MACs (Xilinx WP486):
/// (w_hi * 2^18 + w_lo) * x fits its 27 x 18 multiplier; the low 18 bits are w_lo * x exactly (|w * x| <=
/// 2^14 for 8-bit operands) and the rest, plus that half's sign bit, is w_hi * x.
inline void mul_pair(acc_t w_lo, acc_t w_hi, acc_t x, acc_t &lo, acc_t &hi) {
  const int_t<27> pair = w_hi * ((acc_t)1 << 18) + w_lo;
  const int_t<8> a = x;
  const int_t<35> p = pair * a;
  HILT_HLS(BIND_OP variable = p op = mul impl = dsp)
  lo = wrap((acc_t)p, 18);
  hi = ((acc_t)p - lo) >> 18;
}

/// Weight (o, k) of a matrix-vector unit: W[o][k], or W[k][o] for a transposed (tied) one.
template <bool TIED, class M>
inline acc_t weight_at(M weight, int o, int k) {
  return TIED ? (acc_t)weight[k][o] : (acc_t)weight[o][k];
}

/// Matrix-vector unit: out[o] = requantize(wrap(bias[o] + sum_k weight[o][k] * x[g(o) * K + k])) for the
/// O outputs of each of N input vectors, PE outputs and SIMD inputs per cycle. P: O, G (groups), K (inputs
/// per output), PE, SIMD, BITS, ACC_BITS, SHIFT. The accumulators are ACC_BITS-bit registers (int_t: ap_int
/// under synthesis), wrapping as the contract's adder does; the summation order does not change the
/// wrapped result, so every folding gives the golden model's integers.
///
/// One pipelined loop of fold = (O / PE) x (K / SIMD) steps per vector at II = 1, its PE x SIMD
/// multiply-adds unrolled: the weights are partitioned cyclic by PE on rows and reshaped cyclic by SIMD on
/// columns (the top function's pragmas: one SIMD-wide word from each of PE banks a step). The input
/// arrives as G x K / SIMD beats of SIMD values; a group's first PE tile takes its beats from the stream
/// and keeps them (a tile never straddles two groups: PE divides O / G), the group's other tiles reread
/// them. Each tile leaves as one beat of PE values, so writing the outputs costs no step.
/// \tparam P the layer's config struct (params.h), folding PE x SIMD from the hardware plan
/// \tparam W the weight word (wgt_t)
/// \tparam N input vectors per sample (output pixels; 1 for a dense layer)
/// \tparam TIED the weights are the forward matrix read transposed (a dense layer's error unit: M is
///               W[K][O], no bias); else M is W[O][K]
/// \tparam PACK multiplies one DSP slice does (the plan's PACK: 2 for int8 on a DSP48E2, mul_pair)
template <class P, int N, bool TIED, int PACK = 1, class M>
void mvau(hls::stream<vec<P::SIMD> > &in, M weight, const acc_t *bias, hls::stream<vec<P::PE> > &out) {
  typedef int_t<P::ACC_BITS> accum_t;
  const int KT = P::K / P::SIMD, TILES = P::O / P::PE, PER_GROUP = P::O / P::G;
  const int PAIRS = PACK == 2 ? P::PE / 2 : 0;  // PE rows 2q and 2q + 1 share a multiplier per SIMD lane
  for (int n = 0; n < N; n++) {
    data_t x[P::G * P::K];  // the vector, kept for the group's later tiles: SIMD values in, SIMD out a step
    HILT_ARRAY(x);
    HILT_HLS(ARRAY_PARTITION variable = x cyclic factor = P::SIMD dim = 1)
    accum_t acc[P::PE];
    HILT_HLS(ARRAY_PARTITION variable = acc complete)
    int ot = 0, kt = 0;
    for (int f = 0; f < TILES * KT; f++) {
      HILT_HLS(PIPELINE II = 1)
      HILT_TRIP(compute);
      const int o0 = ot * P::PE, base = (o0 / PER_GROUP) * P::K + kt * P::SIMD;
      if (o0 % PER_GROUP == 0) {
        const vec<P::SIMD> v = in.read();
        for (int s = 0; s < P::SIMD; s++) {
          HILT_HLS(UNROLL)
          x[base + s] = v.v[s];
        }
      }
      acc_t prod[P::PE][P::SIMD];
      HILT_HLS(ARRAY_PARTITION variable = prod complete dim = 0)
      for (int s = 0; s < P::SIMD; s++) {
        HILT_HLS(UNROLL)
        const int k = kt * P::SIMD + s;
        for (int p = 0; p < P::PE; p++) {
          HILT_HLS(UNROLL)
          if (p >= 2 * PAIRS)
            prod[p][s] = weight_at<TIED>(weight, o0 + p, k) * (acc_t)x[base + s];
          else if (p % 2 == 0)
            mul_pair(weight_at<TIED>(weight, o0 + p, k), weight_at<TIED>(weight, o0 + p + 1, k), x[base + s],
                     prod[p][s], prod[p + 1][s]);
        }
      }
      for (int p = 0; p < P::PE; p++) {
        HILT_HLS(UNROLL)
        accum_t a = kt == 0 ? accum_t(TIED ? 0 : bias[o0 + p]) : acc[p];
        for (int s = 0; s < P::SIMD; s++) {
          HILT_HLS(UNROLL)
          a += prod[p][s];
        }
        acc[p] = a;
      }
      if (kt == KT - 1) {
        vec<P::PE> y;
        for (int p = 0; p < P::PE; p++) {
          HILT_HLS(UNROLL)
          y.v[p] = requantize((acc_t)acc[p], P::SHIFT, P::BITS);
        }
        out.write(y);
      }
      if (++kt == KT) {
        kt = 0;
        ot++;
      }
    }
  }
}

/// Beats of L values back to one value per beat: N values per sample (an MVAU's outputs onto the stream
/// to the next stage). P: the layer's config struct; N values.
template <class P, int L, int N>
void serialize(hls::stream<vec<L> > &in, hls::stream<data_t> &out) {
  vec<L> v = vec<L>();
  for (int i = 0; i < N; i++) {
    HILT_HLS(PIPELINE II = 1)
    HILT_TRIP(out);
    if (i % L == 0) v = in.read();
    out.write(v.v[i % L]);
  }
}

/// A conv's window generator: per output pixel its window, (c, i, j) order matching OIHW weights, as
/// C x KH x KW / LANES beats of LANES values (one a cycle): the MVAU's SIMD, or 1 for the gradient unit.
template <class P, int LANES>
struct WindowPixel {
  static const int CH_BANKS = window_banks<P, LANES>::CH_BANKS;
  static const int BEATS = P::C * P::KH * P::KW / LANES;
  hls::stream<vec<LANES> > *win;
  void beat(data_t line[P::KH + 1][P::WP][P::C], int top, int col, int kt, hls::stream<data_t> &unused) {
    (void)unused;
    HILT_TRIP(window);
    const int KK = P::KH * P::KW;
    vec<LANES> v;
    for (int s = 0; s < LANES; s++) {
      HILT_HLS(UNROLL)
      const int k = kt * LANES + s, c = k / KK, i = (k / P::KW) % P::KH, j = k % P::KW;
      v.v[s] = line[(top + i) % (P::KH + 1)][col * P::SW + j][c];
    }
    win->write(v);
  }
};

/// The window generator as a process of its own (see conv).
template <class P, int LANES, class In>
void windows(hls::stream<In> &in, hls::stream<vec<LANES> > &win) {
  WindowPixel<P, LANES> op = {&win};
  hls::stream<data_t> unused;
  slide<P>(in, unused, 0, op);
}

/// Convolution (ONNX Conv, groups, stride, padding): window generator, matrix-vector unit and output
/// serializer, three processes of a dataflow region (so reading the map, computing and writing overlap).
/// P adds to slide's fields: O, G, K = C/G*KH*KW, PE, SIMD, BITS, ACC_BITS, SHIFT.
/// \tparam P  the layer's config struct (params.h)
/// \tparam W  the weight word (wgt_t)
/// \tparam In the input stream's element: data_t, or vec<PPC> (the first conv of a plan with ppc > 1)
template <class P, class W, class In>
void conv(hls::stream<In> &in, hls::stream<data_t> &out, const W weight[P::O][P::K], const acc_t bias[P::O]) {
  HILT_DATAFLOW_BEGIN()
  HILT_STREAM(vec<P::SIMD>, win, 2);
  HILT_STREAM(vec<P::PE>, y, 2);
  HILT_PROCESS(windows<P, P::SIMD>(in, win));
  HILT_PROCESS(mvau<P, P::HO * P::WO, false, P::PACK>(win, weight, bias, y));
  HILT_PROCESS(serialize<P, P::PE, P::HO * P::WO * P::O>(y, out));
  HILT_DATAFLOW_END()
}

/// A dense layer's input vector as K / LANES beats of LANES values (the MVAU's SIMD, or 1 for the
/// gradient unit), read one value a cycle (T: the input FIFO's element).
template <class P, int LANES, class T>
void gather(hls::stream<T> &in, hls::stream<vec<LANES> > &x) {
  vec<LANES> v = vec<LANES>();
  for (int i = 0; i < P::K; i++) {
    HILT_HLS(PIPELINE II = 1)
    HILT_TRIP(stream);
    v.v[i % LANES] = in.read();
    if (i % LANES == LANES - 1) x.write(v);
  }
}

/// Fully connected layer (ONNX Gemm / MatMul+Add): the input vector gathered SIMD values a beat, one
/// matrix-vector pass, the outputs serialized, as three processes of a dataflow region.
/// P: I (= K), O, G = 1, PE, SIMD, BITS, ACC_BITS, SHIFT. Weight columns are in the stream's HWC order.
/// \tparam P the layer's config struct (params.h)
/// \tparam W the weight word (wgt_t)
template <class P, class W>
void dense(hls::stream<data_t> &in, hls::stream<data_t> &out, const W weight[P::O][P::K], const acc_t bias[P::O]) {
  HILT_DATAFLOW_BEGIN()
  HILT_STREAM(vec<P::SIMD>, x, 2);
  HILT_STREAM(vec<P::PE>, y, 2);
  HILT_PROCESS(gather<P, P::SIMD>(in, x));
  HILT_PROCESS(mvau<P, 1, false, P::PACK>(x, weight, bias, y));
  HILT_PROCESS(serialize<P, P::PE, P::O>(y, out));
  HILT_DATAFLOW_END()
}

/// ReLU on N values per sample.
/// \tparam P the layer's config struct (params.h): N
template <class P>
void relu(hls::stream<data_t> &in, hls::stream<data_t> &out) {
  for (int i = 0; i < P::N; i++) {
    HILT_HLS(PIPELINE II = 1)
    HILT_TRIP(stream);
    const data_t v = in.read();
    out.write(v > 0 ? v : 0);
  }
}

template <class P>
struct MaxPixel {
  static const int CH_BANKS = 1;  // one channel a cycle, its KH x KW window from distinct banks
  static const int BEATS = P::C;
  void beat(data_t line[P::KH + 1][P::WP][P::C], int top, int col, int c, hls::stream<data_t> &out) {
    HILT_TRIP(compute);
    data_t m = line[top % (P::KH + 1)][col * P::SW][c];
    for (int i = 0; i < P::KH; i++)
      for (int j = 0; j < P::KW; j++) {
        HILT_HLS(UNROLL)
        const data_t v = line[(top + i) % (P::KH + 1)][col * P::SW + j][c];
        m = v > m ? v : m;
      }
    out.write(m);
  }
};

/// Max pooling on quantized values; padding never wins. P: slide's fields.
/// \tparam P the layer's config struct (params.h)
template <class P>
void maxpool(hls::stream<data_t> &in, hls::stream<data_t> &out) {
  MaxPixel<P> op;
  slide<P>(in, out, (data_t)INT32_MIN, op);
}

template <class P>
struct AvgPixel {
  static const int CH_BANKS = 1;  // one channel a cycle, its KH x KW window from distinct banks
  static const int BEATS = P::C;
  void beat(data_t line[P::KH + 1][P::WP][P::C], int top, int col, int c, hls::stream<data_t> &out) {
    HILT_TRIP(compute);
    // the divisor follows ONNX: explicit padding counts when INCLUDE_PAD, the ceil overhang never does
    const int lo_r = P::INCLUDE_PAD ? 0 : P::PT, hi_r = P::INCLUDE_PAD ? P::PT + P::H + P::PB : P::PT + P::H;
    const int lo_c = P::INCLUDE_PAD ? 0 : P::PL, hi_c = P::INCLUDE_PAD ? P::PL + P::W + P::PR : P::PL + P::W;
    const int r0 = top, c0 = col * P::SW;
    const int rows = (r0 + P::KH < hi_r ? r0 + P::KH : hi_r) - (r0 > lo_r ? r0 : lo_r);
    const int cols = (c0 + P::KW < hi_c ? c0 + P::KW : hi_c) - (c0 > lo_c ? c0 : lo_c);
    const acc_t count = (acc_t)rows * cols;
    const acc_t recip = (((acc_t)1 << 16) + count / 2) / count;  // a constant table in hardware
    acc_t sum = 0;
    for (int i = 0; i < P::KH; i++)
      for (int j = 0; j < P::KW; j++) {
        HILT_HLS(UNROLL)
        sum += line[(top + i) % (P::KH + 1)][c0 + j][c];
      }
    out.write(requantize(sum * recip, 16, P::BITS));
  }
};

/// Average pooling: window sum times round(2^16 / count), shifted back by 16. P: slide's fields, PB, PR
/// (explicit padding after), INCLUDE_PAD, BITS.
/// \tparam P the layer's config struct (params.h)
template <class P>
void avgpool(hls::stream<data_t> &in, hls::stream<data_t> &out) {
  AvgPixel<P> op;
  slide<P>(in, out, 0, op);
}

/// Local response normalisation across channels with the quantized model's lookup table:
/// S = sum of x^2 over the channel window, y = requantize(x * lut[min(S >> LUT_SHIFT, LUT_SIZE - 1)]).
/// P: C, H, W, BEFORE, AFTER (window extent), LUT_SHIFT, LUT_SIZE, SHIFT, BITS.
/// \tparam P the layer's config struct (params.h)
template <class P>
void lrn(hls::stream<data_t> &in, hls::stream<data_t> &out, const data_t lut[P::LUT_SIZE]) {
  for (int px = 0; px < P::H * P::W; px++) {
    data_t x[P::C];
    HILT_ARRAY(x);
    HILT_HLS(ARRAY_PARTITION variable = x complete dim = 1)  // BEFORE + AFTER + 1 neighbours a cycle
    for (int c = 0; c < P::C; c++) {
      HILT_HLS(PIPELINE II = 1)
      HILT_TRIP(stream);
      x[c] = in.read();
    }
    for (int c = 0; c < P::C; c++) {
      HILT_HLS(PIPELINE II = 1)
      HILT_TRIP(compute);
      acc_t s = 0;
      for (int k = -P::BEFORE; k <= P::AFTER; k++)
        if (c + k >= 0 && c + k < P::C) s += (acc_t)x[c + k] * x[c + k];
      acc_t idx = s >> P::LUT_SHIFT;
      if (idx > P::LUT_SIZE - 1) idx = P::LUT_SIZE - 1;
      out.write(requantize((acc_t)x[c] * lut[idx], P::SHIFT, P::BITS));
    }
  }
}

/// tee for a stream of N-value beats (the image into a first conv taking N values a cycle).
/// \tparam P a size struct: N values per sample (a multiple of the lanes)
template <class P, int N>
void tee_vec(hls::stream<vec<N> > &in, hls::stream<vec<N> > &out, hls::stream<vec<N> > &tap, bool taps) {
  static_assert(P::N % N == 0, "the lanes must divide the values");
  for (int i = 0; i < P::N / N; i++) {
    HILT_HLS(PIPELINE II = 1)
    const vec<N> v = in.read();
    out.write(v);
    if (taps) tap.write(v);
  }
}

/// Flatten: the HWC stream already is the flattened vector (dense weights are ordered to match).
/// \tparam P the layer's config struct (params.h): N
template <class P>
void flatten(hls::stream<data_t> &in, hls::stream<data_t> &out) {
  for (int i = 0; i < P::N; i++) {
    HILT_HLS(PIPELINE II = 1)
    out.write(in.read());
  }
}

/// Copy N values per sample to `out`, and to `tap` as well when `taps` is set (train-forward mode). The tap
/// FIFO may be narrower (T: the activation's or the error's own width), which is what its memory costs.
/// \tparam P a size struct: N values per sample
template <class P, class T>
void tee(hls::stream<data_t> &in, hls::stream<data_t> &out, hls::stream<T> &tap, bool taps) {
  for (int i = 0; i < P::N; i++) {
    HILT_HLS(PIPELINE II = 1)
    const data_t v = in.read();
    out.write(v);
    if (taps) tap.write((T)v);
  }
}

}  // namespace hilt

#endif  // HILT_LAYERS_H
