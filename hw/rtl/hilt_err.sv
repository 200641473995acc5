// hilt_err: error propagation through a conv or dense layer (docs/numerics.md, "Backward"):
// e_in = requantize(wrap(conv(Z, W_rot), ACC_BITS), SHIFT, EBITS), where Z is the error at the layer's
// output with SH - 1 / SW - 1 zeros inserted between samples and KH - 1 - PT / KW - 1 - PL rows / columns
// before it (negative: cropped), and W_rot the weights rotated 180 degrees with in/out channels swapped;
// the stride-1, unpadded conv over Z gives the H x W x C error at the layer's input. A dense layer is the
// case H = W = HO = WO = KH = KW = 1 (the transposed matrix: e_in[c] = sum_o e_out[o] * W[o][c]).
//
// Parameters: the forward layer's input C x H x W, kernel KH x KW, stride SH x SW, top/left padding
// PT/PL, output HO x WO x O; folding PE (input channels per cycle, divides C) x SIMD (columns per cycle,
// divides O*KH*KW): the transposed matrix's rows x columns; widths WBITS, EBITS, ACC_BITS (the gradient
// accumulator, 48 by the contract; sums wrap); SHIFT = f_e_out + f_w - f_e_in.
// Handshake: valid/ready, one element per beat in HWC order. In: the error at the layer's output
// (HO*WO*O elements), taken while the unit is not computing. Out: the error at its input (H*W*C
// elements). Per input pixel and block of PE channels the array takes O*KH*KW/SIMD cycles; the PE
// results leave one per cycle while the next block computes. Cycles per sample: the load plus
// H*W*(C/PE)*max(O*KH*KW/SIMD, PE).
// Weights: this unit's own copy of the forward weights (ONNX order o, c, ky, kx; dense columns as the
// forward unit's), written with the forward unit's memory by MODE_LOAD_WEIGHTS (w_we), so a load
// refreshes both.
module hilt_err #(
    parameter int C        = 1,
    parameter int H        = 1,
    parameter int W        = 1,
    parameter int KH       = 1,
    parameter int KW       = 1,
    parameter int SH       = 1,
    parameter int SW       = 1,
    parameter int PT       = 0,
    parameter int PL       = 0,
    parameter int HO       = 1,
    parameter int WO       = 1,
    parameter int O        = 1,
    parameter int PE       = 1,
    parameter int SIMD     = 1,
    parameter int WBITS    = 8,
    parameter int EBITS    = 16,
    parameter int ACC_BITS = 48,
    parameter int SHIFT    = 0,
    localparam int K       = C * KH * KW,
    localparam int WA      = O * K > 1 ? $clog2(O * K) : 1
) (
    input  logic             clk,
    input  logic             rst_n,
    input  logic             s_valid,
    output logic             s_ready,
    input  logic [EBITS-1:0] s_data,
    output logic             m_valid,
    input  logic             m_ready,
    output logic [EBITS-1:0] m_data,
    input  logic             w_we,
    input  logic [   WA-1:0] w_addr,
    input  logic [WBITS-1:0] w_data
);
  localparam int NE = HO * WO * O;
  localparam int ZT = KH - 1 - PT;  // rows of Z before the first error row (negative: cropped)
  localparam int ZL = KW - 1 - PL;
  localparam int NCB = C / PE;
  localparam int NKB = O * KH * KW / SIMD;
  localparam int PW = EBITS + WBITS;  // a product

  logic signed [WBITS-1:0] wm[O*K];
  logic signed [EBITS-1:0] em[NE];
  int ei;  // error elements loaded
  logic busy;  // computing the loaded sample
  int h, w, cb, kb;  // input pixel, block of PE channels, block of SIMD columns
  logic signed [ACC_BITS-1:0] acc[PE], fin[PE], sum[PE];
  int pend, op;  // finished results still to leave, and the next one

  assign s_ready = !busy && ei < NE;

  // one cycle of the PE x SIMD array: column (o, i, j) of input channel c reads Z at (h + i, w + j)
  always_comb begin
    for (int p = 0; p < PE; p++) begin
      sum[p] = '0;
      for (int s = 0; s < SIMD; s++) begin
        int c, col, o, i, j, dr, dq;
        logic signed [EBITS-1:0] ev;
        logic signed [WBITS-1:0] wv;
        logic signed [PW-1:0] prod;
        c = cb * PE + p;
        col = kb * SIMD + s;
        o = col / (KH * KW);
        i = (col / KW) % KH;
        j = col % KW;
        dr = h + i - ZT;
        dq = w + j - ZL;
        ev = '0;
        if (dr >= 0 && dq >= 0 && dr % SH == 0 && dq % SW == 0 && dr / SH < HO && dq / SW < WO)
          ev = em[((dr/SH)*WO+dq/SW)*O+o];
        wv = wm[o*K+(c*KH+KH-1-i)*KW+KW-1-j];  // rotated 180 degrees, in/out swapped
        prod = PW'(ev) * PW'(wv);
        sum[p] = sum[p] + {{(ACC_BITS - PW) {prod[PW-1]}}, prod};
      end
    end
  end

  wire last_kb = kb == NKB - 1;
  wire step = busy && !(last_kb && pend != 0);  // a finished block waits until the last one has left

  always_ff @(posedge clk) begin
    if (w_we) wm[w_addr] <= w_data;
    if (s_valid && s_ready) em[ei] <= s_data;
    if (step)
      for (int p = 0; p < PE; p++) begin
        acc[p] <= (kb == 0 ? '0 : acc[p]) + sum[p];
        if (last_kb) fin[p] <= (kb == 0 ? '0 : acc[p]) + sum[p];
      end
  end

  always_ff @(posedge clk) begin
    if (!rst_n) begin
      ei <= 0;
      busy <= 1'b0;
      h <= 0;
      w <= 0;
      cb <= 0;
      kb <= 0;
      pend <= 0;
      op <= 0;
    end else begin
      if (s_valid && s_ready) begin
        ei <= ei + 1;
        if (ei == NE - 1) busy <= 1'b1;
      end
      if (m_valid && m_ready) begin
        pend <= pend - 1;
        op   <= op + 1;
      end
      if (step) begin
        if (!last_kb) kb <= kb + 1;
        else begin
          kb   <= 0;
          pend <= PE;
          op   <= 0;
          if (cb != NCB - 1) cb <= cb + 1;
          else begin
            cb <= 0;
            if (w != W - 1) w <= w + 1;
            else begin
              w <= 0;
              if (h != H - 1) h <= h + 1;
              else begin  // the sample's last block: the next sample's error may come in
                h <= 0;
                busy <= 1'b0;
                ei <= 0;
              end
            end
          end
        end
      end
    end
  end

  assign m_valid = pend != 0;
  hilt_requant #(
      .ACC_BITS(ACC_BITS),
      .BITS(EBITS),
      .SHIFT(SHIFT)
  ) u_rq (
      .acc(fin[op]),
      .q  (m_data)
  );
endmodule
