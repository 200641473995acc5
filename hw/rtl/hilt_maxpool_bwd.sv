// hilt_maxpool_bwd: max-pool backward (kernel K = stride K, no padding, as hilt_maxpool): each output's
// error goes to the first maximum of its window in row-major window order in the forward input x, every
// other input position gets 0 (docs/numerics.md; hw/hls/hilt/backward.h maxpool_bwd). Rows and columns
// past the last whole window get 0.
//
// Parameters: the forward input map C x H x W, K (kernel and stride), BITS (x width), EBITS (error width).
// Handshake: valid/ready everywhere, one pixel (C values, channel 0 in the low bits) per beat in HWC
// order. In: the forward input x (H*W pixels) and the error at the pool's output ((H/K)*(W/K) pixels),
// taken in any interleaving while their buffers are not full. Out: the error at the pool's input, H*W
// pixels, one per cycle once both are in; the next sample's inputs are taken after the last one left.
// Cycles per sample: the loads plus H*W.
module hilt_maxpool_bwd #(
    parameter int C     = 1,
    parameter int H     = 2,
    parameter int W     = 2,
    parameter int K     = 2,
    parameter int BITS  = 8,
    parameter int EBITS = 16
) (
    input  logic               clk,
    input  logic               rst_n,
    input  logic               x_valid,
    output logic               x_ready,
    input  logic [ C*BITS-1:0] x_data,
    input  logic               e_valid,
    output logic               e_ready,
    input  logic [C*EBITS-1:0] e_data,
    output logic               m_valid,
    input  logic               m_ready,
    output logic [C*EBITS-1:0] m_data
);
  localparam int HO = H / K;
  localparam int WO = W / K;

  logic [C*BITS-1:0] xm[H*W];
  logic [C*EBITS-1:0] em[HO*WO];
  int xi, ei;  // pixels loaded
  int h, w;  // the input pixel being emitted
  wire loaded = xi == H * W && ei == HO * WO;

  assign x_ready = xi < H * W;
  assign e_ready = ei < HO * WO;
  assign m_valid = loaded;

  // the window of (h, w) and, per channel, its first maximum
  always_comb begin
    int ho, wo, bi, bj;
    logic signed [BITS-1:0] best, v;
    ho = h / K;
    wo = w / K;
    v = '0;
    m_data = '0;
    for (int c = 0; c < C; c++) begin
      bi = 0;
      bj = 0;
      best = '0;
      if (ho < HO && wo < WO) begin
        best = xm[(ho*K)*W+wo*K][c*BITS+:BITS];
        for (int i = 0; i < K; i++)
        for (int j = 0; j < K; j++) begin
          v = xm[(ho*K+i)*W+wo*K+j][c*BITS+:BITS];
          if (v > best) begin
            best = v;
            bi = i;
            bj = j;
          end
        end
        if (h == ho * K + bi && w == wo * K + bj) m_data[c*EBITS+:EBITS] = em[ho*WO+wo][c*EBITS+:EBITS];
      end
    end
  end

  always_ff @(posedge clk) begin
    if (x_valid && x_ready) xm[xi] <= x_data;
    if (e_valid && e_ready) em[ei] <= e_data;
  end

  always_ff @(posedge clk) begin
    if (!rst_n) begin
      xi <= 0;
      ei <= 0;
      h  <= 0;
      w  <= 0;
    end else begin
      if (x_valid && x_ready) xi <= xi + 1;
      if (e_valid && e_ready) ei <= ei + 1;
      if (m_valid && m_ready) begin
        if (w != W - 1) w <= w + 1;
        else begin
          w <= 0;
          if (h != H - 1) h <= h + 1;
          else begin  // the sample's last pixel: take the next sample's inputs
            h  <= 0;
            xi <= 0;
            ei <= 0;
          end
        end
      end
    end
  end
endmodule
