/*
 * accel_top: the int8 matmul accelerator (docs/ARCHITECTURE.md section 1).
 *
 *   s_axis -> axis_skid -> accel_seq --(command beats)--> ififo
 *                                    \-(data beats)--> axis_row_unpack --> abuf (LOAD_A)
 *                                                                     \--> mac_array (STREAM_B)
 *   accel_seq --(DRAIN)--> drain <-- mac_array accumulator read port; drain -> m_axis
 *   u8 flag: the unpacker's chunks convert uint8 -> int8 (sign bit flipped, valid lanes only)
 *   rowsum: A row sums per A bank (LOAD_A chunks) and per accumulator bank (STREAM_B starts)
 *   epi_params: LOAD_EPI packets (raw beats from the sequencer's data path); drain reads
 *   them and the row sums for DRAIN_Q (epilogue.v inside drain)
 *   axil_regs: identity, CTRL/STATUS/ERROR/INSTR_COUNT, 64-bit counters.
 *
 * CTRL.SOFT_RESET resets the whole datapath (not the register file's CTRL/counters).
 */

`resetall
`timescale 1ns / 1ps
`default_nettype none

module accel_top #
(
    // AXI-Stream data width in bits (lanes L = DATA_WIDTH/8): 64, 128 or 256
    parameter DATA_WIDTH = 64,
    // MAC rows R (A rows per panel): 1..255
    parameter ROWS = 16,
    // int8 columns per A row per bank (multiple of L, < 65536)
    parameter KMAX = 4096,
    // int32 accumulator columns per row per bank (multiple of L, < 65536)
    parameter NMAX = 512,
    // instruction FIFO entries
    parameter IFIFO_DEPTH = 256,
    // AXI-Lite address width
    parameter AXIL_ADDR_WIDTH = 12,
    // low 32 bits of the spec hash (SPEC_HASH register)
    parameter [31:0] SPEC_HASH = 32'h0
)
(
    input  wire                       clk,
    input  wire                       rst,

    /*
     * AXI-Lite slave: registers
     */
    input  wire [AXIL_ADDR_WIDTH-1:0] s_axil_awaddr,
    input  wire [2:0]                 s_axil_awprot,
    input  wire                       s_axil_awvalid,
    output wire                       s_axil_awready,
    input  wire [31:0]                s_axil_wdata,
    input  wire [3:0]                 s_axil_wstrb,
    input  wire                       s_axil_wvalid,
    output wire                       s_axil_wready,
    output wire [1:0]                 s_axil_bresp,
    output wire                       s_axil_bvalid,
    input  wire                       s_axil_bready,
    input  wire [AXIL_ADDR_WIDTH-1:0] s_axil_araddr,
    input  wire [2:0]                 s_axil_arprot,
    input  wire                       s_axil_arvalid,
    output wire                       s_axil_arready,
    output wire [31:0]                s_axil_rdata,
    output wire [1:0]                 s_axil_rresp,
    output wire                       s_axil_rvalid,
    input  wire                       s_axil_rready,

    /*
     * AXI-Stream input: command and data packets
     */
    input  wire [DATA_WIDTH-1:0]      s_axis_tdata,
    input  wire [DATA_WIDTH/8-1:0]    s_axis_tkeep,
    input  wire                       s_axis_tvalid,
    output wire                       s_axis_tready,
    input  wire                       s_axis_tlast,

    /*
     * AXI-Stream output: drained C panels
     */
    output wire [DATA_WIDTH-1:0]      m_axis_tdata,
    output wire [DATA_WIDTH/8-1:0]    m_axis_tkeep,
    output wire                       m_axis_tvalid,
    input  wire                       m_axis_tready,
    output wire                       m_axis_tlast,

    output wire                       irq
);

localparam L = DATA_WIDTH / 8;
localparam KEEP_WIDTH = DATA_WIDTH / 8;
localparam LANE_W = $clog2(L+1);
localparam BYTES_W = 8;

// The generated header (no include guard) declares module-scoped localparams; not all are used here.
/* verilator lint_off UNUSEDPARAM */
`include "accel_spec.vh"
/* verilator lint_on UNUSEDPARAM */

