// accel_top: EARLY STUB with the final port list (being replaced by the real design).
`resetall
`timescale 1ns / 1ps
`default_nettype none

module accel_top #
(
    parameter DATA_WIDTH = 64,
    parameter ROWS = 16,
    parameter KMAX = 4096,
    parameter NMAX = 512,
    parameter IFIFO_DEPTH = 256,
    parameter AXIL_ADDR_WIDTH = 12,
    parameter [31:0] SPEC_HASH = 32'h0
)
(
    input  wire                       clk,
    input  wire                       rst,

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

    input  wire [DATA_WIDTH-1:0]      s_axis_tdata,
    input  wire [DATA_WIDTH/8-1:0]    s_axis_tkeep,
    input  wire                       s_axis_tvalid,
    output wire                       s_axis_tready,
    input  wire                       s_axis_tlast,

    output wire [DATA_WIDTH-1:0]      m_axis_tdata,
    output wire [DATA_WIDTH/8-1:0]    m_axis_tkeep,
    output wire                       m_axis_tvalid,
    input  wire                       m_axis_tready,
    output wire                       m_axis_tlast,

    output wire                       irq
);

assign s_axil_awready = 1'b0;
assign s_axil_wready = 1'b0;
assign s_axil_bresp = 2'b00;
assign s_axil_bvalid = 1'b0;
assign s_axil_arready = 1'b0;
assign s_axil_rdata = 32'd0;
assign s_axil_rresp = 2'b00;
assign s_axil_rvalid = 1'b0;
assign s_axis_tready = 1'b1;
assign m_axis_tdata = {DATA_WIDTH{1'b0}};
assign m_axis_tkeep = {DATA_WIDTH/8{1'b0}};
assign m_axis_tvalid = 1'b0;
assign m_axis_tlast = 1'b0;
assign irq = 1'b0;

endmodule

`resetall
