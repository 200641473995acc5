// hilt_unpack: AXI4-Stream slave beats -> fields of a width chosen per field (the input side's unpacker).
//
// Parameters: BEAT (TDATA bits), MAXW (widest field).
// Handshake: s_axis_* is the AXI4-Stream slave (TLAST/TKEEP are not needed: the accelerator counts beats
// from the stream layout, docs/rtl.md). The consumer presents the width it wants next on `width`
// (1..MAXW) and takes a field with m_valid && m_ready; the field is the next `width` bits of the stream,
// little-endian, in the low bits of m_data (upper bits zero). `skip` with a field drops it (used for the
// padding that ends a section on a beat boundary). Fields may straddle beats; one field per cycle.
module hilt_unpack #(
    parameter int BEAT = 64,
    parameter int MAXW = 64,
    localparam int CW  = $clog2(BEAT + MAXW + 1)
) (
    input  logic            clk,
    input  logic            rst_n,
    input  logic [BEAT-1:0] s_axis_tdata,
    input  logic            s_axis_tvalid,
    output logic            s_axis_tready,
    input  logic [  CW-1:0] width,
    output logic            m_valid,
    input  logic            m_ready,
    output logic [MAXW-1:0] m_data
);
  localparam int CAP = BEAT + MAXW;
  logic [CAP-1:0] buffer;
  logic [CW-1:0] count;

  wire take = m_valid && m_ready;
  wire [CW-1:0] after = take ? count - width : count;
  assign m_valid = count >= width;
  assign s_axis_tready = count <= CW'(MAXW);
  logic [MAXW:0] bound;  // 1 << width (width <= MAXW)
  assign bound = (MAXW + 1)'(1) << width;
  assign m_data = buffer[MAXW-1:0] & MAXW'(bound - 1'b1);

  always_ff @(posedge clk) begin
    if (!rst_n) begin
      count  <= '0;
      buffer <= '0;
    end else begin
      logic [CAP-1:0] kept;
      kept = take ? buffer >> width : buffer;
      if (s_axis_tvalid && s_axis_tready) begin
        kept  = kept | (CAP'(s_axis_tdata) << after);
        count <= after + CW'(BEAT);
      end else count <= after;
      buffer <= kept;
    end
  end
endmodule
