// hilt HLS kernel library: forward layer kernels.
//
// Streams carry one value per beat in pixel-major, channel-minor order (HWC), which is what a
// streaming window generator needs. Every kernel takes its layer's parameter struct P as the only
// template parameter, so all signatures look alike; the struct is generated per layer instance.
// All arithmetic follows docs/numerics.md and is compared bit for bit with the golden model.
#ifndef HILT_LAYERS_H
#define HILT_LAYERS_H

#include "numerics.h"
#include "stream.h"

// HILT_TRIP(kind) marks one iteration of a pipelined loop (one cycle at II = 1) of the layer struct P:
// `stream` where a window generator or vector reader takes a value, `compute` where an MVAU takes one
// fold step. Empty for synthesis; the C simulation can count them to check the performance model.
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

/// Sliding-window generator: streams the padded map through KH line buffers and calls
/// op.pixel(line, top, col, out) once per output pixel. P: C, H, W (input), KH, KW, SH, SW, PT, PL (padding
/// before), HP, WP (padded size, including bottom/right padding and any ceil-mode overhang), HO, WO.
/// `fill` is the value padding reads as (0, or the minimum for max-pooling).
/// \tparam P  the layer's config struct (params.h): the geometry fields above
/// \tparam Op the per-pixel operation (ConvPixel, MaxPixel, AvgPixel)
/// \tparam T  the input FIFO's element (data_t, or a backward tap's own width)
template <class P, class Op, class T>
void slide(hls::stream<T> &in, hls::stream<data_t> &out, data_t fill, Op &op) {
  data_t line[P::KH][P::WP][P::C];
  HILT_ARRAY(line);
  HILT_HLS(ARRAY_PARTITION variable = line complete dim = 1)
  for (int r = 0; r < P::HP; r++) {
    for (int x = 0; x < P::WP; x++) {
      for (int c = 0; c < P::C; c++) {
        HILT_HLS(PIPELINE II = 1)
        HILT_TRIP(stream);
        const bool inside = r >= P::PT && r < P::PT + P::H && x >= P::PL && x < P::PL + P::W;
        line[r % P::KH][x][c] = inside ? (data_t)in.read() : fill;
      }
    }
    const int top = r - (P::KH - 1);
    if (top < 0 || top % P::SH != 0 || top / P::SH >= P::HO) continue;
    for (int col = 0; col < P::WO; col++) op.pixel(line, top, col, out);
  }
}

/// Matrix-vector unit: out[o] = requantize(wrap(bias[o] + sum_k weight[o][k] * x[g(o) * K + k])) for the
/// O outputs, PE outputs and SIMD inputs per cycle. P: O, G (groups), K (inputs per output), PE, SIMD,
/// BITS, ACC_BITS, SHIFT. The summation order does not change the wrapped result, so every folding
/// gives the golden model's integers.
/// \tparam P the layer's config struct (params.h), folding PE x SIMD from the hardware plan
/// \tparam W the weight word (wgt_t)
template <class P, class W>
void mvau(const data_t *x, const W weight[P::O][P::K], const acc_t bias[P::O], hls::stream<data_t> &out) {
  const int per_group = P::O / P::G;
  for (int ot = 0; ot < P::O / P::PE; ot++) {
    acc_t acc[P::PE];
    HILT_HLS(ARRAY_PARTITION variable = acc complete)
    for (int p = 0; p < P::PE; p++) acc[p] = bias[ot * P::PE + p];
    for (int kt = 0; kt < P::K / P::SIMD; kt++) {
      HILT_HLS(PIPELINE II = 1)
      HILT_TRIP(compute);
      for (int p = 0; p < P::PE; p++) {
        const int o = ot * P::PE + p;
        const data_t *xg = x + (o / per_group) * P::K;
        for (int s = 0; s < P::SIMD; s++) {
          const int k = kt * P::SIMD + s;
          acc[p] += (acc_t)weight[o][k] * (acc_t)xg[k];
        }
      }
    }
    for (int p = 0; p < P::PE; p++) out.write(requantize(wrap(acc[p], P::ACC_BITS), P::SHIFT, P::BITS));
  }
}

template <class P, class W>
struct ConvPixel {
  const W (*weight)[P::K];
  const acc_t *bias;
  void pixel(data_t line[P::KH][P::WP][P::C], int top, int col, hls::stream<data_t> &out) {
    data_t window[P::C * P::KH * P::KW];  // (c, i, j) order, matching OIHW weights
    HILT_ARRAY(window);
    for (int c = 0; c < P::C; c++)
      for (int i = 0; i < P::KH; i++)
        for (int j = 0; j < P::KW; j++)
          window[(c * P::KH + i) * P::KW + j] = line[(top + i) % P::KH][col * P::SW + j][c];
    mvau<P, W>(window, weight, bias, out);
  }
};

