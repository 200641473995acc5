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
// IL / OL: values per beat in and out (a pixel's channels, or a whole vector; a dense layer after a flatten
// gets its input error as the flattened map's pixels).
// Handshake: valid/ready, IL / OL values per beat in HWC order (value 0 in the low bits). In: the error at
// the layer's output (HO*WO*O values), taken while the unit is not computing. Out: the error at its input
// (H*W*C values). The error is taken into one of two banks while the array works on the other (double
// buffering). Per input pixel and block of PE channels the array takes O*KH*KW/SIMD cycles; results go to
// an output memory and leave a beat at a time as soon as the beat's values are computed (while the array
// goes on); the next sample starts once they have all left. Cycles per sample: H*W*(C/PE)*(O*KH*KW/SIMD)
// (the DSE's figure) when the next error is in by then and the consumer keeps up.
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
    parameter int IL       = 1,
    parameter int OL       = 1,
    parameter int WBITS    = 8,
    parameter int EBITS    = 16,
    parameter int ACC_BITS = 48,
    parameter int SHIFT    = 0,
    localparam int K       = C * KH * KW,
    localparam int WA      = O * K > 1 ? $clog2(O * K) : 1
) (
    input  logic                clk,
    input  logic                rst_n,
    input  logic                s_valid,
    output logic                s_ready,
    input  logic [IL*EBITS-1:0] s_data,
    output logic                m_valid,
    input  logic                m_ready,
    output logic [OL*EBITS-1:0] m_data,
    input  logic                w_we,
    input  logic [      WA-1:0] w_addr,
    input  logic [   WBITS-1:0] w_data
);
  localparam int NE = HO * WO * O;
  localparam int NX = H * W * C;
  localparam int ZT = KH - 1 - PT;  // rows of Z before the first error row (negative: cropped)
  localparam int ZL = KW - 1 - PL;
  localparam int NCB = C / PE;
  localparam int NKB = O * KH * KW / SIMD;
  localparam int PW = EBITS + WBITS;  // a product

  logic signed [WBITS-1:0] wm[O*K];
  logic signed [EBITS-1:0] em[2][NE];
  logic lbank, cbank;  // the bank loading, the bank computing
  logic [EBITS-1:0] rm[NX];  // the sample's results, in output order
  int ei;  // error beats loaded
  int ri;  // results computed (values, in output order)
  int oi;  // result beats sent
  logic computing;
  int h, w, cb, kb;  // input pixel, block of PE channels, block of SIMD columns
  logic signed [ACC_BITS-1:0] acc[PE], sum[PE];
  logic [PE*ACC_BITS-1:0] fin;  // a finished block's sums
  logic [PE*EBITS-1:0] fin_q;  // ... requantized

  assign s_ready = ei < NE / IL;

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
          ev = em[cbank][((dr/SH)*WO+dq/SW)*O+o];
        wv = wm[o*K+(c*KH+KH-1-i)*KW+KW-1-j];  // rotated 180 degrees, in/out swapped
        prod = PW'(ev) * PW'(wv);
        sum[p] = sum[p] + ACC_BITS'(prod);  // sign-extended (prod is signed)
      end
      fin[p*ACC_BITS+:ACC_BITS] = (kb == 0 ? '0 : acc[p]) + sum[p];
    end
  end
  hilt_requant #(
      .ACC_BITS(ACC_BITS),
      .BITS(EBITS),
      .SHIFT(SHIFT),
      .LANES(PE)
  ) u_rq (
      .acc(fin),
      .q  (fin_q)
  );

  wire last_kb = kb == NKB - 1;
  wire last_block = last_kb && cb == NCB - 1 && w == W - 1 && h == H - 1;

  always_ff @(posedge clk) begin
    if (w_we) wm[w_addr] <= w_data;
    if (s_valid && s_ready) for (int l = 0; l < IL; l++) em[lbank][ei*IL+l] <= s_data[l*EBITS+:EBITS];
    if (computing) begin
      for (int p = 0; p < PE; p++) acc[p] <= fin[p*ACC_BITS+:ACC_BITS];
      if (last_kb) for (int p = 0; p < PE; p++) rm[(h*W+w)*C+cb*PE+p] <= fin_q[p*EBITS+:EBITS];
    end
  end

  always_comb for (int l = 0; l < OL; l++) m_data[l*EBITS+:EBITS] = rm[oi*OL+l];
  assign m_valid = oi < NX / OL && ri >= (oi + 1) * OL;

  always_ff @(posedge clk) begin
    if (!rst_n) begin
      ei <= 0;
      ri <= 0;
      oi <= 0;
      computing <= 1'b0;
      lbank <= 1'b0;
      cbank <= 1'b0;
      h <= 0;
      w <= 0;
      cb <= 0;
      kb <= 0;
    end else begin
      if (s_valid && s_ready) ei <= ei + 1;
      // start once the error is in and the previous sample's results have all left
      if (!computing && ei == NE / IL && ri == 0) begin
        computing <= 1'b1;
        cbank <= lbank;
        lbank <= !lbank;
        ei <= 0;
      end
      if (computing) begin
        if (!last_kb) kb <= kb + 1;
        else begin
          kb <= 0;
          ri <= ri + PE;
          if (cb != NCB - 1) cb <= cb + 1;
          else begin
            cb <= 0;
            if (w != W - 1) w <= w + 1;
            else begin
              w <= 0;
              if (h != H - 1) h <= h + 1;
              else h <= 0;
            end
          end
          if (last_block) computing <= 1'b0;
        end
      end
      if (m_valid && m_ready) begin
        if (oi != NX / OL - 1) oi <= oi + 1;
        else begin  // the sample's last beat (every result computed by now)
          oi <= 0;
          ri <= 0;
        end
      end
    end
  end
endmodule
