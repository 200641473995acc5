// hilt_mvu: a conv or dense layer: line buffer, window generator, PE x SIMD MAC array, requantizer.
//
// Parameters: the input map C x H x W (a dense layer: C = inputs, H = W = 1), kernel KH x KW, stride
// SH x SW, top/left padding PT/PL (bottom/right padding follows from HO x WO), output HO x WO x O;
// folding PE (divides O) and SIMD (divides K = C*KH*KW); widths BITS, WBITS, ACC_BITS; SHIFT, the
// requantizer's shift; IN_LANES, the values per input beat (the producer's pixel, or ppc pixels; it
// divides a row's W*C values).
// Handshake: valid/ready on both sides. In: IN_LANES values per beat in HWC order. Out: one output pixel
// (O values, channel 0 in the low bits) per beat. Cycles per sample: max(H*W*C/IN_LANES,
// HO*WO*(O/PE)*(K/SIMD)), the DSE's figure.
// Line buffer: NR = 2*KH + SH - 1 rows of W*C values, a ring over the input rows of consecutive samples:
// the KH rows of the windows being computed, SH rows the next output row needs, which fill meanwhile,
// and KH - 1 rows of the next sample, so that its first window is complete when this sample's last one
// is done (with KH + SH rows every sample waited for KH - 1 rows of fill: LeNet-5's II 621 for 576).
// A dense layer (KH = SH = 1): two input vectors, double buffering. The writer takes a row only when the
// ring slot it overwrites lies behind the reader's first window row (`ahead` < NR); the reader issues a
// chunk only once the writer has passed the last value it reads (`need`): a conv starts after (KH-1)
// rows and KW pixels. The window generator gathers each lane's value from the ring with a computed
// address (any stride and padding, padded positions read zero; no shift-register window): the k order
// is ONNX's (c, ky, kx), as the weights.
// Weights and biases are memories written at run time (w_we/b_we: MODE_LOAD_WEIGHTS), at the linear
// address o*K + k (o for a bias); they are stored as PE*SIMD lanes of depth (O/PE)*(K/SIMD) and PE bias
// lanes of depth O/PE, all lanes read at one address per cycle (FINN's weight layout), so each lane is a
// plain one-read-port memory.
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
  localparam int T = K / SIMD;  // MAC chunks per output group
  localparam int G = O / PE;  // output groups per pixel
  localparam int KK = KH * KW;
  localparam int RL = W * C;  // values per input row
  localparam int NR = 2 * KH + SH - 1;  // line buffer rows
  // the first input row of output row oy's windows (clamped into the map)
  function automatic integer low_row(input integer oy);
    integer r;
    r = oy * SH - PT;
    low_row = r < 0 ? 0 : (r > H - 1 ? H - 1 : r);
  endfunction
  localparam int END_ADV = H - low_row(HO - 1);  // rows the reader's first row moves at a sample's end

  logic [BITS-1:0] lbuf[NR*RL];

  // ---- weights: lane (p, j) holds w[g*PE+p][t*SIMD+j] at row g*T+t ----
  localparam int WR = G * T > 1 ? $clog2(G * T) : 1;
  localparam int BR = G > 1 ? $clog2(G) : 1;
  int wo, wk, w_pe, w_lane, b_pe;
  logic [WR-1:0] w_row;
  logic [BR-1:0] b_row;
  assign wo = 32'(w_addr) / K;
  assign wk = 32'(w_addr) % K;
  assign w_pe = wo % PE;
  assign w_lane = wk % SIMD;
  assign w_row = WR'(wo / PE * T + wk / SIMD);
  assign b_pe = 32'(b_addr) % PE;
  assign b_row = BR'(32'(b_addr) / PE);
  for (genvar p = 0; p < PE; p++) begin : g_wp
    for (genvar j = 0; j < SIMD; j++) begin : g_wj
      logic [WBITS-1:0] mem[G*T];
      always_ff @(posedge clk) if (w_we && w_pe == p && w_lane == j) mem[w_row] <= w_data;
    end
    logic [ACC_BITS-1:0] bmem[G];
    always_ff @(posedge clk) if (b_we && b_pe == p) bmem[b_row] <= b_data;
  end

  // ---- input side: the writer fills ring row `wslot`, IN_LANES values per beat ----
  int wp;  // value position in the row being written
  int wslot;  // ring slot of that row
  int ahead;  // that row's distance from the reader's first window row (negative: rows no window reads)
  int adv;  // rows the reader's first window row moves this cycle
  assign s_ready = ahead < NR;
  wire row_done = s_valid && s_ready && (wp + IN_LANES == RL);

  always_ff @(posedge clk) begin
    if (s_valid && s_ready)
      for (int l = 0; l < IN_LANES; l++) lbuf[wslot*RL+wp+l] <= s_data[l*BITS+:BITS];
  end

  always_ff @(posedge clk) begin
    if (!rst_n) begin
      wp <= 0;
      wslot <= 0;
      ahead <= 0;
    end else begin
      if (s_valid && s_ready) wp <= row_done ? 0 : wp + IN_LANES;
      if (row_done) wslot <= (wslot == NR - 1) ? 0 : wslot + 1;
      ahead <= ahead + (row_done ? 1 : 0) - adv;
    end
  end

  // ---- issue: one SIMD chunk of one PE group of one output pixel per cycle ----
  logic en;
  int oy, ox, og, t;
  int lslot;  // ring slot of the reader's first window row, low_row(oy)
  assign en = !m_valid || m_ready;
  // A chunk issues once the writer has passed the last value it reads: in HWC order the window's
  // bottom-right pixel at the chunk's last channel.
  logic ready_data;
  always_comb begin
    int iy_last, ix_last, c_last, rel;
    iy_last = oy * SH - PT + KH - 1;
    ix_last = ox * SW - PL + KW - 1;
    iy_last = iy_last > H - 1 ? H - 1 : (iy_last < 0 ? 0 : iy_last);
    ix_last = ix_last > W - 1 ? W - 1 : (ix_last < 0 ? 0 : ix_last);
    c_last = 0;
    for (int tt = 0; tt < T; tt++) if (t == tt) c_last = ((tt + 1) * SIMD - 1) / KK;  // constants, no divider
    rel = iy_last - low_row(oy);
    ready_data = ahead > rel || (ahead == rel && wp > ix_last * C + c_last);
  end
  wire issue = en && ready_data;
  wire group_end = (t == T - 1);
  wire pix_end = group_end && (og == G - 1);
  wire row_end = issue && pix_end && (ox == WO - 1);
  always_comb begin
    adv = 0;
    if (row_end) adv = (oy == HO - 1) ? END_ADV : low_row(oy + 1) - low_row(oy);
  end

  // the next output row's first window row moves by at most SH < NR rows; a sample's end by END_ADV
  int lslot_next;
  always_comb begin
    lslot_next = lslot + (oy == HO - 1 ? END_ADV % NR : adv);
    if (lslot_next >= NR) lslot_next = lslot_next - NR;
  end

  always_ff @(posedge clk) begin
    if (!rst_n) begin
      oy <= 0;
      ox <= 0;
      og <= 0;
      t <= 0;
      lslot <= 0;
    end else if (issue) begin
      t <= group_end ? 0 : t + 1;
      if (group_end) og <= (og == G - 1) ? 0 : og + 1;
      if (pix_end) begin
        ox <= (ox == WO - 1) ? 0 : ox + 1;
        if (ox == WO - 1) oy <= (oy == HO - 1) ? 0 : oy + 1;
      end
      if (row_end) lslot <= lslot_next;
    end
  end

  // window generator: the SIMD input values of chunk t (zero where the window overlaps padding)
  logic [SIMD*BITS-1:0] act;
  logic [PE*SIMD*WBITS-1:0] wgt;
  logic [PE*ACC_BITS-1:0] init;
  // Lane j of chunk t reads kernel position k = t*SIMD + j, (c, ky, kx) = (k / KK, k % KK / KW, k % KW): a
  // choice among T constants per lane rather than a divider.
  always_comb begin
    for (int j = 0; j < SIMD; j++) begin
      int c, ky, kx, iy, ix, slot;
      c = 0;
      ky = 0;
      kx = 0;
      for (int tt = 0; tt < T; tt++)
        if (t == tt) begin
          c = (tt * SIMD + j) / KK;
          ky = (tt * SIMD + j) % KK / KW;
          kx = (tt * SIMD + j) % KW;
        end
      iy = oy * SH + ky - PT;
      ix = ox * SW + kx - PL;
      slot = lslot + iy - low_row(oy);
      slot = slot >= NR ? slot - NR : slot;
      act[j*BITS+:BITS] = (iy >= 0 && iy < H && ix >= 0 && ix < W) ? lbuf[(slot*W+ix)*C+c] : '0;
    end
  end
  for (genvar p = 0; p < PE; p++) begin : g_rd
    for (genvar j = 0; j < SIMD; j++) begin : g_rj
      assign wgt[(p*SIMD+j)*WBITS+:WBITS] = g_wp[p].g_wj[j].mem[og*T+t];
    end
    assign init[p*ACC_BITS+:ACC_BITS] = g_wp[p].bmem[og];
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