// requantization lanes (the spec's [array] epi_lanes): DATA_WIDTH/32 (the int32 drain's
// rate) .. L (a beat of int8 per cycle), checked below; limited to L here only so that a lint
// run pairing another configuration's header with these parameters elaborates
localparam EPI_LANES = ACCEL_EPI_LANES <= L ? ACCEL_EPI_LANES : L;

// check configuration
initial begin
    if (DATA_WIDTH != 64 && DATA_WIDTH != 128 && DATA_WIDTH != 256) begin
        $error("Error: DATA_WIDTH must be 64, 128 or 256 (instance %m)");
        $finish;
    end
    if (ROWS < 1 || ROWS > 255) begin
        $error("Error: ROWS must be 1..255 (instance %m)");
        $finish;
    end
    if (KMAX < L || KMAX % L != 0 || KMAX > 65535) begin
        $error("Error: KMAX must be a positive multiple of DATA_WIDTH/8 below 65536 (instance %m)");
        $finish;
    end
    if (NMAX < L || NMAX % L != 0 || NMAX > 65535) begin
        $error("Error: NMAX must be a positive multiple of DATA_WIDTH/8 below 65536 (instance %m)");
        $finish;
    end
    if (ACCEL_EPI_LANES < DATA_WIDTH / 32 || ACCEL_EPI_LANES > L || (ACCEL_EPI_LANES & (ACCEL_EPI_LANES - 1)) != 0) begin
        $error("Error: the spec's epi_lanes must be a power of two in DATA_WIDTH/32 .. DATA_WIDTH/8 (instance %m)");
        $finish;
    end
end

/*
 * Reset: hard reset or CTRL.SOFT_RESET, registered
 */
// One copy per consumer module, each in its own kept always block (a keep on the reg alone
// does not stop yosys merging equal flip-flops): a single register drove ~580 pins on KV260.
wire soft_rst;
wire dp_rst_d = rst || soft_rst;
reg dp_rst_skid_reg;
reg dp_rst_seq_reg;
reg dp_rst_up_reg;
reg dp_rst_mac_reg;
reg dp_rst_rs_reg;
reg dp_rst_ep_reg;
reg dp_rst_dr_reg;

(* keep *)
always @(posedge clk) begin
    dp_rst_skid_reg <= dp_rst_d;
end
(* keep *)
always @(posedge clk) begin
    dp_rst_seq_reg <= dp_rst_d;
end
(* keep *)
always @(posedge clk) begin
    dp_rst_up_reg <= dp_rst_d;
end
(* keep *)
always @(posedge clk) begin
    dp_rst_mac_reg <= dp_rst_d;
end
(* keep *)
always @(posedge clk) begin
    dp_rst_rs_reg <= dp_rst_d;
end
(* keep *)
always @(posedge clk) begin
    dp_rst_ep_reg <= dp_rst_d;
end
(* keep *)
always @(posedge clk) begin
    dp_rst_dr_reg <= dp_rst_d;
end

/*
 * Input register slice
 */
wire [DATA_WIDTH-1:0] in_tdata;
wire [KEEP_WIDTH-1:0] in_tkeep;
wire                  in_tvalid;
wire                  in_tready;
wire                  in_tlast;

axis_skid #(
    .DATA_WIDTH(DATA_WIDTH),
    .KEEP_WIDTH(KEEP_WIDTH)
)
in_skid (
    .clk(clk),
    .rst(dp_rst_skid_reg),
    .s_axis_tdata(s_axis_tdata),
    .s_axis_tkeep(s_axis_tkeep),
    .s_axis_tvalid(s_axis_tvalid),
    .s_axis_tready(s_axis_tready),
    .s_axis_tlast(s_axis_tlast),
    .m_axis_tdata(in_tdata),
    .m_axis_tkeep(in_tkeep),
    .m_axis_tvalid(in_tvalid),
    .m_axis_tready(in_tready),
    .m_axis_tlast(in_tlast)
);

