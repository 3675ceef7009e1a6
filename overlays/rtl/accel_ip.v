/*
 * accel_ip: Vivado block-design wrapper of accel_top.
 *
 * Renames the clock and reset for IP packaging (aclk, active-low synchronous aresetn)
 * and keeps the bus names (s_axil_*, s_axis_*, m_axis_*) so Vivado infers the AXI4-Lite
 * slave and the two AXI4-Stream interfaces, all associated with aclk; irq is a
 * level-high interrupt.
 */

`resetall
`timescale 1ns / 1ps
`default_nettype none

module accel_ip #
(
    // see accel_top
    parameter DATA_WIDTH = 64,
    parameter ROWS = 16,
    parameter KMAX = 4096,
    parameter NMAX = 512,
    parameter IFIFO_DEPTH = 256,
    parameter AXIL_ADDR_WIDTH = 12,
    parameter [31:0] SPEC_HASH = 32'h0
)
(
    (* X_INTERFACE_INFO = "xilinx.com:signal:clock:1.0 aclk CLK" *)
    (* X_INTERFACE_PARAMETER = "ASSOCIATED_BUSIF s_axil:s_axis:m_axis, ASSOCIATED_RESET aresetn" *)
    input  wire                       aclk,
    (* X_INTERFACE_INFO = "xilinx.com:signal:reset:1.0 aresetn RST" *)
    (* X_INTERFACE_PARAMETER = "POLARITY ACTIVE_LOW" *)
    input  wire                       aresetn,

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

    (* X_INTERFACE_INFO = "xilinx.com:signal:interrupt:1.0 irq INTERRUPT" *)
    (* X_INTERFACE_PARAMETER = "SENSITIVITY LEVEL_HIGH" *)
    output wire                       irq
);

// check configuration (accel_top checks the rest)
initial begin
    if (AXIL_ADDR_WIDTH < 8) begin
        $error("Error: AXIL_ADDR_WIDTH must be at least 8 (instance %m)");
        $finish;
    end
end

// synchronous active-low reset, registered
reg rst_reg;
always @(posedge aclk) begin
    rst_reg <= !aresetn;
end

accel_top #(
    .DATA_WIDTH(DATA_WIDTH),
    .ROWS(ROWS),
    .KMAX(KMAX),
    .NMAX(NMAX),
    .IFIFO_DEPTH(IFIFO_DEPTH),
    .AXIL_ADDR_WIDTH(AXIL_ADDR_WIDTH),
    .SPEC_HASH(SPEC_HASH)
)
accel_inst (
    .clk(aclk),
    .rst(rst_reg),
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
    .s_axis_tdata(s_axis_tdata),
    .s_axis_tkeep(s_axis_tkeep),
    .s_axis_tvalid(s_axis_tvalid),
    .s_axis_tready(s_axis_tready),
    .s_axis_tlast(s_axis_tlast),
    .m_axis_tdata(m_axis_tdata),
    .m_axis_tkeep(m_axis_tkeep),
    .m_axis_tvalid(m_axis_tvalid),
    .m_axis_tready(m_axis_tready),
    .m_axis_tlast(m_axis_tlast),
    .irq(irq)
);

endmodule

`resetall
