// hilt HLS kernel library: backward (BP pipeline) kernels.
//
// Errors stream like activations (HWC order, one 16-bit value per beat). Error propagation through a
// conv reuses the forward conv kernel on the zero-inserted, padded error map with rotated, transposed
// weights; through a dense layer the matrix-vector unit runs on the transposed weights. Weight
// gradients accumulate exactly and wrap to 48 bits once per batch, then leave as 32-bit words.
#ifndef HILT_BACKWARD_H
#define HILT_BACKWARD_H

#include "layers.h"

namespace hilt {

/// ReLU backward: e * (y > 0) with the forward output y (T: its tap FIFO's element). P: N.
template <class P, class T>
void relu_bwd(hls::stream<data_t> &e_in, hls::stream<T> &y, hls::stream<data_t> &e_out) {
  for (int i = 0; i < P::N; i++) {
    HILT_HLS(PIPELINE II = 1)
    const data_t e = e_in.read();
    e_out.write(y.read() > 0 ? e : 0);
  }
}

/// Max-pool backward: each output's error goes to the first maximum of its window (row-major window
/// order) in the forward input x (kept at its tap's width T); overlapping windows add up. P: the forward
/// pool's slide fields.
template <class P, class T>
void maxpool_bwd(hls::stream<data_t> &e_in, hls::stream<T> &x, hls::stream<data_t> &e_out) {
  T map[P::H][P::W][P::C];
  HILT_ARRAY(map);
  data_t acc[P::H][P::W][P::C];
  HILT_ARRAY(acc);
  for (int h = 0; h < P::H; h++)
    for (int w = 0; w < P::W; w++)
      for (int c = 0; c < P::C; c++) {
        map[h][w][c] = x.read();
        acc[h][w][c] = 0;
      }
  for (int ho = 0; ho < P::HO; ho++)
    for (int wo = 0; wo < P::WO; wo++)
      for (int c = 0; c < P::C; c++) {
        const data_t e = e_in.read();
        int bh = -1, bw = -1;
        data_t best = 0;
        for (int i = 0; i < P::KH; i++)
          for (int j = 0; j < P::KW; j++) {
            const int h = ho * P::SH + i - P::PT, w = wo * P::SW + j - P::PL;
            if (h < 0 || h >= P::H || w < 0 || w >= P::W) continue;  // padding never wins
            if (bh < 0 || map[h][w][c] > best) {
              best = map[h][w][c];
              bh = h;
              bw = w;
            }
          }
        if (bh >= 0) acc[bh][bw][c] += e;
      }
  for (int h = 0; h < P::H; h++)
    for (int w = 0; w < P::W; w++)
      for (int c = 0; c < P::C; c++) e_out.write(acc[h][w][c]);
}

/// Zero insertion and padding for conv error propagation: the output error map (HO x WO x C) with
/// SH - 1 / SW - 1 zeros between samples, ZT/ZL rows/columns before (negative: cropped), to HZ x WZ.
template <class P>
void dilate_pad(hls::stream<data_t> &e_in, hls::stream<data_t> &e_out) {
  data_t e[P::HO][P::WO][P::C];
  HILT_ARRAY(e);
  for (int h = 0; h < P::HO; h++)
    for (int w = 0; w < P::WO; w++)
      for (int c = 0; c < P::C; c++) {
        HILT_HLS(PIPELINE II = 1)
        HILT_TRIP(stream);
        e[h][w][c] = e_in.read();
      }
  for (int r = 0; r < P::HZ; r++)
    for (int q = 0; q < P::WZ; q++) {
      const int dr = r - P::ZT, dq = q - P::ZL;
      const bool hit = dr >= 0 && dq >= 0 && dr % P::SH == 0 && dq % P::SW == 0 && dr / P::SH < P::HO &&
                       dq / P::SW < P::WO;
      for (int c = 0; c < P::C; c++) {
        HILT_HLS(PIPELINE II = 1)
        HILT_TRIP(out);
        e_out.write(hit ? e[dr / P::SH][dq / P::SW][c] : 0);
      }
    }
}

/// Weight and bias gradients of N input vectors (a conv's output pixels, or a dense layer's one): for
/// every (o, k), one a cycle (the gradient unit is not folded in the HLS target), grad[o][k] += e[o] *
/// x[g(o) * K + k]; the error is read with an output's first k. The input arrives one value a beat; a
/// group's first output takes it from the FIFO and keeps it for the group's other outputs. The error
/// is an ERR_BITS-bit register, the product ERR_BITS + BITS bits, the accumulators G (48-bit).
template <class P, class G, int N>
void grad_unit(hls::stream<vec<1> > &x, hls::stream<data_t> &err, G grad[P::O][P::K], G bias[P::O]) {
  typedef int_t<P::ERR_BITS> error_t;
  typedef int_t<P::ERR_BITS + P::BITS> product_t;
  const int per_group = P::O / P::G;
  for (int n = 0; n < N; n++) {
    data_t v[P::G * P::K];
    HILT_ARRAY(v);
    error_t e = 0;
    int o = 0, k = 0;
    for (int i = 0; i < P::O * P::K; i++) {
      HILT_HLS(PIPELINE II = 1)
      HILT_TRIP(grad);
      if (k == 0) {
        e = (acc_t)err.read();
        bias[o] += (acc_t)e;
      }
      const int slot = (o / per_group) * P::K + k;
      if (o % per_group == 0) v[slot] = x.read().v[0];
      const product_t prod = (acc_t)e * (acc_t)v[slot];
      grad[o][k] += (acc_t)prod;
      if (++k == P::K) {
        k = 0;
        o++;
      }
    }
  }
}

/// Conv weight gradient: for every output pixel, error x window of the forward input, accumulated
/// over the batch in grad / bias (G: a 48-bit register, wrapping like the contract's accumulator; a wider
/// one works too, emit_grads wraps once). The window generator (one value a cycle) and the gradient
/// loop are two processes of a dataflow region. P: forward conv's, with ERR_BITS; T: the input tap's element.
template <class P, class G, class T>
void conv_grad(hls::stream<T> &x, hls::stream<data_t> &err, G grad[P::O][P::K], G bias[P::O]) {
  HILT_DATAFLOW_BEGIN()
  HILT_STREAM(vec<1>, win, 2);
  HILT_PROCESS(windows<P, 1>(x, win));
  HILT_PROCESS(grad_unit<P, G, P::HO * P::WO>(win, err, grad, bias));
  HILT_DATAFLOW_END()
}

/// Dense weight gradient: outer product of the error and the input vector. The vector is read whole
/// first (its tap FIFO is 2 deep and the error comes after every tap), then one (o, k) a cycle: K + O x K
/// cycles, as the performance model counts a dense gradient unit. P: forward dense's, with ERR_BITS; T:
/// the input tap's element.
template <class P, class G, class T>
void dense_grad(hls::stream<T> &x, hls::stream<data_t> &err, G grad[P::O][P::K], G bias[P::O]) {
  typedef int_t<P::ERR_BITS> error_t;
  typedef int_t<P::ERR_BITS + P::BITS> product_t;
  data_t v[P::K];
  HILT_ARRAY(v);
  for (int k = 0; k < P::K; k++) {
    HILT_HLS(PIPELINE II = 1)
    HILT_TRIP(stream);
    v[k] = x.read();
  }
  error_t e = 0;
  int o = 0, k = 0;
  for (int i = 0; i < P::O * P::K; i++) {
    HILT_HLS(PIPELINE II = 1)
    HILT_TRIP(grad);
    if (k == 0) {
      e = (acc_t)err.read();
      bias[o] += (acc_t)e;
    }
    const product_t prod = (acc_t)e * (acc_t)v[k];
    grad[o][k] += (acc_t)prod;
    if (++k == P::K) {
      k = 0;
      o++;
    }
  }
}

/// Deferred dense weight gradient, one sample: the input vector and the output errors go into the batch's
/// stash (xs, es: BATCH samples at the values' own widths) instead of O x K accumulators; emit_deferred_grads
/// forms the gradients at the batch boundary. P: forward dense's O, K.
template <class P, int BATCH, class T, class X, class E>
void dense_grad_deferred(hls::stream<T> &x, hls::stream<data_t> &err, X xs[BATCH][P::K], E es[BATCH][P::O],
                         int n) {
  for (int k = 0; k < P::K; k++) {
    HILT_HLS(PIPELINE II = 1)
    xs[n][k] = (X)x.read();
  }
  for (int o = 0; o < P::O; o++) {
    HILT_HLS(PIPELINE II = 1)
    es[n][o] = (E)err.read();
  }
}

/// The gradients of a deferred dense layer at the batch boundary: per weight the sum over the batch's
/// samples of error x input (exact, then wrapped to 48 bits: the same integers as 48-bit accumulators),
/// requantized to 32-bit words as emit_grads sends them; then the biases. P: O, K, GRAD_SHIFT, BIAS_GRAD_SHIFT.
template <class P, int BATCH, class X, class E>
void emit_deferred_grads(const X xs[BATCH][P::K], const E es[BATCH][P::O], int samples, hls::stream<data_t> &out) {
  for (int o = 0; o < P::O; o++)
    for (int k = 0; k < P::K; k++) {
      acc_t g = 0;
      for (int n = 0; n < samples; n++) {
        HILT_HLS(PIPELINE II = 1)
        g += (acc_t)es[n][o] * (acc_t)xs[n][k];
      }
      out.write(requantize(wrap(g, 48), P::GRAD_SHIFT, 32));
    }
  for (int o = 0; o < P::O; o++) {
    acc_t b = 0;
    for (int n = 0; n < samples; n++) b += es[n][o];
    out.write(requantize(wrap(b, 48), P::BIAS_GRAD_SHIFT, 32));
  }
}

/// Error through a dense layer on the forward weights, read transposed (no copy: the forward unit's PE
/// banks of SIMD-wide words supply the PE x SIMD block of the swapped folding): out[j] =
/// requantize(wrap(sum_i weight[i][j] * e[i])). The gatherer, the MVAU (TIED) and the serializer are the
/// dense kernel's processes. P: the _t struct (O = forward K, K = forward O, PE, SIMD, BITS, ACC_BITS,
/// SHIFT); no bias.
template <class P, class W>
void dense_tied(hls::stream<data_t> &in, hls::stream<data_t> &out, const W weight[P::K][P::O]) {
  static const acc_t no_bias[1] = {0};  // never read: the tied unit has no bias
  HILT_DATAFLOW_BEGIN()
  HILT_STREAM(vec<P::SIMD>, x, 2);
  HILT_STREAM(vec<P::PE>, y, 2);
  HILT_PROCESS(gather<P, P::SIMD>(in, x));
  HILT_PROCESS(mvau<P, 1, true>(x, weight, no_bias, y));
  HILT_PROCESS(serialize<P, P::PE, P::O>(y, out));
  HILT_DATAFLOW_END()
}

/// Weight and bias gradients of a batch: wrap to 48 bits, requantize to 32-bit words, reset.
/// P: O, K, GRAD_SHIFT, BIAS_GRAD_SHIFT.
template <class P, class G>
void emit_grads(G grad[P::O][P::K], G bias[P::O], hls::stream<data_t> &out) {
  for (int o = 0; o < P::O; o++)
    for (int k = 0; k < P::K; k++) {
      out.write(requantize(wrap((acc_t)grad[o][k], 48), P::GRAD_SHIFT, 32));
      grad[o][k] = 0;
    }
  for (int o = 0; o < P::O; o++) {
    out.write(requantize(wrap((acc_t)bias[o], 48), P::BIAS_GRAD_SHIFT, 32));
    bias[o] = 0;
  }
}

/// Two copies of N values (an error needed by two consumers).
template <class P>
void fork(hls::stream<data_t> &in, hls::stream<data_t> &a, hls::stream<data_t> &b) {
  for (int i = 0; i < P::N; i++) {
    HILT_HLS(PIPELINE II = 1)
    const data_t v = in.read();
    a.write(v);
    b.write(v);
  }
}

/// Discard N values.
template <class P>
void drain(hls::stream<data_t> &in) {
  for (int i = 0; i < P::N; i++) in.read();
}

}  // namespace hilt

#endif  // HILT_BACKWARD_H