/*
 * Sequencer (with the instruction FIFO)
 */
wire        up_start;
wire [15:0] up_rows;
wire [15:0] up_row_len;
wire [15:0] up_win_lo;
wire [15:0] up_win_cnt;
wire        up_busy;
wire        up_tvalid;
wire        up_tready;

wire        mode_load;
wire        mode_stream;
wire        cur_abuf;
wire        cur_acc;
wire        cur_accumulate;
wire        cur_u8;
wire        sb_start;
wire [7:0]  cur_rows;
wire        mac_busy;

wire        drain_valid;
wire        drain_bank;
wire [7:0]  drain_rows;
wire [15:0] drain_cnt;
wire        drain_rd_busy;
wire        drain_rd_bank;
wire        drain_busy;
wire        drain_q;
wire        drain_q_mode;
wire [1:0]  drain_epi_busy;
wire        epi_wr_start;
wire        epi_wr_bank;
wire [15:0] epi_wr_cnt;
wire        epi_wr_valid;

wire        st_idle;
wire        st_error;
wire [7:0]  st_error_code;
wire [31:0] st_instr_count;
wire        st_ififo_empty;
wire        in_stall;

accel_seq #(
    .DATA_WIDTH(DATA_WIDTH),
    .ROWS(ROWS),
    .KMAX(KMAX),
    .NMAX(NMAX),
    .IFIFO_DEPTH(IFIFO_DEPTH)
)
seq_inst (
    .clk(clk),
    .rst(dp_rst_seq_reg),
    .s_axis_tdata(in_tdata[63:0]),
    .s_axis_tkeep(in_tkeep),
    .s_axis_tvalid(in_tvalid),
    .s_axis_tready(in_tready),
    .s_axis_tlast(in_tlast),
    .up_start(up_start),
    .up_rows(up_rows),
    .up_row_len(up_row_len),
    .up_win_lo(up_win_lo),
    .up_win_cnt(up_win_cnt),
    .up_busy(up_busy),
    .up_tvalid(up_tvalid),
    .up_tready(up_tready),
    .mode_load(mode_load),
    .mode_stream(mode_stream),
    .cur_abuf(cur_abuf),
    .cur_acc(cur_acc),
    .cur_accumulate(cur_accumulate),
    .cur_u8(cur_u8),
    .sb_start(sb_start),
    .cur_rows(cur_rows),
    .mac_busy(mac_busy),
    .mac_rd_block(mac_rd_block),
    .drain_valid(drain_valid),
    .drain_bank(drain_bank),
    .drain_rows(drain_rows),
    .drain_cnt(drain_cnt),
    .drain_q(drain_q),
    .drain_rd_busy(drain_rd_busy),
    .drain_rd_bank(drain_rd_bank),
    .drain_busy(drain_busy),
    .drain_q_mode(drain_q_mode),
    .drain_epi_busy(drain_epi_busy),
    .epi_wr_start(epi_wr_start),
    .epi_wr_bank(epi_wr_bank),
    .epi_wr_cnt(epi_wr_cnt),
    .epi_wr_valid(epi_wr_valid),
    .idle(st_idle),
    .error(st_error),
    .error_code(st_error_code),
    .instr_count(st_instr_count),
    .ififo_empty(st_ififo_empty),
    .in_stall(in_stall)
);

/*
 * Row unpacker
 */
wire [DATA_WIDTH-1:0] ch_raw;
wire                  ch_valid;
wire [31:0]           ch_user;
wire [15:0]           ch_row = ch_user[31:16];   // row within the packet (LOAD_A: r, STREAM_B: k)
wire [15:0]           ch_col = ch_user[15:0];    // chunk index within the window
wire [LANE_W-1:0]     ch_lanes;

