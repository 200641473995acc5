// hilt_relu_bwd: ReLU backward, e_in = (y > 0) ? e_out : 0 per value, with the forward output y
// (docs/numerics.md).
//
// Parameters: LANES (values per beat: a pixel's channels, or a vector), BITS (width of the forward output
// y), EBITS (error width, 16 by the contract).
// Handshake: two valid/ready inputs, the error e and the forward output tap y, LANES values per beat in the
// same (HWC) order, joined into one output: a pair moves when both are valid and the output is ready.
// Combinational (no state): the top buffers the tap, which arrives long before its error.
module hilt_relu_bwd #(
    parameter int LANES = 1,
    parameter int BITS  = 8,
    parameter int EBITS = 16
) (
    input  logic                   e_valid,
    output logic                   e_ready,
    input  logic [LANES*EBITS-1:0] e_data,
    input  logic                   y_valid,
    output logic                   y_ready,
    input  logic [ LANES*BITS-1:0] y_data,
    output logic                   m_valid,
    input  logic                   m_ready,
    output logic [LANES*EBITS-1:0] m_data
);
  assign m_valid = e_valid && y_valid;
  assign e_ready = m_ready && y_valid;
  assign y_ready = m_ready && e_valid;
  for (genvar l = 0; l < LANES; l++) begin : g_lane
    wire positive = !y_data[l*BITS+BITS-1] && |y_data[l*BITS+:BITS];
    assign m_data[l*EBITS+:EBITS] = positive ? e_data[l*EBITS+:EBITS] : '0;
  end
endmodule
