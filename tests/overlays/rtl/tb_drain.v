// Bench wrapper: drain + a behavioural accumulator memory (2 banks x ROWS x NMAX int32)
// that the cocotb bench fills through a write port, read like mac_array's port: the address
// (rd_next_*) registered a cycle ahead, the row in the read cycle, the data registered.
// Not part of the design.
`resetall
`timescale 1ns / 1ps
`default_nettype none

module tb_drain #
(
    parameter DATA_WIDTH = 64,
    parameter ROWS = 4,
    parameter NMAX = 32
)
(
    input  wire                     clk,
    input  wire                     rst,
    input  wire                     cmd_valid,
    input  wire                     cmd_bank,
    input  wire [7:0]               cmd_rows,
    input  wire [15:0]              cmd_cnt,
    output wire                     rd_busy,
    output wire                     busy,
    input  wire                     mem_wr_en,
    input  wire [31:0]              mem_wr_addr,
    input  wire [31:0]              mem_wr_data,
    output wire [DATA_WIDTH-1:0]    m_axis_tdata,
    output wire [DATA_WIDTH/8-1:0]  m_axis_tkeep,
    output wire                     m_axis_tvalid,
    input  wire                     m_axis_tready,
    output wire                     m_axis_tlast
);

localparam L = DATA_WIDTH / 8;
localparam Q = DATA_WIDTH / 32;

reg [31:0] mem [0:2*ROWS*NMAX-1];

always @(posedge clk) begin
    if (mem_wr_en) begin
        mem[mem_wr_addr] <= mem_wr_data;
    end
end

/* verilator lint_off UNUSEDSIGNAL */
wire             rd_bank;
/* verilator lint_on UNUSEDSIGNAL */
wire             rd_next_bank;
wire [15:0]      rd_next_word;
wire [1:0]       rd_next_grp;
wire [7:0]       rd_next_row;
reg              addr_bank_reg;
reg  [7:0]       addr_row_reg;
reg  [15:0]      addr_word_reg;
reg  [1:0]       addr_grp_reg;
reg  [DATA_WIDTH-1:0] rd_data;

integer q, base;
always @(posedge clk) begin
    addr_bank_reg <= rd_next_bank;
    addr_word_reg <= rd_next_word;
    addr_grp_reg <= rd_next_grp;
    addr_row_reg <= rd_next_row;
    base = (addr_bank_reg * ROWS + addr_row_reg) * NMAX + addr_word_reg * L + addr_grp_reg * Q;
    for (q = 0; q < Q; q = q + 1) begin
        rd_data[q*32 +: 32] <= (base + q < 2*ROWS*NMAX) ? mem[base + q] : 32'hdeadbeef;
    end
end

drain #(
    .DATA_WIDTH(DATA_WIDTH)
)
dut (
    .clk(clk),
    .rst(rst),
    .cmd_valid(cmd_valid),
    .cmd_bank(cmd_bank),
    .cmd_rows(cmd_rows),
    .cmd_cnt(cmd_cnt),
    .cmd_q(1'b0),          // int32 drains only (DRAIN_Q: bench_accel_top)
    .rd_busy(rd_busy),
    .busy(busy),
    .q_mode(),
    .epi_rd_busy(),
    .rd_bank(rd_bank),
    .rd_next_bank(rd_next_bank),
    .rd_next_word(rd_next_word),
    .rd_next_grp(rd_next_grp),
    .rd_next_row(rd_next_row),
    .rd_data(rd_data),
    .rd_qdata({Q{32'd0}}),
    .rd_rowsum(32'd0),
    .ep_rd_en(),
    .ep_rd_bank(),
    .ep_rd_grp(),
    .ep_bias({Q{32'd0}}),
    .ep_scale({Q{32'd0}}),
    .ep_zp(16'd0),
    .ep_lo(16'd0),
    .ep_hi(16'd0),
    .ep_bzp(16'd0),
    .m_axis_tdata(m_axis_tdata),
    .m_axis_tkeep(m_axis_tkeep),
    .m_axis_tvalid(m_axis_tvalid),
    .m_axis_tready(m_axis_tready),
    .m_axis_tlast(m_axis_tlast)
);

endmodule

`resetall
