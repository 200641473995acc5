// hilt_mvu: a conv or dense layer: input map buffer, window generator, PE x SIMD MAC array, requantizer.
//
// Parameters: the input map C x H x W (a dense layer: C = inputs, H = W = 1), kernel KH x KW, stride
// SH x SW, top/left padding PT/PL (bottom/right padding follows from HO x WO), output HO x WO x O;
// folding PE (divides O) and SIMD (divides K = C*KH*KW); widths BITS, WBITS, ACC_BITS; SHIFT, the
// requantizer's shift; IN_LANES, the values per input beat (the producer's pixel).
// Handshake: valid/ready on both sides. In: IN_LANES values per beat in HWC order, a sample's map filling
// one of two banks (double buffering: the next sample streams in while this one is computed; computing
// starts on a bank still filling as soon as a chunk's inputs are in, see `need`). Out: one
// output pixel (O values, channel 0 in the low bits) per beat. Cycles per sample: max(H*W*C/IN_LANES,
// HO*WO*(O/PE)*(K/SIMD)), the DSE's figure. The window generator addresses the banked map directly (any
// stride and padding; padded positions read as zero); the k order is ONNX's (c, ky, kx), as the weights.
// Weights and biases are memories written at run time (w_we/b_we: MODE_LOAD_WEIGHTS).
module hilt_mvu #(
    parameter int C        = 1,
    parameter int H        = 1,
    parameter int W        = 1,
    parameter int KH       = 1,
    parameter int KW       = 1,
    parameter int SH       = 1,
    parameter int SW       = 1,
    parameter int PT       = 0,
    parameter int PL       = 0,
    parameter int HO       = 1,
    parameter int WO       = 1,
    parameter int O        = 1,
    parameter int PE       = 1,
    parameter int SIMD     = 1,
    parameter int BITS     = 8,
    parameter int WBITS    = 8,
    parameter int ACC_BITS = 32,
    parameter int SHIFT    = 0,
    parameter int IN_LANES = 1,
    localparam int K       = C * KH * KW,
    localparam int WA      = O * K > 1 ? $clog2(O * K) : 1,
    localparam int BA      = O > 1 ? $clog2(O) : 1
) (
    input  logic                     clk,
    input  logic                     rst_n,
    input  logic                     s_valid,
    output logic                     s_ready,
    input  logic [IN_LANES*BITS-1:0] s_data,
    output logic                     m_valid,
    input  logic                     m_ready,
    output logic [       O*BITS-1:0] m_data,
    input  logic                     w_we,
    input  logic [           WA-1:0] w_addr,
    input  logic [        WBITS-1:0] w_data,
    input  logic                     b_we,
    input  logic [           BA-1:0] b_addr,
    input  logic [     ACC_BITS-1:0] b_data
);
  localparam int N_IN = C * H * W;
  localparam int T = K / SIMD;  // MAC chunks per output group
  localparam int G = O / PE;  // output groups per pixel
  localparam int KK = KH * KW;

  logic [BITS-1:0] fbuf[2][N_IN];
  logic [WBITS-1:0] wmem[O*K];
  logic [ACC_BITS-1:0] bmem[O];

  always_ff @(posedge clk) begin
    if (w_we) wmem[w_addr] <= w_data;
    if (b_we) bmem[b_addr] <= b_data;
  end

  // ---- input side: fill the write bank, IN_LANES values per beat ----
  logic [1:0] full;
  logic wbank, rbank;
  int wp;
  logic release_bank;
  assign s_ready = !full[wbank];
  wire fill_done = s_valid && s_ready && (wp + IN_LANES == N_IN);

  always_ff @(posedge clk) begin
    if (s_valid && s_ready)
      for (int l = 0; l < IN_LANES; l++) fbuf[wbank][wp+l] <= s_data[l*BITS+:BITS];
  end

  always_ff @(posedge clk) begin
    if (!rst_n) begin
      full <= 2'b00;
      wbank <= 1'b0;
      wp <= 0;
    end else begin
      if (s_valid && s_ready) wp <= fill_done ? 0 : wp + IN_LANES;
      if (fill_done) wbank <= !wbank;
      for (int b = 0; b < 2; b++)
        if (fill_done && wbank == b[0]) full[b] <= 1'b1;
        else if (release_bank && rbank == b[0]) full[b] <= 1'b0;
    end
  end

  // ---- issue: one SIMD chunk of one PE group of one output pixel per cycle ----
  logic en;
  int oy, ox, og, t;
  assign en = !m_valid || m_ready;
  // A chunk may issue before its bank is complete, as soon as the writer (filling this very bank) has
  // passed the last value the chunk reads: in HWC order that is the window's bottom-right pixel at the
  // chunk's last channel. So a conv starts after (KH-1) rows and KW pixels, a dense layer after SIMD
  // values, like a line buffer, while double buffering keeps the throughput.
  int need;
  always_comb begin
    int iy_last, ix_last, c_last;
    iy_last = oy * SH - PT + KH - 1;
    ix_last = ox * SW - PL + KW - 1;
    iy_last = iy_last > H - 1 ? H - 1 : (iy_last < 0 ? 0 : iy_last);
    ix_last = ix_last > W - 1 ? W - 1 : (ix_last < 0 ? 0 : ix_last);
    c_last = ((t + 1) * SIMD - 1) / KK;
    need = (iy_last * W + ix_last) * C + c_last;
  end
  wire ready_data = full[rbank] || (wbank == rbank && wp > need);
  wire issue = en && ready_data;
  wire group_end = (t == T - 1);
  wire pix_end = group_end && (og == G - 1);
  assign release_bank = issue && pix_end && (ox == WO - 1) && (oy == HO - 1);

  always_ff @(posedge clk) begin
    if (!rst_n) begin
      rbank <= 1'b0;
      oy <= 0;
      ox <= 0;
      og <= 0;
      t <= 0;
    end else if (issue) begin
      t <= group_end ? 0 : t + 1;
      if (group_end) og <= (og == G - 1) ? 0 : og + 1;
      if (pix_end) begin
        ox <= (ox == WO - 1) ? 0 : ox + 1;
        if (ox == WO - 1) oy <= (oy == HO - 1) ? 0 : oy + 1;
      end
      if (release_bank) rbank <= !rbank;
    end
  end

  // window generator: the SIMD input values of chunk t (zero where the window overlaps padding)
  logic [SIMD*BITS-1:0] act;
  logic [PE*SIMD*WBITS-1:0] wgt;
  logic [PE*ACC_BITS-1:0] init;
  always_comb begin
    for (int j = 0; j < SIMD; j++) begin
      int k, c, ky, kx, iy, ix;
      k = t * SIMD + j;
      c = k / KK;
      ky = (k % KK) / KW;
      kx = k % KW;
      iy = oy * SH + ky - PT;
      ix = ox * SW + kx - PL;
      act[j*BITS+:BITS] = (iy >= 0 && iy < H && ix >= 0 && ix < W) ? fbuf[rbank][(iy*W+ix)*C+c] : '0;
      for (int p = 0; p < PE; p++) wgt[(p*SIMD+j)*WBITS+:WBITS] = wmem[(og*PE+p)*K+k];
    end
    for (int p = 0; p < PE; p++) init[p*ACC_BITS+:ACC_BITS] = bmem[og*PE+p];
  end

  logic [PE*ACC_BITS-1:0] acc;
  hilt_mac #(
      .PE(PE),
      .SIMD(SIMD),
      .BITS(BITS),
      .WBITS(WBITS),
      .ACC_BITS(ACC_BITS)
  ) u_mac (
      .clk(clk),
      .en(en),
      .in_valid(ready_data),
      .first(t == 0),
      .act(act),
      .wgt(wgt),
      .init(init),
      .acc(acc)
  );

  // ---- requantize each finished group; a pixel leaves when its last group is done ----
  logic v1, last1;
  int g1;
  logic [PE*BITS-1:0] rq;
  logic [O*BITS-1:0] pix, pix_next;
  hilt_requant #(
      .ACC_BITS(ACC_BITS),
      .BITS(BITS),
      .SHIFT(SHIFT),
      .LANES(PE)
  ) u_rq (
      .acc(acc),
      .q  (rq)
  );

  always_comb begin
    pix_next = pix;
    pix_next[g1*PE*BITS+:PE*BITS] = rq;
  end

  always_ff @(posedge clk) begin
    if (!rst_n) begin
      v1 <= 1'b0;
      last1 <= 1'b0;
      g1 <= 0;
      m_valid <= 1'b0;
    end else if (en) begin
      v1 <= issue && group_end;
      last1 <= pix_end;
      g1 <= og;
      if (v1) pix <= pix_next;
      m_valid <= v1 && last1;
      if (v1 && last1) m_data <= pix_next;
    end
  end
endmodule