axis_row_unpack #(
    .DATA_WIDTH(DATA_WIDTH),
    .ROW_WIDTH(16),
    .LEN_WIDTH(16)
)
unpack_inst (
    .clk(clk),
    .rst(dp_rst_up_reg),
    .cfg_start(up_start),
    .cfg_rows(up_rows),
    .cfg_row_len(up_row_len),
    .cfg_win_lo(up_win_lo),
    .cfg_win_cnt(up_win_cnt),
    .busy(up_busy),
    .s_axis_tdata(in_tdata),
    .s_axis_tvalid(up_tvalid),
    .s_axis_tready(up_tready),
    .m_axis_tdata(ch_raw),
    /* verilator lint_off PINCONNECTEMPTY */
    // lanes past the window are zero in tdata and counted by m_axis_lanes; the sequencer
    // tracks packet ends itself (byte count): tkeep and tlast are not needed here
    .m_axis_tkeep(),
    .m_axis_tvalid(ch_valid),
    .m_axis_tready(1'b1),
    .m_axis_tlast(),
    /* verilator lint_on PINCONNECTEMPTY */
    .m_axis_tuser(ch_user),
    .m_axis_lanes(ch_lanes)
);

/*
 * u8 input conversion: uint8 x -> int8 x - 128 (its sign bit flipped) on the window's lanes;
 * lanes past the window stay zero (they add nothing to a row sum or an accumulator)
 */
reg [DATA_WIDTH-1:0] u8_flip;
integer li;
always @* begin
    for (li = 0; li < L; li = li + 1) begin
        u8_flip[li*8 +: 8] = (cur_u8 && li < ch_lanes) ? 8'h80 : 8'h00;
    end
end
wire [DATA_WIDTH-1:0] ch_data = ch_raw ^ u8_flip;

/*
 * A banks
 */
wire [ROWS*8-1:0] a_col;
wire              load_chunk = ch_valid && mode_load;
wire              mac_chunk = ch_valid && mode_stream;

abuf #(
    .DATA_WIDTH(DATA_WIDTH),
    .ROWS(ROWS),
    .KMAX(KMAX),
    .ROW_WIDTH(8),
    .K_WIDTH(16)
)
abuf_inst (
    .clk(clk),
    .wr_en(load_chunk),
    .wr_bank(cur_abuf),
    .wr_row(ch_row[7:0]),
    .wr_word(ch_col),
    .wr_data(ch_data),
    .rd_en(mac_chunk),
    .rd_bank(cur_abuf),
    .rd_k(ch_row),
    .rd_data(a_col)
);

/*
 * MAC array and accumulators
 */
wire                  acc_rd_next_bank;
wire [15:0]           acc_rd_next_word;
wire [1:0]            acc_rd_next_grp;
wire [7:0]            acc_rd_next_row;
wire [DATA_WIDTH-1:0] acc_rd_data;
wire [EPI_LANES*32-1:0] acc_rd_qdata;
wire                  mac_rd_block;

