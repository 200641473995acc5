// hilt HLS kernel library: the layer-sequential engine (PipeCNN-style) for models whose weights live in DDR.
//
// One engine runs any network whose layers fit its limits: the host writes a list of layer descriptors
// (docs/engine.md: op, shapes, stride, pads, groups, shift, DDR offsets of input, weights, bias, output)
// to DDR and starts the engine with the descriptors' address and count. Each descriptor runs as one
// dataflow region of these processes over FIFOs of declared depth:
//
//   read_input --x_s--> mac_unit --acc_s--> requant_unit --lv_s--> transpose_unit --res_s--+
//      |  \--pool_s--> pool_unit ------------------------------------------pout_s-------+--> write_unit
//      \-----lrn_s---> lrn_unit  ------------------------------------------lout_s-------+
//   read_params --w0_s, b_s--> mac_unit;  --lut_s--> lrn_unit;  read_weights x (WPORTS - 1) --w1_s..--> mac_unit
//
// Every stream has one producer and one consumer, each consumer reads a stream in the order its
// producer writes it, and the graph has no cycle, so the region runs to completion at any depth >= 1.
// Processes a descriptor does not use return at once. Numerics: docs/numerics.md (bit-exact with the
// golden model); activations are int8 in CHW order in DDR, so a flatten is the identity.
#ifndef HILT_ENGINE_H
#define HILT_ENGINE_H

#include <stdint.h>

#include "engine_dataflow.h"
#include "numerics.h"
#include "stream.h"

// Synthesis parameters (the DSE chooses them; docs/engine.md). Each layer is checked against them on
// the host before its descriptor is written.
#ifndef HILT_ENGINE_VEC
#define HILT_ENGINE_VEC 8  // input channels per MAC lane per cycle
#endif
#ifndef HILT_ENGINE_LANE
#define HILT_ENGINE_LANE 16  // output channels computed at once
#endif
#ifndef HILT_ENGINE_TILE_BYTES
#define HILT_ENGINE_TILE_BYTES 65536  // on-chip input tile (a band of rows of one group's channels)
#endif
#ifndef HILT_ENGINE_OBUF_PIX
#define HILT_ENGINE_OBUF_PIX 4096  // output pixels per lane of one band
#endif
#ifndef HILT_ENGINE_WBUF_VECS
#define HILT_ENGINE_WBUF_VECS 512  // weight vectors of one lane block kept for the band's later pixels
#endif
#ifndef HILT_ENGINE_WPORTS
#define HILT_ENGINE_WPORTS 1  // AXI4 masters the weights stream through (1, 2 or 4), each a share of the lanes
#endif
#ifndef HILT_ENGINE_PORT_BYTES
#define HILT_ENGINE_PORT_BYTES 16  // data width of an AXI4 master (the board's HP port: 16 on UltraScale+, 8 on Zynq-7000)
#endif