/// Convolution (ONNX Conv, groups, stride, padding): window generator + matrix-vector unit.
/// P adds to slide's fields: O, G, K = C/G*KH*KW, PE, SIMD, BITS, ACC_BITS, SHIFT.
/// \tparam P the layer's config struct (params.h)
/// \tparam W the weight word (wgt_t)
template <class P, class W>
void conv(hls::stream<data_t> &in, hls::stream<data_t> &out, const W weight[P::O][P::K], const acc_t bias[P::O]) {
  ConvPixel<P, W> op = {weight, bias};
  slide<P>(in, out, 0, op);
}

/// Fully connected layer (ONNX Gemm / MatMul+Add): reads the input vector, then one matrix-vector pass.
/// P: I (= K), O, G = 1, PE, SIMD, BITS, ACC_BITS, SHIFT. Weight columns are in the stream's HWC order.
/// \tparam P the layer's config struct (params.h)
/// \tparam W the weight word (wgt_t)
template <class P, class W>
void dense(hls::stream<data_t> &in, hls::stream<data_t> &out, const W weight[P::O][P::K], const acc_t bias[P::O]) {
  data_t x[P::K];
  HILT_ARRAY(x);
  for (int i = 0; i < P::K; i++) {
    HILT_HLS(PIPELINE II = 1)
    HILT_TRIP(stream);
    x[i] = in.read();
  }
  mvau<P, W>(x, weight, bias, out);
}

/// ReLU on N values per sample.
/// \tparam P the layer's config struct (params.h): N
template <class P>
void relu(hls::stream<data_t> &in, hls::stream<data_t> &out) {
  for (int i = 0; i < P::N; i++) {
    HILT_HLS(PIPELINE II = 1)
    const data_t v = in.read();
    out.write(v > 0 ? v : 0);
  }
}

template <class P>
struct MaxPixel {
  void pixel(data_t line[P::KH][P::WP][P::C], int top, int col, hls::stream<data_t> &out) {
    for (int c = 0; c < P::C; c++) {
      data_t m = line[top % P::KH][col * P::SW][c];
      for (int i = 0; i < P::KH; i++)
        for (int j = 0; j < P::KW; j++) {
          const data_t v = line[(top + i) % P::KH][col * P::SW + j][c];
          m = v > m ? v : m;
        }
      out.write(m);
    }
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
  void pixel(data_t line[P::KH][P::WP][P::C], int top, int col, hls::stream<data_t> &out) {
    // the divisor follows ONNX: explicit padding counts when INCLUDE_PAD, the ceil overhang never does
    const int lo_r = P::INCLUDE_PAD ? 0 : P::PT, hi_r = P::INCLUDE_PAD ? P::PT + P::H + P::PB : P::PT + P::H;
    const int lo_c = P::INCLUDE_PAD ? 0 : P::PL, hi_c = P::INCLUDE_PAD ? P::PL + P::W + P::PR : P::PL + P::W;
    const int r0 = top, c0 = col * P::SW;
    const int rows = (r0 + P::KH < hi_r ? r0 + P::KH : hi_r) - (r0 > lo_r ? r0 : lo_r);
    const int cols = (c0 + P::KW < hi_c ? c0 + P::KW : hi_c) - (c0 > lo_c ? c0 : lo_c);
    const acc_t count = (acc_t)rows * cols;
    const acc_t recip = (((acc_t)1 << 16) + count / 2) / count;  // a constant table in hardware
    for (int c = 0; c < P::C; c++) {
      acc_t sum = 0;
      for (int i = 0; i < P::KH; i++)
        for (int j = 0; j < P::KW; j++) sum += line[(top + i) % P::KH][c0 + j][c];
      out.write(requantize(sum * recip, 16, P::BITS));
    }
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
    for (int c = 0; c < P::C; c++) x[c] = in.read();
    for (int c = 0; c < P::C; c++) {
      HILT_HLS(PIPELINE II = 1)
      acc_t s = 0;
      for (int k = -P::BEFORE; k <= P::AFTER; k++)
        if (c + k >= 0 && c + k < P::C) s += (acc_t)x[c + k] * x[c + k];
      acc_t idx = s >> P::LUT_SHIFT;
      if (idx > P::LUT_SIZE - 1) idx = P::LUT_SIZE - 1;
      out.write(requantize((acc_t)x[c] * lut[idx], P::SHIFT, P::BITS));
    }
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
