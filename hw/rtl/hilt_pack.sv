// hilt_pack: fields of a width chosen per field -> AXI4-Stream master beats (the output side's packer).
//
// Parameters: BEAT (TDATA bits), MAXW (widest field).
// Handshake: the producer offers a field (s_valid/s_ready) of s_width bits (little-endian, in the low
// bits of s_data); with s_end the field closes a section: the rest of its beat is padded with zeros, so
// the next section starts on a new beat. With s_last as well, the beat that closes the section carries
// TLAST (the end of the call's output). TKEEP and TSTRB are all ones. m_axis_* is the AXI4-Stream
// master; fields are taken while fewer than BEAT bits wait after this cycle's beat has left, one per cycle
// (a beat leaving and a field arriving share a cycle, so a stream of fields narrower than a beat moves at
// one field per cycle).
module hilt_pack #(
    parameter int BEAT = 64,
    parameter int MAXW = 64,
    localparam int CW  = $clog2(2 * BEAT + MAXW + 1)
) (
    input  logic              clk,
    input  logic              rst_n,
    input  logic              s_valid,
    output logic              s_ready,
    input  logic [  MAXW-1:0] s_data,
    input  logic [    CW-1:0] s_width,
    input  logic              s_end,
    input  logic              s_last,
    output logic [  BEAT-1:0] m_axis_tdata,
    output logic [BEAT/8-1:0] m_axis_tkeep,
    output logic [BEAT/8-1:0] m_axis_tstrb,
    output logic              m_axis_tvalid,
    input  logic              m_axis_tready,
    output logic              m_axis_tlast
);
  localparam int CAP = 2 * BEAT + MAXW;
  logic [CAP-1:0] buffer;
  logic [CW-1:0] count;
  logic last_pending;

  wire emit = m_axis_tvalid && m_axis_tready;
  wire [CW-1:0] after = emit ? count - CW'(BEAT) : count;
  logic [MAXW:0] bound;  // 1 << s_width (s_width <= MAXW)
  logic [MAXW-1:0] field;  // the offered field without the bits above its width
  assign bound = (MAXW + 1)'(1) << s_width;
  assign field = s_data & MAXW'(bound - 1'b1);
  assign m_axis_tvalid = count >= CW'(BEAT);
  assign m_axis_tdata = buffer[BEAT-1:0];
  assign m_axis_tkeep = '1;
  assign m_axis_tstrb = '1;
  assign m_axis_tlast = last_pending && count == CW'(BEAT);
  assign s_ready = after < CW'(BEAT) && !last_pending;

  always_ff @(posedge clk) begin
    if (!rst_n) begin
      count <= '0;
      buffer <= '0;
      last_pending <= 1'b0;
    end else begin
      logic [CAP-1:0] kept;
      logic [CW-1:0] filled;
      kept = emit ? buffer >> BEAT : buffer;
      filled = after;
      if (s_valid && s_ready) begin
        kept = kept | (CAP'(field) << after);
        filled = after + s_width;
        if (s_end) filled = (filled + CW'(BEAT - 1)) / CW'(BEAT) * CW'(BEAT);
        if (s_last) last_pending <= 1'b1;
      end else if (emit && m_axis_tlast) last_pending <= 1'b0;
      count  <= filled;
      buffer <= kept;
    end
  end
endmodule
