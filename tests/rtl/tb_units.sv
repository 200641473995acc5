// tb_units: one Verilator build that holds every kernel unit the unit bench checks (test_units.py):
// requantizers at shifts -3, 0, 1, 5, 12 and 35 (and a fused-ReLU one at 5), a skid buffer, a max pool
// with trailing rows/columns, a strided padded conv MVU, a two-pixels-per-beat conv MVU with asymmetric
// stride and padding, and a dense MVU with a negative shift.
module tb_units (
    input  logic          clk,
    input  logic          rst_n,
    input  logic [31:0]   rq_acc,
    output logic [ 7:0]   rq_m3, rq_0, rq_1, rq_5, rq_12, rq_35, rq_5r,
    input  logic          sk_s_valid,
    output logic          sk_s_ready,
    input  logic [15:0]   sk_s_data,
    output logic          sk_m_valid,
    input  logic          sk_m_ready,
    output logic [15:0]   sk_m_data,
    input  logic          mp_s_valid,
    output logic          mp_s_ready,
    input  logic [23:0]   mp_s_data,
    output logic          mp_m_valid,
    input  logic          mp_m_ready,
    output logic [23:0]   mp_m_data,
    input  logic          cv_s_valid,
    output logic          cv_s_ready,
    input  logic [23:0]   cv_s_data,
    output logic          cv_m_valid,
    input  logic          cv_m_ready,
    output logic [31:0]   cv_m_data,
    input  logic          cv_w_we,
    input  logic [ 6:0]   cv_w_addr,
    input  logic [ 7:0]   cv_w_data,
    input  logic          cv_b_we,
    input  logic [ 1:0]   cv_b_addr,
    input  logic [31:0]   cv_b_data,
    input  logic          cw_s_valid,
    output logic          cw_s_ready,
    input  logic [31:0]   cw_s_data,
    output logic          cw_m_valid,
    input  logic          cw_m_ready,
    output logic [23:0]   cw_m_data,
    input  logic          cw_w_we,
    input  logic [ 5:0]   cw_w_addr,
    input  logic [ 7:0]   cw_w_data,
    input  logic          cw_b_we,
    input  logic [ 1:0]   cw_b_addr,
    input  logic [31:0]   cw_b_data,
    input  logic          dn_s_valid,
    output logic          dn_s_ready,
    input  logic [31:0]   dn_s_data,
    output logic          dn_m_valid,
    input  logic          dn_m_ready,
    output logic [39:0]   dn_m_data,
    input  logic          dn_w_we,
    input  logic [ 5:0]   dn_w_addr,
    input  logic [ 7:0]   dn_w_data,
    input  logic          dn_b_we,
    input  logic [ 2:0]   dn_b_addr,
    input  logic [31:0]   dn_b_data
);
  hilt_requant #(.SHIFT(-3)) u_rq_m3 (.acc(rq_acc), .q(rq_m3));
  hilt_requant #(.SHIFT(0)) u_rq_0 (.acc(rq_acc), .q(rq_0));
  hilt_requant #(.SHIFT(1)) u_rq_1 (.acc(rq_acc), .q(rq_1));
  hilt_requant #(.SHIFT(5)) u_rq_5 (.acc(rq_acc), .q(rq_5));
  hilt_requant #(.SHIFT(12)) u_rq_12 (.acc(rq_acc), .q(rq_12));
  hilt_requant #(.SHIFT(35)) u_rq_35 (.acc(rq_acc), .q(rq_35));
  hilt_requant #(.SHIFT(5), .RELU(1'b1)) u_rq_5r (.acc(rq_acc), .q(rq_5r));

  hilt_skid #(.W(16)) u_skid (
      .clk(clk), .rst_n(rst_n), .s_valid(sk_s_valid), .s_ready(sk_s_ready), .s_data(sk_s_data),
      .m_valid(sk_m_valid), .m_ready(sk_m_ready), .m_data(sk_m_data));

  hilt_maxpool #(.C(3), .H(7), .W(5), .K(2)) u_pool (
      .clk(clk), .rst_n(rst_n), .s_valid(mp_s_valid), .s_ready(mp_s_ready), .s_data(mp_s_data),
      .m_valid(mp_m_valid), .m_ready(mp_m_ready), .m_data(mp_m_data));

  // 3 x 7 x 6 input, 3 x 3 kernel, stride 2, padding 1 -> 4 x 4 x 3 (HO = 4, WO = 3)
  hilt_mvu #(.C(3), .H(7), .W(6), .KH(3), .KW(3), .SH(2), .SW(2), .PT(1), .PL(1), .HO(4), .WO(3), .O(4),
             .PE(2), .SIMD(3), .SHIFT(6), .IN_LANES(3), .PACK(2)) u_conv (
      .clk(clk), .rst_n(rst_n), .s_valid(cv_s_valid), .s_ready(cv_s_ready), .s_data(cv_s_data),
      .m_valid(cv_m_valid), .m_ready(cv_m_ready), .m_data(cv_m_data), .w_we(cv_w_we), .w_addr(cv_w_addr),
      .w_data(cv_w_data), .b_we(cv_b_we), .b_addr(cv_b_addr), .b_data(cv_b_data));

  // 2 x 7 x 6 input, two pixels per beat, 3 x 2 kernel, stride 1 x 2, padding top 2 / bottom 1 -> 3 x 8 x 3;
  // the line buffer's 6 rows wrap inside each sample
  hilt_mvu #(.C(2), .H(7), .W(6), .KH(3), .KW(2), .SH(1), .SW(2), .PT(2), .PL(0), .HO(8), .WO(3), .O(3),
             .PE(1), .SIMD(2), .SHIFT(4), .IN_LANES(4)) u_conv_wide (
      .clk(clk), .rst_n(rst_n), .s_valid(cw_s_valid), .s_ready(cw_s_ready), .s_data(cw_s_data),
      .m_valid(cw_m_valid), .m_ready(cw_m_ready), .m_data(cw_m_data), .w_we(cw_w_we), .w_addr(cw_w_addr),
      .w_data(cw_w_data), .b_we(cw_b_we), .b_addr(cw_b_addr), .b_data(cw_b_data));

  // dense 12 -> 5, all outputs in parallel, 4 inputs per cycle, shift -1; 4 inputs per beat; DSP48E2 packing
  hilt_mvu #(.C(12), .O(5), .PE(5), .SIMD(4), .SHIFT(-1), .IN_LANES(4), .PACK(2)) u_dense (
      .clk(clk), .rst_n(rst_n), .s_valid(dn_s_valid), .s_ready(dn_s_ready), .s_data(dn_s_data),
      .m_valid(dn_m_valid), .m_ready(dn_m_ready), .m_data(dn_m_data), .w_we(dn_w_we), .w_addr(dn_w_addr),
      .w_data(dn_w_data), .b_we(dn_b_we), .b_addr(dn_b_addr), .b_data(dn_b_data));
endmodule