namespace hilt {
namespace engine {

const int VEC = HILT_ENGINE_VEC;
const int LANE = HILT_ENGINE_LANE;
const int TILE_BYTES = HILT_ENGINE_TILE_BYTES;
const int OBUF_PIX = HILT_ENGINE_OBUF_PIX;
const int WBUF_VECS = HILT_ENGINE_WBUF_VECS;
const int PORT_BYTES = HILT_ENGINE_PORT_BYTES;
const int WPORTS = HILT_ENGINE_WPORTS;
const int PLANE = LANE / WPORTS;  // lanes whose weights one weight master reads
static_assert(WPORTS == 1 || WPORTS == 2 || WPORTS == 4, "HILT_ENGINE_WPORTS is 1, 2 or 4");
static_assert(LANE % WPORTS == 0, "HILT_ENGINE_LANE must be a multiple of HILT_ENGINE_WPORTS");
const int LUT_SIZE = 1024;       // LRN table entries (docs/numerics.md)
const int ACC_BITS = 32;         // accumulator of 8-bit operands
const int BITS = 8;              // activation and weight width
const int16_t POOL_FILL = -32768;  // max-pool padding: below every int8, never the maximum

enum Op { OP_CONV = 1, OP_MAXPOOL = 2, OP_LRN = 3 };
enum Flag { FLAG_RELU = 1 };

// Descriptor: DESC_WORDS little-endian 32-bit words; the word index of each field.
enum Field {
  D_OP, D_FLAGS, D_C, D_H, D_W, D_O, D_HO, D_WO, D_KH, D_KW, D_SH, D_SW, D_PT, D_PL, D_G, D_SHIFT,
  D_LUT_SHIFT, D_LRN_SIZE, D_BAND, D_IN, D_WT, D_BIAS, D_OUT, DESC_WORDS = 32
};

struct desc_t {
  int op, flags, c, h, w, o, ho, wo, kh, kw, sh, sw, pt, pl, g, shift, lut_shift, lrn_size, band;
  uint32_t in, wt, bias, out;  // byte offsets from the masters' base addresses
};

struct vec_t {  // VEC input channels at one window position
  int8_t v[VEC];
};
struct wvec_t {  // the weights LANE lanes multiply with one vec_t
  int8_t w[LANE][VEC];
};
struct wpart_t {  // the share of a wvec_t one weight master reads: PLANE lanes
  int8_t w[PLANE][VEC];
};
struct accv_t {  // LANE wrapped accumulators of one output pixel
  int32_t a[LANE];
};
struct lvec_t {  // LANE requantized outputs of one pixel
  int8_t v[LANE];
};
struct pvec_t {  // VEC channels of one max-pool window element (int16: padding lies below every int8)
  int16_t v[VEC];
};

inline int ceil_div(int a, int b) { return (a + b - 1) / b; }

/// Input rows [lo, hi) a band of output rows [r0, r1) of a strided window reads (clipped to the map).
inline void band_rows(const desc_t &d, int r0, int r1, int &lo, int &hi) {
  lo = r0 * d.sh - d.pt;
  hi = (r1 - 1) * d.sh - d.pt + d.kh;
  lo = lo < 0 ? 0 : lo;
  hi = hi > d.h ? d.h : hi;
}

inline void load_desc(const uint32_t *mem, desc_t &d) {
  uint32_t w[DESC_WORDS];
  for (int i = 0; i < DESC_WORDS; i++) {
    HILT_HLS(PIPELINE II = 1)
    w[i] = mem[i];
  }
  d.op = (int)w[D_OP], d.flags = (int)w[D_FLAGS], d.c = (int)w[D_C], d.h = (int)w[D_H], d.w = (int)w[D_W];
  d.o = (int)w[D_O], d.ho = (int)w[D_HO], d.wo = (int)w[D_WO], d.kh = (int)w[D_KH], d.kw = (int)w[D_KW];
  d.sh = (int)w[D_SH], d.sw = (int)w[D_SW], d.pt = (int)w[D_PT], d.pl = (int)w[D_PL], d.g = (int)w[D_G];
  d.shift = (int32_t)w[D_SHIFT], d.lut_shift = (int)w[D_LUT_SHIFT], d.lrn_size = (int)w[D_LRN_SIZE];
  d.band = (int)w[D_BAND], d.in = w[D_IN], d.wt = w[D_WT], d.bias = w[D_BIAS], d.out = w[D_OUT];
}

/// Burst copy of n bytes from DDR into an on-chip buffer, one aligned bus word (PORT_BYTES) per cycle. The
/// tile is partitioned cyclically by PORT_BYTES, so a word's consecutive bytes land in distinct banks.
inline void burst_read(const int8_t *mem, uint32_t addr, int8_t *dst, int n) {
  const uint32_t first = addr / PORT_BYTES, last = (addr + n + PORT_BYTES - 1) / PORT_BYTES;
  for (uint32_t word = first; word < last; word++) {
    HILT_HLS(PIPELINE II = 1)
    for (int k = 0; k < PORT_BYTES; k++) {
      const int i = (int)(word * PORT_BYTES + k - addr);
      if (i >= 0 && i < n) dst[i] = mem[word * PORT_BYTES + k];
    }
  }
}

/// Channel stride in the tile: odd, so the VEC channels a window reads at once (stride apart) fall in
/// distinct banks of the cyclic partition.
inline int odd(int n) { return n | 1; }

// ---- memory-read unit: input tiles -> window vectors (conv/dense), pool windows, LRN channel windows ----
inline void read_input(const int8_t *mem, const desc_t d, hls::stream<vec_t> &x_s, hls::stream<pvec_t> &pool_s,
                       hls::stream<vec_t> &lrn_s) {
  int8_t tile[TILE_BYTES];
  HILT_HLS(ARRAY_PARTITION variable = tile cyclic factor = PORT_BYTES)
  if (d.op == OP_CONV) {
    const int cg = d.c / d.g, og = d.o / d.g, cv = ceil_div(cg, VEC), blocks = ceil_div(og, LANE);
    for (int g = 0; g < d.g; g++)
      for (int r0 = 0; r0 < d.ho; r0 += d.band) {
        const int r1 = r0 + d.band < d.ho ? r0 + d.band : d.ho;
        int lo, hi;
        band_rows(d, r0, r1, lo, hi);
        const int rows = hi - lo, stride = odd(rows * d.w);
        for (int c = 0; c < cg; c++)  // one burst per channel: its band rows are contiguous in CHW
          burst_read(mem, d.in + ((uint32_t)(g * cg + c) * d.h + lo) * d.w, tile + c * stride, rows * d.w);
        for (int b = 0; b < blocks; b++)  // the tile is re-read from chip memory for every lane block
          for (int r = r0; r < r1; r++)
            for (int x = 0; x < d.wo; x++)
              for (int cb = 0; cb < cv; cb++)
                for (int i = 0; i < d.kh; i++)
                  for (int j = 0; j < d.kw; j++) {
                    HILT_HLS(PIPELINE II = 1)
                    const int iy = r * d.sh - d.pt + i, ix = x * d.sw - d.pl + j;
                    const bool in_map = iy >= 0 && iy < d.h && ix >= 0 && ix < d.w;
                    vec_t v;
                    for (int k = 0; k < VEC; k++) {
                      const int c = cb * VEC + k;
                      v.v[k] = in_map && c < cg ? tile[c * stride + (iy - lo) * d.w + ix] : (int8_t)0;
                    }
                    x_s.write(v);
                  }
      }
  } else if (d.op == OP_MAXPOOL) {
    const int plane = d.h * d.w, stride = odd(plane);
    for (int c0 = 0; c0 < d.c; c0 += VEC) {  // VEC channel planes at a time, one window element per cycle
      const int nc = d.c - c0 < VEC ? d.c - c0 : VEC;
      for (int k = 0; k < nc; k++) burst_read(mem, d.in + (uint32_t)(c0 + k) * plane, tile + k * stride, plane);
      for (int r = 0; r < d.ho; r++)
        for (int x = 0; x < d.wo; x++)
          for (int i = 0; i < d.kh; i++)
            for (int j = 0; j < d.kw; j++) {
              HILT_HLS(PIPELINE II = 1)
              const int iy = r * d.sh - d.pt + i, ix = x * d.sw - d.pl + j;
              const bool in_map = iy >= 0 && iy < d.h && ix >= 0 && ix < d.w;
              pvec_t v;
              for (int k = 0; k < VEC; k++)
                v.v[k] = in_map && k < nc ? (int16_t)tile[k * stride + iy * d.w + ix] : POOL_FILL;
              pool_s.write(v);
            }
    }
  } else if (d.op == OP_LRN) {
    const int before = (d.lrn_size - 1) / 2;
    for (int r0 = 0; r0 < d.h; r0 += d.band) {  // a band of rows of every channel
      const int rows = r0 + d.band < d.h ? d.band : d.h - r0, n = rows * d.w, stride = odd(n);
      for (int c = 0; c < d.c; c++) burst_read(mem, d.in + ((uint32_t)c * d.h + r0) * d.w, tile + c * stride, n);
      for (int c0 = 0; c0 < d.c; c0 += VEC)  // VEC output channels at a time: `size` shifted channel vectors
        for (int p = 0; p < n; p++)
          for (int k = 0; k < d.lrn_size; k++) {
            HILT_HLS(PIPELINE II = 1)
            vec_t v;
            for (int e = 0; e < VEC; e++) {
              const int cc = c0 + e - before + k;
              v.v[e] = cc >= 0 && cc < d.c ? tile[cc * stride + p] : (int8_t)0;
            }
            lrn_s.write(v);
          }
    }
  }
}

// ---- weight masters: part `part` of every lane block's packed weights (lanes part*PLANE..), one per master ----
inline void read_weight_block(const int8_t *mem, const desc_t d, int part, uint32_t block, int kv,
                              hls::stream<wpart_t> &w_s) {
  const uint32_t base = d.wt + (block * WPORTS + part) * (uint32_t)kv * PLANE * VEC;  // parts are contiguous
  for (int k = 0; k < kv; k++) {
    HILT_HLS(PIPELINE II = 1)
    wpart_t w;
    for (int l = 0; l < PLANE; l++)
      for (int v = 0; v < VEC; v++) w.w[l][v] = mem[base + ((uint32_t)k * PLANE + l) * VEC + v];
    w_s.write(w);
  }
}

inline void read_weights(const int8_t *mem, const desc_t d, int part, hls::stream<wpart_t> &w_s) {
  if (d.op != OP_CONV || part >= WPORTS) return;
  const int cg = d.c / d.g, og = d.o / d.g, kv = ceil_div(cg, VEC) * d.kh * d.kw, blocks = ceil_div(og, LANE);
  for (int g = 0; g < d.g; g++)
    for (int r0 = 0; r0 < d.ho; r0 += d.band)  // a layer of several bands reads its weights once per band
      for (int b = 0; b < blocks; b++) read_weight_block(mem, d, part, (uint32_t)g * blocks + b, kv, w_s);
}

// ---- memory-read unit, second master: biases and the first weight part (conv/dense), the LRN table ----
inline void read_params(const int8_t *mem, const desc_t d, hls::stream<wpart_t> &w_s, hls::stream<int32_t> &b_s,
                        hls::stream<int16_t> &lut_s) {
  if (d.op == OP_CONV) {
    const int cg = d.c / d.g, og = d.o / d.g, kv = ceil_div(cg, VEC) * d.kh * d.kw, blocks = ceil_div(og, LANE);
    for (int g = 0; g < d.g; g++)
      for (int r0 = 0; r0 < d.ho; r0 += d.band)
        for (int b = 0; b < blocks; b++) {
          const uint32_t block = (uint32_t)g * blocks + b;
          for (int l = 0; l < LANE; l++) {
            HILT_HLS(PIPELINE II = 1)
            const uint32_t a = d.bias + (block * LANE + l) * 4;
            b_s.write((int32_t)((uint32_t)(uint8_t)mem[a] | (uint32_t)(uint8_t)mem[a + 1] << 8 |
                                (uint32_t)(uint8_t)mem[a + 2] << 16 | (uint32_t)(uint8_t)mem[a + 3] << 24));
          }
          read_weight_block(mem, d, 0, block, kv, w_s);
        }
  } else if (d.op == OP_LRN) {
    for (int i = 0; i < LUT_SIZE; i++) {
      HILT_HLS(PIPELINE II = 1)
      const uint32_t a = d.wt + 2 * i;
      lut_s.write((int16_t)((uint16_t)(uint8_t)mem[a] | (uint16_t)(uint8_t)mem[a + 1] << 8));
    }
  }
}

// ---- conv/dense unit: LANE x VEC multiply-accumulates per cycle ----
inline void mac_unit(const desc_t d, hls::stream<vec_t> &x_s, hls::stream<wpart_t> &w0_s, hls::stream<wpart_t> &w1_s,
                     hls::stream<wpart_t> &w2_s, hls::stream<wpart_t> &w3_s, hls::stream<int32_t> &b_s,
                     hls::stream<accv_t> &acc_s) {
  if (d.op != OP_CONV) return;
  wvec_t wbuf[WBUF_VECS];  // a lane block's weights, streamed in with the band's first pixel
  const int cg = d.c / d.g, og = d.o / d.g, kv = ceil_div(cg, VEC) * d.kh * d.kw, blocks = ceil_div(og, LANE);
  for (int g = 0; g < d.g; g++)
    for (int r0 = 0; r0 < d.ho; r0 += d.band) {
      const int npix = (r0 + d.band < d.ho ? d.band : d.ho - r0) * d.wo;
      for (int b = 0; b < blocks; b++) {
        acc_t bias[LANE];
        for (int l = 0; l < LANE; l++) bias[l] = b_s.read();
        for (int p = 0; p < npix; p++) {
          acc_t acc[LANE];
          HILT_HLS(ARRAY_PARTITION variable = acc complete)
          for (int l = 0; l < LANE; l++) acc[l] = bias[l];
          for (int k = 0; k < kv; k++) {
            HILT_HLS(PIPELINE II = 1)
            const vec_t x = x_s.read();
            wvec_t w;
            if (p == 0) {
              for (int part = 0; part < WPORTS; part++) {
                const wpart_t wp = part == 0 ? w0_s.read() : part == 1 ? w1_s.read() : part == 2 ? w2_s.read()
                                                                                                    : w3_s.read();
                for (int l = 0; l < PLANE; l++)
                  for (int v = 0; v < VEC; v++) w.w[part * PLANE + l][v] = wp.w[l][v];
              }
              if (npix > 1) wbuf[k] = w;  // the host checks kv <= WBUF_VECS for such layers
            } else {
              w = wbuf[k];
            }
            for (int l = 0; l < LANE; l++)
              for (int v = 0; v < VEC; v++) acc[l] += (acc_t)w.w[l][v] * (acc_t)x.v[v];
          }
          accv_t out;
          for (int l = 0; l < LANE; l++) out.a[l] = (int32_t)wrap(acc[l], ACC_BITS);
          acc_s.write(out);
        }
      }
    }
}

// ---- requantize + ReLU: LANE outputs per pixel ----
inline void requant_unit(const desc_t d, hls::stream<accv_t> &acc_s, hls::stream<lvec_t> &lv_s) {
  if (d.op != OP_CONV) return;
  const int og = d.o / d.g, blocks = ceil_div(og, LANE);
  const bool relu = d.flags & FLAG_RELU;
  const int pixels = d.g * blocks * d.ho * d.wo;  // every band of every block of every group
  for (int p = 0; p < pixels; p++) {
    HILT_HLS(PIPELINE II = 1)
    const accv_t a = acc_s.read();
    lvec_t y;
    for (int l = 0; l < LANE; l++) {
      const data_t v = requantize(a.a[l], d.shift, BITS);
      y.v[l] = (int8_t)(relu && v < 0 ? 0 : v);
    }
    lv_s.write(y);
  }
}

// ---- lane-major to channel-major: each channel's band is one contiguous run in DDR. lv_s is as deep as a
// block (OBUF_PIX), so it is the ping-pong buffer: the MAC unit computes the next block while this drains.
inline void transpose_unit(const desc_t d, hls::stream<lvec_t> &lv_s, hls::stream<int8_t> &res_s) {
  if (d.op != OP_CONV) return;
  int8_t obuf[LANE][OBUF_PIX];
  HILT_HLS(ARRAY_PARTITION variable = obuf complete dim = 1)
  const int og = d.o / d.g, blocks = ceil_div(og, LANE);
  for (int g = 0; g < d.g; g++)
    for (int r0 = 0; r0 < d.ho; r0 += d.band) {
      const int npix = (r0 + d.band < d.ho ? d.band : d.ho - r0) * d.wo;
      for (int b = 0; b < blocks; b++) {
        for (int p = 0; p < npix; p++) {
          HILT_HLS(PIPELINE II = 1)
          const lvec_t y = lv_s.read();
          for (int l = 0; l < LANE; l++) obuf[l][p] = y.v[l];
        }
        const int valid = og - b * LANE < LANE ? og - b * LANE : LANE;  // padded lanes are dropped
        for (int l = 0; l < valid; l++)
          for (int p = 0; p < npix; p++) {
            HILT_HLS(PIPELINE II = 1)
            res_s.write(obuf[l][p]);
          }
      }
    }
}

// ---- max-pool (any kernel/stride, overlapping 3/2 included), ReLU optional: VEC channels per cycle ----
inline void pool_unit(const desc_t d, hls::stream<pvec_t> &pool_s, hls::stream<vec_t> &pout_s) {
  if (d.op != OP_MAXPOOL) return;
  const int n = ceil_div(d.c, VEC) * d.ho * d.wo, k = d.kh * d.kw;
  const bool relu = d.flags & FLAG_RELU;
  for (int i = 0; i < n; i++) {
    int16_t m[VEC];
    for (int e = 0; e < VEC; e++) m[e] = POOL_FILL;
    for (int j = 0; j < k; j++) {
      HILT_HLS(PIPELINE II = 1)
      const pvec_t v = pool_s.read();
      for (int e = 0; e < VEC; e++) m[e] = v.v[e] > m[e] ? v.v[e] : m[e];
    }
    vec_t y;
    for (int e = 0; e < VEC; e++) y.v[e] = (int8_t)(relu && m[e] < 0 ? 0 : m[e]);
    pout_s.write(y);
  }
}

// ---- LRN, the golden model's hardware method: sum of squares, table lookup, one multiply; VEC channels
// per `size` cycles (the table is read VEC times per cycle: one copy per channel under synthesis) ----
inline void lrn_unit(const desc_t d, hls::stream<int16_t> &lut_s, hls::stream<vec_t> &lrn_s,
                     hls::stream<vec_t> &lout_s) {
  if (d.op != OP_LRN) return;
  int16_t lut[LUT_SIZE];
  for (int i = 0; i < LUT_SIZE; i++) lut[i] = lut_s.read();
  const int before = (d.lrn_size - 1) / 2, n = ceil_div(d.c, VEC) * d.h * d.w;
  for (int i = 0; i < n; i++) {
    int32_t s[VEC];
    int8_t centre[VEC];
    for (int e = 0; e < VEC; e++) s[e] = 0, centre[e] = 0;
    for (int k = 0; k < d.lrn_size; k++) {
      HILT_HLS(PIPELINE II = 1)
      const vec_t v = lrn_s.read();
      for (int e = 0; e < VEC; e++) {
        s[e] += (int32_t)v.v[e] * v.v[e];
        if (k == before) centre[e] = v.v[e];
      }
    }
    vec_t y;
    for (int e = 0; e < VEC; e++) {
      const int32_t idx = (s[e] >> d.lut_shift) < LUT_SIZE - 1 ? (s[e] >> d.lut_shift) : LUT_SIZE - 1;
      y.v[e] = (int8_t)requantize((acc_t)centre[e] * lut[idx], d.shift, BITS);
    }
    lout_s.write(y);
  }
}

// ---- memory-write unit: contiguous runs of each channel's output ----
inline void write_unit(int8_t *mem, const desc_t d, hls::stream<int8_t> &res_s, hls::stream<vec_t> &pout_s,
                       hls::stream<vec_t> &lout_s) {
  if (d.op == OP_CONV) {
    const int og = d.o / d.g, blocks = ceil_div(og, LANE);
    for (int g = 0; g < d.g; g++)
      for (int r0 = 0; r0 < d.ho; r0 += d.band) {
        const int npix = (r0 + d.band < d.ho ? d.band : d.ho - r0) * d.wo;
        for (int b = 0; b < blocks; b++) {
          const int valid = og - b * LANE < LANE ? og - b * LANE : LANE;
          for (int l = 0; l < valid; l++) {
            const uint32_t base = d.out + ((uint32_t)(g * og + b * LANE + l) * d.ho + r0) * d.wo;
            for (int p = 0; p < npix; p++) {
              HILT_HLS(PIPELINE II = 1)
              mem[base + p] = res_s.read();
            }
          }
        }
      }
  } else if (d.op == OP_MAXPOOL) {
    const int plane = d.ho * d.wo;
    for (int c0 = 0; c0 < d.c; c0 += VEC)
      for (int p = 0; p < plane; p++) {
        const vec_t v = pout_s.read();
        for (int e = 0; e < VEC; e++) {  // one byte per cycle: channels lie a plane apart
          HILT_HLS(PIPELINE II = 1)
          if (c0 + e < d.c) mem[d.out + (uint32_t)(c0 + e) * plane + p] = v.v[e];
        }
      }
  } else if (d.op == OP_LRN) {
    for (int r0 = 0; r0 < d.h; r0 += d.band) {
      const int n = (r0 + d.band < d.h ? d.band : d.h - r0) * d.w;
      for (int c0 = 0; c0 < d.c; c0 += VEC)
        for (int p = 0; p < n; p++) {
          const vec_t v = lout_s.read();
          for (int e = 0; e < VEC; e++) {
            HILT_HLS(PIPELINE II = 1)
            if (c0 + e < d.c) mem[d.out + ((uint32_t)(c0 + e) * d.h + r0) * d.w + p] = v.v[e];
          }
        }
    }
  }
}

/// One descriptor: one dataflow region. Producers are listed before their consumers (the sequential
/// fallback of engine_dataflow.h runs them in this order).
inline void run_layer(const int8_t *act_in, const int8_t *params, const int8_t *wts1, const int8_t *wts2,
                      const int8_t *wts3, int8_t *act_out, const desc_t d) {
  HILT_DATAFLOW_BEGIN();
  HILT_STREAM(vec_t, x_s, 4);
  HILT_STREAM(wpart_t, w0_s, 4);
  HILT_STREAM(wpart_t, w1_s, 4);
  HILT_STREAM(wpart_t, w2_s, 4);
  HILT_STREAM(wpart_t, w3_s, 4);
  HILT_STREAM(int32_t, b_s, LANE);
  HILT_STREAM(int16_t, lut_s, 2);
  HILT_STREAM(accv_t, acc_s, 2);
  HILT_STREAM(lvec_t, lv_s, OBUF_PIX);  // one lane block's outputs: the transpose's ping-pong half
  HILT_STREAM(int8_t, res_s, 64);
  HILT_STREAM(pvec_t, pool_s, 4);
  HILT_STREAM(vec_t, pout_s, 4);
  HILT_STREAM(vec_t, lrn_s, 4);
  HILT_STREAM(vec_t, lout_s, 4);
  HILT_PROCESS(read_input(act_in, d, x_s, pool_s, lrn_s));
  HILT_PROCESS(read_params(params, d, w0_s, b_s, lut_s));
  HILT_PROCESS(read_weights(wts1, d, 1, w1_s));
  HILT_PROCESS(read_weights(wts2, d, 2, w2_s));
  HILT_PROCESS(read_weights(wts3, d, 3, w3_s));
  HILT_PROCESS(mac_unit(d, x_s, w0_s, w1_s, w2_s, w3_s, b_s, acc_s));
  HILT_PROCESS(requant_unit(d, acc_s, lv_s));
  HILT_PROCESS(transpose_unit(d, lv_s, res_s));
  HILT_PROCESS(pool_unit(d, pool_s, pout_s));
  HILT_PROCESS(lrn_unit(d, lut_s, lrn_s, lout_s));
  HILT_PROCESS(write_unit(act_out, d, res_s, pout_s, lout_s));
  HILT_DATAFLOW_END();
}

/// The engine: run `count` descriptors from `descs`, one layer after another; every layer's output stays
/// in DDR. act_in, params, wts1-3 and act_out are the same DDR buffer seen through separate AXI4 masters
/// (wts1-3 only where WPORTS needs them; otherwise the top passes params, which they then never read).
inline void run(const int8_t *act_in, const int8_t *params, const int8_t *wts1, const int8_t *wts2,
                const int8_t *wts3, int8_t *act_out, const uint32_t *descs, uint32_t count) {
  for (uint32_t i = 0; i < count; i++) {
    desc_t d;
    load_desc(descs + i * DESC_WORDS, d);
    run_layer(act_in, params, wts1, wts2, wts3, act_out, d);
  }
}

}  // namespace engine
}  // namespace hilt

#endif  // HILT_ENGINE_H
