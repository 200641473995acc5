// hilt_mac: PE x SIMD multiply-accumulate array (FINN's MVAU datapath).
//
// Parameters: PE (output channels in parallel), SIMD (inputs per channel per cycle), BITS (activation
// width), WBITS (weight width), ACC_BITS (accumulator width; sums wrap at this width, as the contract's
// fixed-width accumulator does).
// Handshake: none of its own; the owner freezes it with en = 0. On a cycle with en && in_valid,
// acc[p] <= (first ? init[p] : acc[p]) + sum_j act[j] * wgt[p][j]: the bias enters as the initial value
// of the accumulation. The result is visible one cycle after the chunk that carried `last`.
// Each product is a signed BITS x WBITS multiply that maps to one DSP48 (use_dsp).
module hilt_mac #(
    parameter int PE       = 1,
    parameter int SIMD     = 1,
    parameter int BITS     = 8,
    parameter int WBITS    = 8,
    parameter int ACC_BITS = 32
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
  for (genvar p = 0; p < PE; p++) begin : g_pe
    (* use_dsp = "yes" *) logic signed [ACC_BITS-1:0] prod[SIMD];
    logic signed [ACC_BITS-1:0] dot, base;
    for (genvar j = 0; j < SIMD; j++) begin : g_simd
      assign prod[j] = ACC_BITS'($signed(act[j*BITS+:BITS]) * $signed(wgt[(p*SIMD+j)*WBITS+:WBITS]));
    end
    always_comb begin
      dot = '0;
      for (int j = 0; j < SIMD; j++) dot = dot + prod[j];
    end
    assign base = first ? $signed(init[p*ACC_BITS+:ACC_BITS]) : $signed(acc[p*ACC_BITS+:ACC_BITS]);
    always_ff @(posedge clk) begin
      if (en && in_valid) acc[p*ACC_BITS+:ACC_BITS] <= base + dot;
    end
  end
endmodule
