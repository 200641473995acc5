// hilt_mvu: a conv or dense layer: line buffer, window generator, PE x SIMD MAC array, requantizer.
//
// Parameters: the input map C x H x W (a dense layer: C = inputs, H = W = 1), kernel KH x KW, stride
// SH x SW, top/left padding PT/PL (bottom/right padding follows from HO x WO), output HO x WO x O;
// folding PE (divides O) and SIMD (divides K = C*KH*KW); widths BITS, WBITS, ACC_BITS; SHIFT, the
// requantizer's shift; IN_LANES, the values per input beat (the producer's pixel, or ppc pixels: a
// multiple or a divisor of C, and a divisor of a row's W*C values); PACK, the multiplies a DSP slice
// does (hilt_mac).
// Handshake: valid/ready on both sides. In: IN_LANES values per beat in HWC order. Out: one output pixel
// (O values, channel 0 in the low bits) per beat. Cycles per sample: max(H*W*C/IN_LANES,
// HO*WO*(O/PE)*(K/SIMD)), the DSE's figure; two cycles from a chunk's issue to its accumulator.
// Line buffer: NR = 2*KH + SH - 1 rows of W*C values, a ring over the input rows of consecutive samples:
// the KH rows of the windows being computed, SH rows the next output row needs, which fill meanwhile,
// and KH - 1 rows of the next sample, so that its first window is complete when this sample's last one
// is done (with KH + SH rows every sample waited for KH - 1 rows of fill: LeNet-5's II 621 for 576).
// A dense layer (KH = SH = 1): two input vectors, double buffering. The writer takes a row only when the
// ring slot it overwrites lies behind the reader's first window row (`ahead` < NR); the reader issues a
// chunk only once the writer has passed the last value it reads: a conv starts after (KH-1) rows and KW
// pixels. The k order is ONNX's (c, ky, kx), as the weights, so one chunk's SIMD values lie in several
// pixels: each SIMD lane has its own copy of the ring, a memory of one input beat per word with one write
// port (the beat) and one registered read port (the lane's word, then its value within the word), which
// maps to LUTRAM or BRAM; padded positions read zero.
// Weights and biases are memories written at run time (w_we/b_we: MODE_LOAD_WEIGHTS), at the linear
// address o*K + k (o for a bias), in address order from 0 as that mode streams them: the row and lane of
// each are counted rather than divided out of the address. They are stored as PE memories of SIMD-wide
// words, depth (O/PE)*(K/SIMD), and PE bias memories of depth O/PE (FINN's weight layout), each read at
// one address a cycle through an output register.
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
    parameter int PACK     = 1,
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
  localparam int WPR = RL / IN_LANES;  // beats (line-buffer words) per row
  localparam bit BY_CH = C % IN_LANES == 0;  // a beat holds channels of one pixel (else pixels of C values)
  localparam int PPX = BY_CH ? 1 : IN_LANES / C;  // pixels per beat
  // index widths: every counter as narrow as its range [0, n), so the arithmetic on it is too
  function automatic int idx(input int n);
    idx = n > 1 ? $clog2(n) : 1;
  endfunction
  localparam int YW = idx(HO);
  localparam int XW = idx(WO);
  localparam int GW = idx(G);
  localparam int TW = idx(T);
  localparam int JW = idx(SIMD);
  localparam int PW = idx(PE);
  localparam int SW_ = idx(NR);
  localparam int CW = idx(WPR);
  localparam int LW = idx(NR * WPR);
  localparam int VW = idx(IN_LANES);
  localparam int RW = idx(G * T);
  localparam int AW = $clog2(NR + H + 1) + 1;  // `ahead`, signed
  // the first input row of output row oy's windows (clamped into the map)
  function automatic integer low_row(input integer oy);
    integer r;
    r = oy * SH - PT;
    low_row = r < 0 ? 0 : (r > H - 1 ? H - 1 : r);
  endfunction
  localparam int END_ADV = H - low_row(HO - 1);  // rows the reader's first row moves at a sample's end

  // ---- weights: PE row p holds w[g*PE+p][t*SIMD + j] at word g*T+t, lane j ----
  logic [JW-1:0] ld_j;
  logic [TW-1:0] ld_t;
  logic [PW-1:0] ld_p, bd_p;
  logic [GW-1:0] ld_g, bd_g;
  logic [JW-1:0] cur_j;
  logic [TW-1:0] cur_t;
  logic [PW-1:0] cur_p, bcur_p;
  logic [GW-1:0] cur_g, bcur_g;
  logic [RW-1:0] cur_row;
  always_comb begin  // the position being written: address 0 starts a load
    {cur_j, cur_t, cur_p, cur_g} = w_addr == '0 ? '0 : {ld_j, ld_t, ld_p, ld_g};
    {bcur_p, bcur_g} = b_addr == '0 ? '0 : {bd_p, bd_g};
    cur_row = RW'(cur_g * T + cur_t);
  end
  always_ff @(posedge clk) begin
    if (w_we) begin
      {ld_j, ld_t, ld_p, ld_g} <= {cur_j + 1'b1, cur_t, cur_p, cur_g};
      if (cur_j == JW'(SIMD - 1)) begin
        ld_j <= '0;
        ld_t <= cur_t + 1'b1;
        if (cur_t == TW'(T - 1)) begin
          ld_t <= '0;
          ld_p <= cur_p + 1'b1;
          if (cur_p == PW'(PE - 1)) begin
            ld_p <= '0;
            ld_g <= cur_g + 1'b1;
          end
        end
      end
    end
    if (b_we) begin
      {bd_p, bd_g} <= {bcur_p + 1'b1, bcur_g};
      if (bcur_p == PW'(PE - 1)) begin
        bd_p <= '0;
        bd_g <= bcur_g + 1'b1;
      end
    end
  end

  // ---- input side: the writer fills ring row `wslot`, one beat (word) at a time ----
  logic [CW-1:0] ww;  // word position in the row being written
  logic [SW_-1:0] wslot;  // ring slot of that row
  logic signed [AW-1:0] ahead;  // that row's distance from the reader's first window row (negative: rows no window reads)
  logic [AW-1:0] adv;  // rows the reader's first window row moves this cycle
  logic [LW-1:0] waddr;
  assign s_ready = ahead < AW'(NR);
  assign waddr = LW'(wslot * WPR + ww);
  wire row_done = s_valid && s_ready && (ww == CW'(WPR - 1));

  always_ff @(posedge clk) begin
    if (!rst_n) begin
      ww <= '0;
      wslot <= '0;
      ahead <= '0;
    end else begin
      if (s_valid && s_ready) ww <= row_done ? '0 : ww + 1'b1;
      if (row_done) wslot <= (wslot == SW_'(NR - 1)) ? '0 : wslot + 1'b1;
      ahead <= ahead + (row_done ? AW'(1) : AW'(0)) - $signed(adv);
    end
  end

  // ---- issue: one SIMD chunk of one PE group of one output pixel per cycle ----
  logic en;
  logic [YW-1:0] oy;
  logic [XW-1:0] ox;
  logic [GW-1:0] og;
  logic [TW-1:0] t;
  logic [RW-1:0] rrow;  // og * T + t, the weight word
  logic [SW_-1:0] lslot;  // ring slot of the reader's first window row, low_row(oy)
  assign en = !m_valid || m_ready;
  // the counters as 32-bit signed values for the window arithmetic (Yosys narrows it again)
  logic signed [31:0] oy_i, ox_i, ww_i, lslot_i, ahead_i, adv_i;
  assign oy_i = 32'(oy);
  assign ox_i = 32'(ox);
  assign ww_i = 32'(ww);
  assign lslot_i = 32'(lslot);
  assign ahead_i = {{(32 - AW) {ahead[AW-1]}}, ahead};
  assign adv_i = 32'(adv);
  // A chunk issues once the writer has passed the last value it reads: in HWC order the window's
  // bottom-right pixel at the chunk's last channel.
  logic ready_data;
  always_comb begin
    int iy_last, ix_last, c_last, rel;
    iy_last = oy_i * SH - PT + KH - 1;
    ix_last = ox_i * SW - PL + KW - 1;
    iy_last = iy_last > H - 1 ? H - 1 : (iy_last < 0 ? 0 : iy_last);
    ix_last = ix_last > W - 1 ? W - 1 : (ix_last < 0 ? 0 : ix_last);
    c_last = 0;
    for (int tt = 0; tt < T; tt++) if (t == TW'(tt)) c_last = ((tt + 1) * SIMD - 1) / KK;  // constants, no divider
    rel = iy_last - low_row(oy_i);
    ready_data = ahead_i > rel || (ahead_i == rel && ww_i * IN_LANES > ix_last * C + c_last);
  end
  wire issue = en && ready_data;
  wire group_end = (t == TW'(T - 1));
  wire pix_end = group_end && (og == GW'(G - 1));
  wire row_end = issue && pix_end && (ox == XW'(WO - 1));
  always_comb begin
    adv = '0;
    if (row_end) adv = AW'(oy == YW'(HO - 1) ? END_ADV : low_row(oy_i + 1) - low_row(oy_i));
  end

  // the next output row's first window row moves by at most SH < NR rows; a sample's end by END_ADV
  logic [SW_-1:0] lslot_next;
  always_comb begin
    int s;
    s = lslot_i + (oy == YW'(HO - 1) ? END_ADV % NR : adv_i);
    lslot_next = SW_'(s >= NR ? s - NR : s);
  end

  always_ff @(posedge clk) begin
    if (!rst_n) begin
      oy <= '0;
      ox <= '0;
      og <= '0;
      t <= '0;
      rrow <= '0;
      lslot <= '0;
    end else if (issue) begin
      t <= group_end ? '0 : t + 1'b1;
      rrow <= pix_end ? '0 : rrow + 1'b1;
      if (group_end) og <= pix_end ? '0 : og + 1'b1;
      if (pix_end) begin
        ox <= (ox == XW'(WO - 1)) ? '0 : ox + 1'b1;
        if (ox == XW'(WO - 1)) oy <= (oy == YW'(HO - 1)) ? '0 : oy + 1'b1;
      end
      if (row_end) lslot <= lslot_next;
    end
  end

  // window generator: where lane j finds its value of chunk t. Lane j reads kernel position
  // k = t*SIMD + j, (c, ky, kx) = (k / KK, k % KK / KW, k % KW): a choice among T constants per lane
  // rather than a divider; outside the map (padding) it reads zero.
  logic [LW-1:0] raddr[SIMD];
  logic [VW-1:0] rsub[SIMD];
  logic rin[SIMD];
  always_comb begin
    for (int j = 0; j < SIMD; j++) begin
      int c, ky, kx, cw, iy, ix, slot;
      logic [VW-1:0] cs;
      c = 0;
      ky = 0;
      kx = 0;
      cw = 0;
      cs = 0;
      for (int tt = 0; tt < T; tt++)
        if (t == TW'(tt)) begin
          c = (tt * SIMD + j) / KK;
          ky = (tt * SIMD + j) % KK / KW;
          kx = (tt * SIMD + j) % KW;
          cw = (tt * SIMD + j) / KK / IN_LANES;
          cs = VW'((tt * SIMD + j) / KK % IN_LANES);
        end
      iy = oy_i * SH + ky - PT;
      ix = ox_i * SW + kx - PL;
      slot = lslot_i + iy - low_row(oy_i);
      slot = slot >= NR ? slot - NR : slot;
      rin[j] = iy >= 0 && iy < H && ix >= 0 && ix < W;
      raddr[j] = '0;
      rsub[j] = '0;
      if (rin[j]) begin
        if (BY_CH) begin
          raddr[j] = LW'(slot * WPR + ix * (C / IN_LANES) + cw);
          rsub[j] = cs;
        end else begin
          raddr[j] = LW'(slot * WPR + ix / PPX);
          rsub[j] = VW'(ix % PPX * C + c);
        end
      end
    end
  end

  // ---- stage A: the chunk's memories read (line buffer, weights, biases) and its control ----
  logic [SIMD*BITS-1:0] act;
  logic [PE*SIMD*WBITS-1:0] wgt;
  logic [PE*ACC_BITS-1:0] init;
  for (genvar j = 0; j < SIMD; j++) begin : g_lb
    logic [IN_LANES*BITS-1:0] ring[NR*WPR];
    logic [IN_LANES*BITS-1:0] word;
    logic [VW-1:0] sub;
    logic in_map;
    always_ff @(posedge clk) if (s_valid && s_ready) ring[waddr] <= s_data;
    always_ff @(posedge clk) begin
      if (en) begin
        word <= ring[raddr[j]];
        sub <= rsub[j];
        in_map <= rin[j];
      end
    end
    assign act[j*BITS+:BITS] = in_map ? word[sub*BITS+:BITS] : '0;
  end
  for (genvar p = 0; p < PE; p++) begin : g_wp
    logic [SIMD*WBITS-1:0] mem[G*T];
    logic [ACC_BITS-1:0] bmem[G];
    always_ff @(posedge clk) begin
      if (w_we && cur_p == PW'(p))
        for (int j = 0; j < SIMD; j++) if (cur_j == JW'(j)) mem[cur_row][j*WBITS+:WBITS] <= w_data;
      if (b_we && bcur_p == PW'(p)) bmem[bcur_g] <= b_data;
    end
    always_ff @(posedge clk) begin
      if (en) begin
        wgt[p*SIMD*WBITS+:SIMD*WBITS] <= mem[rrow];
        init[p*ACC_BITS+:ACC_BITS] <= bmem[og];
      end
    end
  end
  logic va, first_a, end_a, last_a;
  logic [GW-1:0] g_a;
  always_ff @(posedge clk) begin
    if (!rst_n) va <= 1'b0;
    else if (en) begin
      va <= issue;
      first_a <= t == '0;
      end_a <= group_end;
      last_a <= pix_end;
      g_a <= og;
    end
  end

  // ---- stage B: multiply-accumulate ----
  logic [PE*ACC_BITS-1:0] acc;
  hilt_mac #(
      .PE(PE),
      .SIMD(SIMD),
      .BITS(BITS),
      .WBITS(WBITS),
      .ACC_BITS(ACC_BITS),
      .PACK(PACK)
  ) u_mac (
      .clk(clk),
      .en(en),
      .in_valid(va),
      .first(first_a),
      .act(act),
      .wgt(wgt),
      .init(init),
      .acc(acc)
  );

  // ---- requantize each finished group; a pixel leaves when its last group is done ----
  logic v1, last1;
  logic [GW-1:0] g1;
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
      g1 <= '0;
      m_valid <= 1'b0;
    end else if (en) begin
      v1 <= va && end_a;
      last1 <= last_a;
      g1 <= g_a;
      if (v1) pix <= pix_next;
      m_valid <= v1 && last1;
      if (v1 && last1) m_data <= pix_next;
    end
  end
endmodule
