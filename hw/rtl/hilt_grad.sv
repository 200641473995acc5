// hilt_grad: weight and bias gradients of a conv or dense layer over a batch (docs/numerics.md):
// dW[o][k] = sum over samples and output positions of e_out[o] * x_window[k], db[o] = sum of e_out[o],
// accumulated in GACC_BITS (48 by the contract, wrapping), read out as requantize(acc, GSHIFT, GBITS) and
// requantize(db, BSHIFT, GBITS) (32-bit words), as hw/hls/hilt/backward.h emit_grads.
//
// Parameters: the forward layer's input C x H x W, kernel KH x KW, stride SH x SW, top/left padding
// PT/PL, output HO x WO x O (dense: H = W = HO = WO = KH = KW = 1, C = inputs, in the stream's HWC
// order); folding PE (rows: output channels, divides O) x SIMD (columns k = (c, ky, kx), ONNX order,
// divides C*KH*KW); XL / EL, values per beat of x and of the error (a pixel's channels, or a vector);
// widths BITS, EBITS, GACC_BITS, GBITS; the read-out shifts GSHIFT and BSHIFT.
// Handshake: valid/ready, XL / EL values per beat in HWC order (value 0 in the low bits). In: the forward
// input x (C*H*W values) and the error at the layer's output (HO*WO*O), taken in any interleaving into
// one of two banks while the array works on the other (double buffering). Per output pixel the PE x SIMD
// array takes (O/PE)*(K/SIMD) cycles; the bias sums ride with the first column block. Cycles per sample:
// HO*WO*(O/PE)*(K/SIMD) (the DSE's figure) when the next sample's inputs are in by then.
// Batch: `clear` (a pulse at the start of a call) makes the next sample's first products overwrite the
// accumulators instead of adding to them; `done` counts the samples accumulated since. Read-out: rd_addr
// 0 .. O*K-1 the weight gradients (o-major), O*K .. O*K+O-1 the bias gradients; rd_data is
// combinational, RL words (rd_addr, rd_addr + 1, ...; word 0 in the low bits), and 0 while no sample has
// been accumulated since `clear`.
module hilt_grad #(
    parameter int C         = 1,
    parameter int H         = 1,
    parameter int W         = 1,
    parameter int KH        = 1,
    parameter int KW        = 1,
    parameter int SH        = 1,
    parameter int SW        = 1,
    parameter int PT        = 0,
    parameter int PL        = 0,
    parameter int HO        = 1,
    parameter int WO        = 1,
    parameter int O         = 1,
    parameter int PE        = 1,
    parameter int SIMD      = 1,
    parameter int XL        = 1,
    parameter int EL        = 1,
    parameter int RL        = 1,
    parameter int BITS      = 8,
    parameter int EBITS     = 16,
    parameter int GACC_BITS = 48,
    parameter int GBITS     = 32,
    parameter int GSHIFT    = 0,
    parameter int BSHIFT    = 0
) (
    input  logic                clk,
    input  logic                rst_n,
    input  logic                clear,
    input  logic                x_valid,
    output logic                x_ready,
    input  logic [ XL*BITS-1:0] x_data,
    input  logic                e_valid,
    output logic                e_ready,
    input  logic [EL*EBITS-1:0] e_data,
    output logic [        31:0] done,
    input  logic [        31:0] rd_addr,
    output logic [RL*GBITS-1:0] rd_data
);
  localparam int K = C * KH * KW;
  localparam int NX = C * H * W;
  localparam int NE = HO * WO * O;
  localparam int NOB = O / PE;
  localparam int NKB = K / SIMD;
  localparam int PW = EBITS + BITS;  // a product

  logic signed [BITS-1:0] xm[2][NX];
  logic signed [EBITS-1:0] em[2][NE];
  logic lbank, cbank;  // the bank loading, the bank computing
  logic computing;
  logic signed [GACC_BITS-1:0] acc[O*K], bacc[O];
  int xi, ei;  // beats loaded
  logic fresh;  // no sample accumulated since `clear`
  int ho, wo, ob, kb;  // output pixel, block of PE rows, block of SIMD columns
  wire loaded = xi == NX / XL && ei == NE / EL;

  assign x_ready = xi < NX / XL;
  assign e_ready = ei < NE / EL;

  // one cycle of the PE x SIMD array
  logic signed [GACC_BITS-1:0] prod_w[PE][SIMD], err_w[PE];
  always_comb begin
    for (int p = 0; p < PE; p++) begin
      int o;
      logic signed [EBITS-1:0] ev;
      o = ob * PE + p;
      ev = em[cbank][(ho*WO+wo)*O+o];
      err_w[p] = GACC_BITS'(ev);
      for (int s = 0; s < SIMD; s++) begin
        int k, c, i, j, hh, ww;
        logic signed [BITS-1:0] xv;
        logic signed [PW-1:0] prod;
        k = kb * SIMD + s;
        c = k / (KH * KW);
        i = (k / KW) % KH;
        j = k % KW;
        hh = ho * SH + i - PT;
        ww = wo * SW + j - PL;
        xv = (hh >= 0 && hh < H && ww >= 0 && ww < W) ? xm[cbank][(hh*W+ww)*C+c] : '0;  // padding reads 0
        prod = PW'(ev) * PW'(xv);
        prod_w[p][s] = GACC_BITS'(prod);  // sign-extended (prod is signed)
      end
    end
  end

  wire first = fresh && ho == 0 && wo == 0;  // the batch's first touch of every accumulator
  wire last_kb = kb == NKB - 1;
  wire last_ob = ob == NOB - 1;
  wire last_pix = ho == HO - 1 && wo == WO - 1;

  always_ff @(posedge clk) begin
    if (x_valid && x_ready) for (int l = 0; l < XL; l++) xm[lbank][xi*XL+l] <= x_data[l*BITS+:BITS];
    if (e_valid && e_ready) for (int l = 0; l < EL; l++) em[lbank][ei*EL+l] <= e_data[l*EBITS+:EBITS];
    if (computing)
      for (int p = 0; p < PE; p++) begin
        for (int s = 0; s < SIMD; s++)
        acc[(ob*PE+p)*K+kb*SIMD+s] <= (first ? '0 : acc[(ob*PE+p)*K+kb*SIMD+s]) + prod_w[p][s];
        if (kb == 0) bacc[ob*PE+p] <= (first ? '0 : bacc[ob*PE+p]) + err_w[p];
      end
  end

  always_ff @(posedge clk) begin
    if (!rst_n) begin
      xi <= 0;
      ei <= 0;
      ho <= 0;
      wo <= 0;
      ob <= 0;
      kb <= 0;
      fresh <= 1'b1;
      done <= '0;
      lbank <= 1'b0;
      cbank <= 1'b0;
      computing <= 1'b0;
    end else begin
      if (x_valid && x_ready) xi <= xi + 1;
      if (e_valid && e_ready) ei <= ei + 1;
      if (loaded && !computing) begin  // both in: compute on this bank, load the next sample into the other
        computing <= 1'b1;
        cbank <= lbank;
        lbank <= !lbank;
        xi <= 0;
        ei <= 0;
      end
      if (computing) begin
        if (!last_kb) kb <= kb + 1;
        else begin
          kb <= 0;
          if (!last_ob) ob <= ob + 1;
          else begin
            ob <= 0;
            if (wo != WO - 1) wo <= wo + 1;
            else begin
              wo <= 0;
              if (ho != HO - 1) ho <= ho + 1;
              else ho <= 0;
            end
            if (last_pix) begin  // the sample is in the accumulators
              computing <= 1'b0;
              fresh <= 1'b0;
              done <= done + 1;
            end
          end
        end
      end
      if (clear) begin
        fresh <= 1'b1;
        done  <= '0;
      end
    end
  end

  // read-out: RL words, each the weight or the bias accumulator at its address, requantized
  for (genvar g = 0; g < RL; g++) begin : g_rd
    logic [GBITS-1:0] wq, bq;
    wire [31:0] addr = rd_addr + g;
    wire [GACC_BITS-1:0] wsel = acc[addr < O*K ? addr : 0];
    wire [GACC_BITS-1:0] bsel = bacc[addr >= O*K && addr < O*K + O ? addr - O*K : 0];
    hilt_requant #(
        .ACC_BITS(GACC_BITS),
        .BITS(GBITS),
        .SHIFT(GSHIFT)
    ) u_wq (
        .acc(wsel),
        .q  (wq)
    );
    hilt_requant #(
        .ACC_BITS(GACC_BITS),
        .BITS(GBITS),
        .SHIFT(BSHIFT)
    ) u_bq (
        .acc(bsel),
        .q  (bq)
    );
    assign rd_data[g*GBITS+:GBITS] = fresh ? '0 : addr < O * K ? wq : bq;
  end
endmodule
