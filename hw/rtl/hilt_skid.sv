// hilt_skid: valid/ready skid buffer (a register slice that breaks the ready path).
//
// Parameters: W, the payload width in bits.
// Handshake: AXI-Stream style on both sides; a beat moves when valid && ready. s_ready is a register
// (no combinational path from m_ready), so a chain of skid buffers closes timing at any length; full
// throughput (one beat per cycle) with one beat of extra storage for the cycle m_ready drops.
module hilt_skid #(
    parameter int W = 8
) (
    input  logic         clk,
    input  logic         rst_n,
    input  logic         s_valid,
    output logic         s_ready,
    input  logic [W-1:0] s_data,
    output logic         m_valid,
    input  logic         m_ready,
    output logic [W-1:0] m_data
);
  logic [W-1:0] skid_data;
  logic         skid_valid;

  assign s_ready = !skid_valid;

  always_ff @(posedge clk) begin
    if (!rst_n) begin
      m_valid    <= 1'b0;
      skid_valid <= 1'b0;
    end else if (m_ready || !m_valid) begin
      if (skid_valid) begin
        m_data     <= skid_data;
        m_valid    <= 1'b1;
        skid_valid <= 1'b0;
      end else begin
        m_valid <= s_valid;
        if (s_valid) m_data <= s_data;
      end
    end else if (s_valid && !skid_valid) begin
      skid_valid <= 1'b1;
      skid_data  <= s_data;
    end
  end
endmodule
