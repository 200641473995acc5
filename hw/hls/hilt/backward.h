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
      for (int c = 0; c < P::C; c++) e[h][w][c] = e_in.read();
  for (int r = 0; r < P::HZ; r++)
    for (int q = 0; q < P::WZ; q++) {
      const int dr = r - P::ZT, dq = q - P::ZL;
      const bool hit = dr >= 0 && dq >= 0 && dr % P::SH == 0 && dq % P::SW == 0 && dr / P::SH < P::HO &&
                       dq / P::SW < P::WO;
      for (int c = 0; c < P::C; c++) {
        HILT_HLS(PIPELINE II = 1)
        e_out.write(hit ? e[dr / P::SH][dq / P::SW][c] : 0);
      }
    }
}

template <class P, class G>
struct GradPixel {
  G (*grad)[P::K];
  G *bias;
  hls::stream<data_t> *err;
  void pixel(data_t line[P::KH][P::WP][P::C], int top, int col, hls::stream<data_t> &unused) {
    (void)unused;
    data_t window[P::C * P::KH * P::KW];
    HILT_ARRAY(window);
    for (int c = 0; c < P::C; c++)
      for (int i = 0; i < P::KH; i++)
        for (int j = 0; j < P::KW; j++)
          window[(c * P::KH + i) * P::KW + j] = line[(top + i) % P::KH][col * P::SW + j][c];
    const int per_group = P::O / P::G;
    for (int o = 0; o < P::O; o++) {
      const acc_t e = err->read();
      bias[o] += e;
      const data_t *xg = window + (o / per_group) * P::K;
      for (int k = 0; k < P::K; k++) grad[o][k] += e * xg[k];
    }
  }
};

/// Conv weight gradient: for every output pixel, error x window of the forward input, accumulated
/// over the batch in grad / bias (G: a 48-bit register, wrapping like the contract's accumulator; a wider
/// one works too, emit_grads wraps once). P: forward conv's.
template <class P, class G, class T>
void conv_grad(hls::stream<T> &x, hls::stream<data_t> &err, G grad[P::O][P::K], G bias[P::O]) {
  GradPixel<P, G> op = {grad, bias, &err};
  hls::stream<data_t> unused;
  slide<P>(x, unused, 0, op);
}

/// Dense weight gradient: outer product of the error and the input vector. P: forward dense's.
template <class P, class G, class T>
void dense_grad(hls::stream<T> &x, hls::stream<data_t> &err, G grad[P::O][P::K], G bias[P::O]) {
  data_t v[P::K];
  HILT_ARRAY(v);
  for (int k = 0; k < P::K; k++) v[k] = x.read();
  for (int o = 0; o < P::O; o++) {
    const acc_t e = err.read();
    bias[o] += e;
    for (int k = 0; k < P::K; k++) {
      HILT_HLS(PIPELINE II = 1)
      grad[o][k] += e * v[k];
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
/// requantize(wrap(sum_i weight[i][j] * e[i])). P: the _t struct (O = forward K, K = forward O, PE, SIMD,
/// BITS, ACC_BITS, SHIFT); no bias.
template <class P, class W>
void dense_tied(hls::stream<data_t> &in, hls::stream<data_t> &out, const W weight[P::K][P::O]) {
  data_t x[P::K];
  HILT_ARRAY(x);
  for (int i = 0; i < P::K; i++) {
    HILT_HLS(PIPELINE II = 1)
    HILT_TRIP(stream);
    x[i] = in.read();
  }
  for (int ot = 0; ot < P::O / P::PE; ot++) {
    acc_t acc[P::PE];
    HILT_HLS(ARRAY_PARTITION variable = acc complete)
    for (int p = 0; p < P::PE; p++) acc[p] = 0;
    for (int kt = 0; kt < P::K / P::SIMD; kt++) {
      HILT_HLS(PIPELINE II = 1)
      HILT_TRIP(compute);
      for (int p = 0; p < P::PE; p++)
        for (int s = 0; s < P::SIMD; s++) {
          const int k = kt * P::SIMD + s;
          acc[p] += (acc_t)weight[k][ot * P::PE + p] * (acc_t)x[k];
        }
    }
    for (int p = 0; p < P::PE; p++) out.write(requantize(wrap(acc[p], P::ACC_BITS), P::SHIFT, P::BITS));
  }
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
