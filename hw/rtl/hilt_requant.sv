// hilt_requant: accumulator -> output word, the numerics contract's requantizer (docs/numerics.md).
//
// Parameters: ACC_BITS (accumulator width), BITS (output width), SHIFT (frac_in + frac_w - frac_out; may
// be zero or negative), LANES (values converted in parallel), RELU (1: fused ReLU after saturation).
// Combinational, no handshake. For SHIFT > 0 the result is (acc + 2**(SHIFT-1)) >>> SHIFT (round half
// up, arithmetic shift), for SHIFT <= 0 acc << -SHIFT; then saturation to the signed BITS range, then,
// with RELU, max(0, .). The intermediate is wide enough that neither the rounding add nor a left shift
// can overflow, exactly as the golden model's int64 arithmetic, and holds the output's range (BITS may
// exceed ACC_BITS).
module hilt_requant #(
    parameter int ACC_BITS = 32,
    parameter int BITS     = 8,
    parameter int SHIFT    = 0,
    parameter int LANES    = 1,
    parameter bit RELU     = 1'b0
) (
    input  logic [LANES*ACC_BITS-1:0] acc,
    output logic [    LANES*BITS-1:0] q
);
  localparam int LEFT = SHIFT < 0 ? -SHIFT : 0;
  localparam int RIGHT = ACC_BITS > SHIFT ? ACC_BITS : SHIFT;
  localparam int WIDE = (RIGHT > BITS ? RIGHT : BITS) + LEFT + 2;  // also holds the output range
  localparam logic signed [WIDE-1:0] QMAX = (WIDE'(1) <<< (BITS - 1)) - 1;
  localparam logic signed [WIDE-1:0] QMIN = -(WIDE'(1) <<< (BITS - 1));
  localparam logic signed [WIDE-1:0] HALF = SHIFT > 0 ? (WIDE'(1) <<< (SHIFT - 1)) : '0;

  for (genvar l = 0; l < LANES; l++) begin : g_lane
    logic signed [WIDE-1:0] wide, shifted;
    logic signed [BITS-1:0] sat;
    assign wide = WIDE'($signed(acc[l*ACC_BITS+:ACC_BITS]));
    if (SHIFT > 0) begin : g_right
      assign shifted = (wide + HALF) >>> SHIFT;
    end else begin : g_left
      assign shifted = wide <<< LEFT;
    end
    assign sat = shifted > QMAX ? QMAX[BITS-1:0] : shifted < QMIN ? QMIN[BITS-1:0] : shifted[BITS-1:0];
    assign q[l*BITS+:BITS] = (RELU && sat[BITS-1]) ? '0 : sat;
  end
endmodule
