/*
 * axil_regs: AXI-Lite register file of the accelerator.
 *
 * Offsets, bit positions and the ID/VERSION values come from the generated accel_spec.vh.
 * Identity (read-only): ID, VERSION, SPEC_HASH, ROWS, LANES, KMAX, NMAX, IFIFO_DEPTH.
 * CTRL: SOFT_RESET, CLEAR_COUNTERS, SNAPSHOT are self-clearing pulses (read as 0), IRQ_EN
 * is a plain bit. STATUS, ERROR, INSTR_COUNT reflect the datapath. The 64-bit counters
 * count the event inputs (registered by the caller); reads return the snapshot taken by
 * CTRL.SNAPSHOT (LO at the offset, HI at +4). CLEAR_COUNTERS zeroes counters and
 * snapshots; with SNAPSHOT in the same write the snapshot takes the values before the clear.
 * Unmapped addresses read 0; writes to read-only registers are ignored (OKAY response).
 * One transaction per channel in flight; ready/valid registered (after verilog-axis
 * axil_reg_if).
 */

`resetall
`timescale 1ns / 1ps
`default_nettype none

module axil_regs #
(
    // Stream width of the accelerator (LANES = DATA_WIDTH/8)
    parameter DATA_WIDTH = 64,
    // MAC rows
    parameter ROWS = 16,
    // A bank depth per row (int8)
    parameter KMAX = 4096,
    // accumulator columns per bank
    parameter NMAX = 512,
    // instruction FIFO entries
    parameter IFIFO_DEPTH = 256,
    // AXI-Lite address width
    parameter AXIL_ADDR_WIDTH = 12,
    // low 32 bits of the spec hash
    parameter [31:0] SPEC_HASH = 32'h0,
    // width of the MACS counter increment
    parameter MACS_INC_WIDTH = 16,
    // width of the byte counter increments
    parameter BYTES_INC_WIDTH = 8
)
(
    input  wire                       clk,
    input  wire                       rst,

    /*
     * AXI-Lite slave
     */
    input  wire [AXIL_ADDR_WIDTH-1:0] s_axil_awaddr,
    /* verilator lint_off UNUSEDSIGNAL */
    // protection is ignored; only the low byte lane carries writable bits (CTRL)
    input  wire [2:0]                 s_axil_awprot,
    input  wire                       s_axil_awvalid,
    output wire                       s_axil_awready,
    input  wire [31:0]                s_axil_wdata,
    input  wire [3:0]                 s_axil_wstrb,
    /* verilator lint_on UNUSEDSIGNAL */
    input  wire                       s_axil_wvalid,
    output wire                       s_axil_wready,
    output wire [1:0]                 s_axil_bresp,
    output wire                       s_axil_bvalid,
    input  wire                       s_axil_bready,
    input  wire [AXIL_ADDR_WIDTH-1:0] s_axil_araddr,
    /* verilator lint_off UNUSEDSIGNAL */
    // protection is ignored
    input  wire [2:0]                 s_axil_arprot,
    /* verilator lint_on UNUSEDSIGNAL */
    input  wire                       s_axil_arvalid,
    output wire                       s_axil_arready,
    output wire [31:0]                s_axil_rdata,
    output wire [1:0]                 s_axil_rresp,
    output wire                       s_axil_rvalid,
    input  wire                       s_axil_rready,

    /*
     * Status of the datapath
     */
    input  wire                       st_idle,
    input  wire                       st_error,
    input  wire                       st_drain_busy,
    input  wire                       st_ififo_empty,
    input  wire [7:0]                 st_error_code,
    input  wire [31:0]                st_instr_count,

    /*
     * Counter events (this cycle)
     */
    input  wire                       ev_busy,
    input  wire [MACS_INC_WIDTH-1:0]  ev_macs,
    input  wire                       ev_in_stall,
    input  wire                       ev_out_stall,
    input  wire [BYTES_INC_WIDTH-1:0] ev_bytes_in,
    input  wire [BYTES_INC_WIDTH-1:0] ev_bytes_out,

    /*
     * Control
     */
    output wire                       soft_rst,   // one-cycle pulse
    output wire                       irq
);

// The generated header (no include guard) declares module-scoped localparams; not all are used here.
/* verilator lint_off UNUSEDPARAM */
`include "accel_spec.vh"
/* verilator lint_on UNUSEDPARAM */

localparam NCNT = 7;
localparam CNT_CYCLES = 0, CNT_BUSY = 1, CNT_MACS = 2, CNT_IN_STALL = 3, CNT_OUT_STALL = 4,
           CNT_BYTES_IN = 5, CNT_BYTES_OUT = 6;

