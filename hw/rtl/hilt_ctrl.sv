// hilt_ctrl: AXI4-Lite control slave with the Vitis HLS ap_ctrl_hs register map (PYNQ's DefaultIP).
//
// Parameters: AW (address bits; the map spans 0x40).
// Map (sw/hilt/accel/interface.py): 0x00 control: bit 0 ap_start (set by writing 1, cleared by ap_ready
// unless bit 7 auto_restart), bit 1 ap_done (clear on read), bit 2 ap_idle, bit 3 ap_ready (clear on
// read), bit 7 auto_restart; 0x04 GIE; 0x08 IER (bit 0 done, bit 1 ready); 0x0C ISR (same bits, set by
// the events IER enables, each bit toggled by writing 1); 0x10 mode; 0x18 samples; 0x20 status (read
// only); 0x24 bit 0 status_ap_vld (clear on read). interrupt = GIE && (ISR != 0).
// Handshake: AXI4-Lite; address and data of a write may arrive in either order; OKAY responses only.
// Core side: ap_start level; ap_done/ap_ready one-cycle pulses; ap_idle level; status with status_vld.
module hilt_ctrl #(
    parameter int AW = 6
) (
    input  logic          clk,
    input  logic          rst_n,
    input  logic [AW-1:0] awaddr,
    input  logic          awvalid,
    output logic          awready,
    input  logic [  31:0] wdata,
    input  logic [   3:0] wstrb,
    input  logic          wvalid,
    output logic          wready,
    output logic [   1:0] bresp,
    output logic          bvalid,
    input  logic          bready,
    input  logic [AW-1:0] araddr,
    input  logic          arvalid,
    output logic          arready,
    output logic [  31:0] rdata,
    output logic [   1:0] rresp,
    output logic          rvalid,
    input  logic          rready,
    output logic          interrupt,
    output logic          ap_start,
    input  logic          ap_done,
    input  logic          ap_idle,
    input  logic          ap_ready,
    output logic [  31:0] mode,
    output logic [  31:0] samples,
    input  logic [  31:0] status,
    input  logic          status_vld
);
  localparam logic [AW-1:0] A_CTRL = 'h00, A_GIE = 'h04, A_IER = 'h08, A_ISR = 'h0C;
  localparam logic [AW-1:0] A_MODE = 'h10, A_SAMPLES = 'h18, A_STATUS = 'h20, A_STATUS_CTRL = 'h24;

  logic done_r, ready_r, auto_restart, gie, status_vld_r;
  logic [1:0] ier, isr;
  logic [31:0] status_r;
  logic [AW-1:0] aw_q;
  logic aw_held, w_held;
  logic [31:0] w_q;
  logic [3:0] ws_q;

  assign awready = !aw_held;
  assign wready = !w_held;
  assign bresp = 2'b00;
  assign rresp = 2'b00;
  assign arready = !rvalid;
  assign interrupt = gie && (isr != 2'b00);

  wire do_write = aw_held && w_held && !bvalid;
  wire do_read = arvalid && arready;

  function automatic logic [31:0] merge(input logic [31:0] old, input logic [31:0] data, input logic [3:0] strb);
    merge = old;  // assigned to the function name, not returned: Yosys 0.23 reads no `return`
    for (int b = 0; b < 4; b++) if (strb[b]) merge[b*8+:8] = data[b*8+:8];
  endfunction

  always_ff @(posedge clk) begin
    if (!rst_n) begin
      aw_held <= 1'b0;
      w_held <= 1'b0;
      bvalid <= 1'b0;
      rvalid <= 1'b0;
      ap_start <= 1'b0;
      done_r <= 1'b0;
      ready_r <= 1'b0;
      auto_restart <= 1'b0;
      gie <= 1'b0;
      ier <= 2'b00;
      isr <= 2'b00;
      mode <= '0;
      samples <= '0;
      status_r <= '0;
      status_vld_r <= 1'b0;
    end else begin
      if (awvalid && awready) begin
        aw_q <= awaddr;
        aw_held <= 1'b1;
      end
      if (wvalid && wready) begin
        w_q <= wdata;
        ws_q <= wstrb;
        w_held <= 1'b1;
      end
      if (bvalid && bready) bvalid <= 1'b0;
      if (rvalid && rready) rvalid <= 1'b0;

      // core events first; a register access in the same cycle wins where they meet
      if (ap_ready && !auto_restart) ap_start <= 1'b0;
      if (ap_done) done_r <= 1'b1;
      if (ap_ready) ready_r <= 1'b1;
      if (ap_done && ier[0]) isr[0] <= 1'b1;
      if (ap_ready && ier[1]) isr[1] <= 1'b1;
      if (status_vld) begin
        status_r <= status;
        status_vld_r <= 1'b1;
      end

      if (do_write) begin
        aw_held <= 1'b0;
        w_held <= 1'b0;
        bvalid <= 1'b1;
        case (aw_q)
          A_CTRL: begin
            if (ws_q[0] && w_q[0]) ap_start <= 1'b1;
            if (ws_q[0]) auto_restart <= w_q[7];
          end
          A_GIE: if (ws_q[0]) gie <= w_q[0];
          A_IER: if (ws_q[0]) ier <= w_q[1:0];
          A_ISR: if (ws_q[0]) isr <= isr ^ w_q[1:0];
          A_MODE: mode <= merge(mode, w_q, ws_q);
          A_SAMPLES: samples <= merge(samples, w_q, ws_q);
          default: ;
        endcase
      end

      if (do_read) begin
        rvalid <= 1'b1;
        case (araddr)
          A_CTRL: begin
            rdata <= {24'b0, auto_restart, 3'b0, ready_r, ap_idle, done_r, ap_start};
            done_r <= ap_done;  // clear on read (an event in this very cycle survives)
            ready_r <= ap_ready;
          end
          A_GIE: rdata <= {31'b0, gie};
          A_IER: rdata <= {30'b0, ier};
          A_ISR: rdata <= {30'b0, isr};
          A_MODE: rdata <= mode;
          A_SAMPLES: rdata <= samples;
          A_STATUS: rdata <= status_r;
          A_STATUS_CTRL: begin
            rdata <= {31'b0, status_vld_r};
            status_vld_r <= status_vld;
          end
          default: rdata <= '0;
        endcase
      end
    end
  end
endmodule
