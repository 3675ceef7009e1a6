// Bench wrapper: drain + a behavioural accumulator memory (2 banks x ROWS x NMAX int32)
// that the cocotb bench fills through a write port. Not part of the design.
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

wire             rd_bank;
wire [7:0]       rd_row;
wire [15:0]      rd_word;
wire [1:0]       rd_grp;
reg  [DATA_WIDTH-1:0] rd_data;

integer q, base;
always @* begin
    base = (rd_bank * ROWS + rd_row) * NMAX + rd_word * L + rd_grp * Q;
    for (q = 0; q < Q; q = q + 1) begin
        rd_data[q*32 +: 32] = (base + q < 2*ROWS*NMAX) ? mem[base + q] : 32'hdeadbeef;
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
    .rd_busy(rd_busy),
    .busy(busy),
    .rd_bank(rd_bank),
    .rd_row(rd_row),
    .rd_word(rd_word),
    .rd_grp(rd_grp),
    .rd_data(rd_data),
    .m_axis_tdata(m_axis_tdata),
    .m_axis_tkeep(m_axis_tkeep),
    .m_axis_tvalid(m_axis_tvalid),
    .m_axis_tready(m_axis_tready),
    .m_axis_tlast(m_axis_tlast)
);

endmodule

`resetall