// check configuration
initial begin
    if (AXIL_ADDR_WIDTH < 8 || AXIL_ADDR_WIDTH > 32) begin
        $error("Error: AXIL_ADDR_WIDTH must be 8..32 (instance %m)");
        $finish;
    end
    if (ACCEL_CNT_BYTES_OUT + 4 >= 2**AXIL_ADDR_WIDTH || ACCEL_REG_INSTR_COUNT >= 2**AXIL_ADDR_WIDTH) begin
        $error("Error: the register map does not fit in AXIL_ADDR_WIDTH (instance %m)");
        $finish;
    end
    if (MACS_INC_WIDTH < 1 || MACS_INC_WIDTH > 32 || BYTES_INC_WIDTH < 1 || BYTES_INC_WIDTH > 32) begin
        $error("Error: increment widths must be 1..32 (instance %m)");
        $finish;
    end
end

/*
 * Write channel
 */
reg s_axil_awready_reg, s_axil_awready_next;
reg s_axil_wready_reg, s_axil_wready_next;
reg s_axil_bvalid_reg, s_axil_bvalid_next;

reg irq_en_reg, irq_en_next;
reg soft_rst_reg, soft_rst_next;
reg clear_reg, clear_next;
reg snapshot_reg, snapshot_next;

wire [31:0] waddr = {{32-AXIL_ADDR_WIDTH{1'b0}}, s_axil_awaddr} & 32'hfffffffc;
wire [31:0] raddr = {{32-AXIL_ADDR_WIDTH{1'b0}}, s_axil_araddr} & 32'hfffffffc;

assign s_axil_awready = s_axil_awready_reg;
assign s_axil_wready = s_axil_wready_reg;
assign s_axil_bresp = 2'b00;
assign s_axil_bvalid = s_axil_bvalid_reg;

always @* begin
    s_axil_awready_next = 1'b0;
    s_axil_wready_next = 1'b0;
    s_axil_bvalid_next = s_axil_bvalid_reg && !s_axil_bready;

    irq_en_next = irq_en_reg;
    soft_rst_next = 1'b0;
    clear_next = 1'b0;
    snapshot_next = 1'b0;

    if (s_axil_awvalid && s_axil_wvalid && (!s_axil_bvalid_reg || s_axil_bready)
            && !s_axil_awready_reg && !s_axil_wready_reg) begin
        s_axil_awready_next = 1'b1;
        s_axil_wready_next = 1'b1;
        s_axil_bvalid_next = 1'b1;

        if (waddr == ACCEL_REG_CTRL && s_axil_wstrb[0]) begin
            soft_rst_next = s_axil_wdata[ACCEL_CTRL_SOFT_RESET_BIT];
            clear_next = s_axil_wdata[ACCEL_CTRL_CLEAR_COUNTERS_BIT];
            snapshot_next = s_axil_wdata[ACCEL_CTRL_SNAPSHOT_BIT];
            irq_en_next = s_axil_wdata[ACCEL_CTRL_IRQ_EN_BIT];
        end
    end
end

always @(posedge clk) begin
    s_axil_awready_reg <= s_axil_awready_next;
    s_axil_wready_reg <= s_axil_wready_next;
    s_axil_bvalid_reg <= s_axil_bvalid_next;
    irq_en_reg <= irq_en_next;
    soft_rst_reg <= soft_rst_next;
    clear_reg <= clear_next;
    snapshot_reg <= snapshot_next;

    if (rst) begin
        s_axil_awready_reg <= 1'b0;
        s_axil_wready_reg <= 1'b0;
        s_axil_bvalid_reg <= 1'b0;
        irq_en_reg <= 1'b0;
        soft_rst_reg <= 1'b0;
        clear_reg <= 1'b0;
        snapshot_reg <= 1'b0;
    end
end

assign soft_rst = soft_rst_reg;

reg irq_reg;
always @(posedge clk) begin
    irq_reg <= st_error && irq_en_reg;
    if (rst) begin
        irq_reg <= 1'b0;
    end
end
assign irq = irq_reg;

/*
 * Counters and snapshots (flat vectors: plain registers, no memory inference)
 */
reg  [NCNT*64-1:0] cnt_reg;
reg  [NCNT*64-1:0] snap_reg;
wire [NCNT*64-1:0] cnt_inc = {
    {{64-BYTES_INC_WIDTH{1'b0}}, ev_bytes_out},   // CNT_BYTES_OUT = 6
    {{64-BYTES_INC_WIDTH{1'b0}}, ev_bytes_in},    // CNT_BYTES_IN = 5
    {63'd0, ev_out_stall},                        // CNT_OUT_STALL = 4
    {63'd0, ev_in_stall},                         // CNT_IN_STALL = 3
    {{64-MACS_INC_WIDTH{1'b0}}, ev_macs},         // CNT_MACS = 2
    {63'd0, ev_busy},                             // CNT_BUSY = 1
    64'd1                                         // CNT_CYCLES = 0
};

integer n;
always @(posedge clk) begin
    for (n = 0; n < NCNT; n = n + 1) begin
        if (clear_reg) begin
            cnt_reg[n*64 +: 64] <= 64'd0;
        end else begin
            cnt_reg[n*64 +: 64] <= cnt_reg[n*64 +: 64] + cnt_inc[n*64 +: 64];
        end
        if (snapshot_reg) begin
            snap_reg[n*64 +: 64] <= cnt_reg[n*64 +: 64];
        end else if (clear_reg) begin
            snap_reg[n*64 +: 64] <= 64'd0;
        end
    end

    if (rst) begin
        cnt_reg <= {NCNT*64{1'b0}};
        snap_reg <= {NCNT*64{1'b0}};
    end
end

/*
 * Read channel
 */
reg s_axil_arready_reg, s_axil_arready_next;
reg [31:0] s_axil_rdata_reg, s_axil_rdata_next;
reg s_axil_rvalid_reg, s_axil_rvalid_next;

assign s_axil_arready = s_axil_arready_reg;
assign s_axil_rdata = s_axil_rdata_reg;
assign s_axil_rresp = 2'b00;
assign s_axil_rvalid = s_axil_rvalid_reg;

reg [31:0] rd_value;
reg [31:0] status;

always @* begin
    status = 32'd0;
    status[ACCEL_STATUS_IDLE_BIT] = st_idle;
    status[ACCEL_STATUS_ERROR_BIT] = st_error;
    status[ACCEL_STATUS_DRAIN_BUSY_BIT] = st_drain_busy;
    status[ACCEL_STATUS_IFIFO_EMPTY_BIT] = st_ififo_empty;

    case (raddr)
        ACCEL_REG_ID:            rd_value = ACCEL_ID_MAGIC;
        ACCEL_REG_VERSION:       rd_value = ACCEL_VERSION;
        ACCEL_REG_SPEC_HASH:     rd_value = SPEC_HASH;
        ACCEL_REG_ROWS:          rd_value = ROWS;
        ACCEL_REG_LANES:         rd_value = DATA_WIDTH / 8;
        ACCEL_REG_KMAX:          rd_value = KMAX;
        ACCEL_REG_NMAX:          rd_value = NMAX;
        ACCEL_REG_IFIFO_DEPTH:   rd_value = IFIFO_DEPTH;
        ACCEL_REG_CTRL:          rd_value = {28'd0, 4'd0} | ({31'd0, irq_en_reg} << ACCEL_CTRL_IRQ_EN_BIT);
        ACCEL_REG_STATUS:        rd_value = status;
        ACCEL_REG_ERROR:         rd_value = {24'd0, st_error_code};
        ACCEL_REG_INSTR_COUNT:   rd_value = st_instr_count;
        ACCEL_CNT_CYCLES:        rd_value = snap_reg[CNT_CYCLES*64 +: 32];
        ACCEL_CNT_CYCLES+4:      rd_value = snap_reg[CNT_CYCLES*64+32 +: 32];
        ACCEL_CNT_BUSY:          rd_value = snap_reg[CNT_BUSY*64 +: 32];
        ACCEL_CNT_BUSY+4:        rd_value = snap_reg[CNT_BUSY*64+32 +: 32];
        ACCEL_CNT_MACS:          rd_value = snap_reg[CNT_MACS*64 +: 32];
        ACCEL_CNT_MACS+4:        rd_value = snap_reg[CNT_MACS*64+32 +: 32];
        ACCEL_CNT_IN_STALL:      rd_value = snap_reg[CNT_IN_STALL*64 +: 32];
        ACCEL_CNT_IN_STALL+4:    rd_value = snap_reg[CNT_IN_STALL*64+32 +: 32];
        ACCEL_CNT_OUT_STALL:     rd_value = snap_reg[CNT_OUT_STALL*64 +: 32];
        ACCEL_CNT_OUT_STALL+4:   rd_value = snap_reg[CNT_OUT_STALL*64+32 +: 32];
        ACCEL_CNT_BYTES_IN:      rd_value = snap_reg[CNT_BYTES_IN*64 +: 32];
        ACCEL_CNT_BYTES_IN+4:    rd_value = snap_reg[CNT_BYTES_IN*64+32 +: 32];
        ACCEL_CNT_BYTES_OUT:     rd_value = snap_reg[CNT_BYTES_OUT*64 +: 32];
        ACCEL_CNT_BYTES_OUT+4:   rd_value = snap_reg[CNT_BYTES_OUT*64+32 +: 32];
        default:                 rd_value = 32'd0;
    endcase
end

always @* begin
    s_axil_arready_next = 1'b0;
    s_axil_rdata_next = s_axil_rdata_reg;
    s_axil_rvalid_next = s_axil_rvalid_reg && !s_axil_rready;

    if (s_axil_arvalid && (!s_axil_rvalid_reg || s_axil_rready) && !s_axil_arready_reg) begin
        s_axil_arready_next = 1'b1;
        s_axil_rvalid_next = 1'b1;
        s_axil_rdata_next = rd_value;
    end
end

always @(posedge clk) begin
    s_axil_arready_reg <= s_axil_arready_next;
    s_axil_rdata_reg <= s_axil_rdata_next;
    s_axil_rvalid_reg <= s_axil_rvalid_next;

    if (rst) begin
        s_axil_arready_reg <= 1'b0;
        s_axil_rvalid_reg <= 1'b0;
    end
end

endmodule

`resetall
