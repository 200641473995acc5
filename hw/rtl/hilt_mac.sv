// hilt_mac: PE x SIMD multiply-accumulate array (FINN's MVAU datapath).
//
// Parameters: PE (output channels in parallel), SIMD (inputs per channel per cycle), BITS (activation
// width), WBITS (weight width), ACC_BITS (accumulator width; sums wrap at this width, as the contract's
// fixed-width accumulator does), PACK (multiplies one DSP slice does: 2 on DSP48E2, 1 on DSP48E1).
// Handshake: none of its own; the owner freezes it with en = 0. On a cycle with en && in_valid,
// acc[p] <= (first ? init[p] : acc[p]) + sum_j act[j] * wgt[p][j]: the bias enters as the initial value
// of the accumulation. The result is visible one cycle after the chunk that carried `last`.
// Each product is a signed BITS x WBITS multiply that maps to a DSP48. With PACK = 2 and operands of at
// most 8 bits, PE rows 2q and 2q + 1 share each lane's activation and one multiplier (Xilinx WP486's int8
// packing): (w[2q+1] * 2^18 + w[2q]) * a fits the DSP48E2's 27 x 18 multiplier, its low 18 bits are
// w[2q] * a exactly (|w * a| <= 2^14) and the rest, corrected by that low half's sign, w[2q+1] * a. So the
// array costs ceil(PE / 2) * SIMD DSPs, the DSE's count; an odd last row multiplies on its own.
module hilt_mac #(
    parameter int PE       = 1,
    parameter int SIMD     = 1,
    parameter int BITS     = 8,
    parameter int WBITS    = 8,
    parameter int ACC_BITS = 32,
    parameter int PACK     = 1
) (
    input  logic                     clk,
    input  logic                     en,
    input  logic                     in_valid,
    input  logic                     first,
    input  logic [    SIMD*BITS-1:0] act,
    input  logic [PE*SIMD*WBITS-1:0] wgt,
    input  logic [  PE*ACC_BITS-1:0] init,
    output logic [  PE*ACC_BITS-1:0] acc
);
  localparam int LOW = 18;  // the packed low product's field: the DSP48E2's B port width
  localparam int PAIRS = (PACK == 2 && BITS <= 8 && WBITS <= 8) ? PE / 2 : 0;
  localparam int PW = LOW + WBITS + 1;  // the packed weight pair (27 bits for 8-bit weights)
  // a product's and a chunk's sum's exact widths: the adder tree is no wider than its values, and the
  // sum enters the ACC_BITS accumulator sign-extended (the same integers as adding at ACC_BITS)
  localparam int MW = BITS + WBITS;
  localparam int DW = MW + (SIMD > 1 ? $clog2(SIMD) : 0);
  logic signed [MW-1:0] prod[PE][SIMD];

  for (genvar q = 0; q < PAIRS; q++) begin : g_pair
    for (genvar j = 0; j < SIMD; j++) begin : g_simd
      logic signed [WBITS-1:0] w_lo, w_hi;
      logic signed [PW-1:0] wpair;
      (* use_dsp = "yes" *) logic signed [LOW+MW-1:0] pp;  // |pp| < 2^33: no bit of the product is lost
      logic signed [LOW-1:0] lo;
      logic signed [MW-1:0] hi;
      assign w_lo = wgt[(2*q*SIMD+j)*WBITS+:WBITS];
      assign w_hi = wgt[((2*q+1)*SIMD+j)*WBITS+:WBITS];
      assign wpair = {w_hi[WBITS-1], w_hi, {LOW{1'b0}}} + PW'(w_lo);
      assign pp = (LOW + MW)'(wpair) * (LOW + MW)'($signed(act[j*BITS+:BITS]));
      assign lo = pp[LOW-1:0];
      assign hi = pp[LOW+MW-1:LOW] + MW'(lo[LOW-1]);
      assign prod[2*q][j] = MW'(lo);
      assign prod[2*q+1][j] = hi;
    end
  end
  for (genvar p = 2 * PAIRS; p < PE; p++) begin : g_single
    for (genvar j = 0; j < SIMD; j++) begin : g_simd
      (* use_dsp = "yes" *) logic signed [MW-1:0] pp;
      assign pp = MW'($signed(act[j*BITS+:BITS])) * MW'($signed(wgt[(p*SIMD+j)*WBITS+:WBITS]));
      assign prod[p][j] = pp;
    end
  end

  for (genvar p = 0; p < PE; p++) begin : g_pe
    logic signed [DW-1:0] dot;
    logic signed [ACC_BITS-1:0] base;
    always_comb begin
      dot = '0;
      for (int j = 0; j < SIMD; j++) dot = dot + DW'(prod[p][j]);
    end
    assign base = first ? $signed(init[p*ACC_BITS+:ACC_BITS]) : $signed(acc[p*ACC_BITS+:ACC_BITS]);
    always_ff @(posedge clk) begin
      if (en && in_valid) acc[p*ACC_BITS+:ACC_BITS] <= base + ACC_BITS'(dot);
    end
  end
endmodule