mac_array #(
    .DATA_WIDTH(DATA_WIDTH),
    .ROWS(ROWS),
    .NMAX(NMAX),
    .ROW_WIDTH(8),
    .COL_WIDTH(16),
    .EPI_LANES(EPI_LANES)
)
mac_inst (
    .clk(clk),
    .rst(dp_rst_mac_reg),
    .s_valid(mac_chunk),
    .s_data(ch_data),
    .s_col(ch_col),
    .s_clear(!cur_accumulate && ch_row == 16'd0),
    .s_bank(cur_acc),
    .a_data(a_col),
    .rd_next_bank(acc_rd_next_bank),
    .rd_next_word(acc_rd_next_word),
    .rd_next_grp(acc_rd_next_grp),
    .rd_next_row(acc_rd_next_row),
    .rd_data(acc_rd_data),
    .rd_qdata(acc_rd_qdata),
    .busy(mac_busy),
    .rd_block(mac_rd_block)
);

/*
 * Row sums of A (the epilogue's B zero point term)
 */
wire [31:0] rs_rd_sum;

rowsum #(
    .DATA_WIDTH(DATA_WIDTH),
    .ROWS(ROWS),
    .ROW_WIDTH(8)
)
rowsum_inst (
    .clk(clk),
    .rst(dp_rst_rs_reg),
    .ld_valid(load_chunk),
    .ld_bank(cur_abuf),
    .ld_row(ch_row[7:0]),
    .ld_first(ch_col == 16'd0),
    .ld_data(ch_data),
    .sb_start(sb_start),
    .sb_abuf(cur_abuf),
    .sb_acc(cur_acc),
    .sb_accumulate(cur_accumulate),
    .rd_next_bank(acc_rd_next_bank),
    .rd_next_row(acc_rd_next_row),
    .rd_sum(rs_rd_sum)
);

/*
 * Epilogue parameters (LOAD_EPI)
 */
wire                   ep_rd_en;
wire                   ep_rd_bank;
wire [15:0]            ep_rd_grp;
wire [EPI_LANES*32-1:0] ep_bias;
wire [EPI_LANES*32-1:0] ep_scale;
wire [15:0]            ep_zp;
wire [15:0]            ep_lo;
wire [15:0]            ep_hi;
wire [15:0]            ep_bzp;

epi_params #(
    .DATA_WIDTH(DATA_WIDTH),
    .NMAX(NMAX),
    .LANES(EPI_LANES),
    .CNT_WIDTH(16)
)
epi_params_inst (
    .clk(clk),
    .rst(dp_rst_ep_reg),
    .wr_start(epi_wr_start),
    .wr_bank(epi_wr_bank),
    .wr_cnt(epi_wr_cnt),
    .wr_valid(epi_wr_valid),
    .wr_data(in_tdata),
    .rd_en(ep_rd_en),
    .rd_bank(ep_rd_bank),
    .rd_grp(ep_rd_grp),
    .rd_bias(ep_bias),
    .rd_scale(ep_scale),
    .rd_zp(ep_zp),
    .rd_lo(ep_lo),
    .rd_hi(ep_hi),
    .rd_bzp(ep_bzp)
);

/*
 * Drain engine (with the epilogue and the output register slice)
 */
drain #(
    .DATA_WIDTH(DATA_WIDTH),
    .KEEP_WIDTH(KEEP_WIDTH),
    .ROW_WIDTH(8),
    .CNT_WIDTH(16),
    .EPI_LANES(EPI_LANES)
)
drain_inst (
    .clk(clk),
    .rst(dp_rst_dr_reg),
    .cmd_valid(drain_valid),
    .cmd_bank(drain_bank),
    .cmd_rows(drain_rows),
    .cmd_cnt(drain_cnt),
    .cmd_q(drain_q),
    .rd_busy(drain_rd_busy),
    .busy(drain_busy),
    .q_mode(drain_q_mode),
    .epi_rd_busy(drain_epi_busy),
    .rd_bank(drain_rd_bank),
    .rd_next_bank(acc_rd_next_bank),
    .rd_next_word(acc_rd_next_word),
    .rd_next_grp(acc_rd_next_grp),
    .rd_next_row(acc_rd_next_row),
    .rd_data(acc_rd_data),
    .rd_qdata(acc_rd_qdata),
    .rd_rowsum(rs_rd_sum),
    .ep_rd_en(ep_rd_en),
    .ep_rd_bank(ep_rd_bank),
    .ep_rd_grp(ep_rd_grp),
    .ep_bias(ep_bias),
    .ep_scale(ep_scale),
    .ep_zp(ep_zp),
    .ep_lo(ep_lo),
    .ep_hi(ep_hi),
    .ep_bzp(ep_bzp),
    .m_axis_tdata(m_axis_tdata),
    .m_axis_tkeep(m_axis_tkeep),
    .m_axis_tvalid(m_axis_tvalid),
    .m_axis_tready(m_axis_tready),
    .m_axis_tlast(m_axis_tlast)
);

/*
 * Counter events, registered
 */
