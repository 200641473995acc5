// hilt_tap: a link between two units that can also copy every beat into a FIFO (a training tap).
//
// Parameters: W (payload bits), DEPTH (tap FIFO entries: one sample's map, so a tap never blocks the
// pipeline while the output emits an earlier tap of the same sample).
// Handshake: s -> m passes straight through; with en, a beat moves only when both m and the FIFO take
// it (a tee). t_* is the FIFO's read side.
module hilt_tap #(
    parameter int W     = 8,
    parameter int DEPTH = 1
) (
    input  logic         clk,
    input  logic         rst_n,
    input  logic         en,
    input  logic         s_valid,
    output logic         s_ready,
    input  logic [W-1:0] s_data,
    output logic         m_valid,
    input  logic         m_ready,
    output logic [W-1:0] m_data,
    output logic         t_valid,
    input  logic         t_ready,
    output logic [W-1:0] t_data
);
  logic f_ready;
  assign m_data  = s_data;
  assign m_valid = s_valid && (!en || f_ready);
  assign s_ready = m_ready && (!en || f_ready);

  hilt_fifo #(
      .W(W),
      .DEPTH(DEPTH)
  ) u_fifo (
      .clk(clk),
      .rst_n(rst_n),
      .s_valid(en && s_valid && m_ready),
      .s_ready(f_ready),
      .s_data(s_data),
      .m_valid(t_valid),
      .m_ready(t_ready),
      .m_data(t_data)
  );
endmodule
