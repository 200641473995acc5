// hilt_fifo: synchronous first-in first-out queue.
//
// Parameters: W (payload bits), DEPTH (entries; any positive count).
// Handshake: valid/ready both sides; s_ready while not full, m_valid while not empty; a beat may enter and
// another leave in the same cycle. First-word fall-through (m_data shows the head).
module hilt_fifo #(
    parameter int W     = 8,
    parameter int DEPTH = 2
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
  logic [W-1:0] mem[DEPTH];
  int rd, wr, count;
  wire push = s_valid && s_ready;
  wire pop = m_valid && m_ready;

  assign s_ready = count < DEPTH;
  assign m_valid = count > 0;
  assign m_data  = mem[rd];

  always_ff @(posedge clk) if (push) mem[wr] <= s_data;

  always_ff @(posedge clk) begin
    if (!rst_n) begin
      rd <= 0;
      wr <= 0;
      count <= 0;
    end else begin
      if (push) wr <= (wr == DEPTH - 1) ? 0 : wr + 1;
      if (pop) rd <= (rd == DEPTH - 1) ? 0 : rd + 1;
      count <= count + (push ? 1 : 0) - (pop ? 1 : 0);
    end
  end
endmodule