function [BYTES_W-1:0] popcount(input [KEEP_WIDTH-1:0] keep);
    integer j;
    begin
        popcount = {BYTES_W{1'b0}};
        for (j = 0; j < KEEP_WIDTH; j = j + 1) begin
            popcount = popcount + {{BYTES_W-1{1'b0}}, keep[j]};
        end
    end
endfunction

reg                ev_busy_reg;
reg                ev_mac_reg;        // MACS event: operands registered first, then multiplied
reg [7:0]          ev_mac_rows_reg;
reg [LANE_W-1:0]   ev_mac_lanes_reg;
reg [15:0]         ev_macs_reg;
reg                ev_in_stall_reg;
reg                ev_out_stall_reg;
reg [BYTES_W-1:0]  ev_bytes_in_reg;
reg [BYTES_W-1:0]  ev_bytes_out_reg;

always @(posedge clk) begin
    ev_busy_reg <= mac_chunk;
    ev_mac_reg <= mac_chunk;
    ev_mac_rows_reg <= cur_rows;
    ev_mac_lanes_reg <= ch_lanes;
    ev_macs_reg <= ev_mac_reg ? {8'd0, ev_mac_rows_reg} * {{16-LANE_W{1'b0}}, ev_mac_lanes_reg} : 16'd0;
    ev_in_stall_reg <= in_stall;
    ev_out_stall_reg <= m_axis_tvalid && !m_axis_tready;
    ev_bytes_in_reg <= (s_axis_tvalid && s_axis_tready) ? popcount(s_axis_tkeep) : {BYTES_W{1'b0}};
    ev_bytes_out_reg <= (m_axis_tvalid && m_axis_tready) ? popcount(m_axis_tkeep) : {BYTES_W{1'b0}};

    if (rst) begin
        ev_busy_reg <= 1'b0;
        ev_mac_reg <= 1'b0;
        ev_macs_reg <= 16'd0;
        ev_in_stall_reg <= 1'b0;
        ev_out_stall_reg <= 1'b0;
        ev_bytes_in_reg <= {BYTES_W{1'b0}};
        ev_bytes_out_reg <= {BYTES_W{1'b0}};
    end
end

/*
 * Registers
 */
axil_regs #(
    .DATA_WIDTH(DATA_WIDTH),
    .ROWS(ROWS),
    .KMAX(KMAX),
    .NMAX(NMAX),
    .IFIFO_DEPTH(IFIFO_DEPTH),
    .AXIL_ADDR_WIDTH(AXIL_ADDR_WIDTH),
    .SPEC_HASH(SPEC_HASH),
    .MACS_INC_WIDTH(16),
    .BYTES_INC_WIDTH(BYTES_W)
)
regs_inst (
    .clk(clk),
    .rst(rst),
    .s_axil_awaddr(s_axil_awaddr),
    .s_axil_awprot(s_axil_awprot),
    .s_axil_awvalid(s_axil_awvalid),
    .s_axil_awready(s_axil_awready),
    .s_axil_wdata(s_axil_wdata),
    .s_axil_wstrb(s_axil_wstrb),
    .s_axil_wvalid(s_axil_wvalid),
    .s_axil_wready(s_axil_wready),
    .s_axil_bresp(s_axil_bresp),
    .s_axil_bvalid(s_axil_bvalid),
    .s_axil_bready(s_axil_bready),
    .s_axil_araddr(s_axil_araddr),
    .s_axil_arprot(s_axil_arprot),
    .s_axil_arvalid(s_axil_arvalid),
    .s_axil_arready(s_axil_arready),
    .s_axil_rdata(s_axil_rdata),
    .s_axil_rresp(s_axil_rresp),
    .s_axil_rvalid(s_axil_rvalid),
    .s_axil_rready(s_axil_rready),
    .st_idle(st_idle),
    .st_error(st_error),
    .st_drain_busy(drain_busy),
    .st_ififo_empty(st_ififo_empty),
    .st_error_code(st_error_code),
    .st_instr_count(st_instr_count),
    .ev_busy(ev_busy_reg),
    .ev_macs(ev_macs_reg),
    .ev_in_stall(ev_in_stall_reg),
    .ev_out_stall(ev_out_stall_reg),
    .ev_bytes_in(ev_bytes_in_reg),
    .ev_bytes_out(ev_bytes_out_reg),
    .soft_rst(soft_rst),
    .irq(irq)
);

endmodule

`resetall
