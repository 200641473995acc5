// hilt_relu: elementwise max(0, x) on a pixel of LANES signed BITS-bit values.
//
// Parameters: LANES, BITS. Combinational; it sits on a link between two units and passes the
// valid/ready handshake straight through (a ReLU costs no cycle and no storage).
module hilt_relu #(
    parameter int LANES = 1,
    parameter int BITS  = 8
) (
    input  logic [LANES*BITS-1:0] x,
    output logic [LANES*BITS-1:0] y
);
  for (genvar l = 0; l < LANES; l++) begin : g_lane
    assign y[l*BITS+:BITS] = x[l*BITS+BITS-1] ? '0 : x[l*BITS+:BITS];
  end
endmodule
