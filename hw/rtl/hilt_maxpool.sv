// hilt_maxpool: streaming max pool, kernel K x K at stride K (non-overlapping windows), no padding.
//
// Parameters: C (channels per pixel), H x W input, K (kernel = stride), BITS. Output HO = H / K,
// WO = W / K (floor: trailing rows/columns that fill no window are read and dropped, as ONNX's floor
// mode does).
// Handshake: valid/ready, one pixel (C values, HWC order) per beat both sides; one input pixel per
// cycle (H*W cycles per sample). A row buffer of WO partial maxima per channel: the window's first
// pixel loads it, later pixels take the max, and its last pixel sends the result.
module hilt_maxpool #(
    parameter int C    = 1,
    parameter int H    = 2,
    parameter int W    = 2,
    parameter int K    = 2,
    parameter int BITS = 8
) (
    input  logic              clk,
    input  logic              rst_n,
    input  logic              s_valid,
    output logic              s_ready,
    input  logic [C*BITS-1:0] s_data,
    output logic              m_valid,
    input  logic              m_ready,
    output logic [C*BITS-1:0] m_data
);
  localparam int HO = H / K;
  localparam int WO = W / K;

  logic [C*BITS-1:0] rowmax[WO];
  int y, x, wy, wx, ox;
  logic [C*BITS-1:0] merged;
  wire in_window = (y < HO * K) && (x < WO * K);
  wire first = (wy == 0) && (wx == 0);
  wire finish = (wy == K - 1) && (wx == K - 1);
  wire take = s_valid && s_ready;

  assign s_ready = !m_valid || m_ready;

  always_comb begin
    for (int c = 0; c < C; c++) begin
      logic signed [BITS-1:0] a, b;
      a = s_data[c*BITS+:BITS];
      b = rowmax[ox][c*BITS+:BITS];
      merged[c*BITS+:BITS] = (first || a > b) ? a : b;
    end
  end

  always_ff @(posedge clk) begin
    if (!rst_n) begin
      y <= 0;
      x <= 0;
      wy <= 0;
      wx <= 0;
      ox <= 0;
      m_valid <= 1'b0;
    end else begin
      if (m_ready) m_valid <= 1'b0;
      if (take) begin
        if (in_window) begin
          rowmax[ox] <= merged;
          if (finish) begin
            m_valid <= 1'b1;
            m_data  <= merged;
          end
        end
        // column counters: window column wx, window index ox
        if (x == W - 1) begin
          x  <= 0;
          wx <= 0;
          ox <= 0;
          if (y == H - 1) begin
            y  <= 0;
            wy <= 0;
          end else begin
            y  <= y + 1;
            wy <= (wy == K - 1) ? 0 : wy + 1;
          end
        end else begin
          x <= x + 1;
          if (wx == K - 1) begin
            wx <= 0;
            ox <= (ox < WO - 1) ? ox + 1 : ox;
          end else wx <= wx + 1;
        end
      end
    end
  end
endmodule
