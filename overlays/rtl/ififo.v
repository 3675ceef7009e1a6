/*
 * ififo: instruction FIFO (first-word-fall-through, block-RAM friendly).
 *
 * Synchronous-read storage of 2**clog2(DEPTH) words followed by one output register, so
 * the memory maps to a block RAM (read port with enable feeding the output register).
 * Writes are refused (s_axis_tready low) only when the storage is full; the sequencer
 * limits a command packet to DEPTH words itself (IFIFO_OVERFLOW).
 */

`resetall
`timescale 1ns / 1ps
`default_nettype none

module ififo #
(
    // Width of one entry in bits
    parameter DATA_WIDTH = 64,
    // Entries (storage is rounded up to a power of two)
    parameter DEPTH = 256
)
(
    input  wire                   clk,
    input  wire                   rst,

    input  wire [DATA_WIDTH-1:0]  s_axis_tdata,
    input  wire                   s_axis_tvalid,
    output wire                   s_axis_tready,

    output wire [DATA_WIDTH-1:0]  m_axis_tdata,
    output wire                   m_axis_tvalid,
    input  wire                   m_axis_tready,

    // nothing stored (storage and output register empty)
    output wire                   empty
);

localparam ADDR_WIDTH = DEPTH > 1 ? $clog2(DEPTH) : 1;

// check configuration
initial begin
    if (DATA_WIDTH < 1) begin
        $error("Error: DATA_WIDTH must be at least 1 (instance %m)");
        $finish;
    end
    if (DEPTH < 1 || DEPTH > 65536) begin
        $error("Error: DEPTH must be 1..65536 (instance %m)");
        $finish;
    end
end

(* ram_style = "block" *)
reg [DATA_WIDTH-1:0] mem [0:(2**ADDR_WIDTH)-1];

reg [ADDR_WIDTH:0] wr_ptr_reg;
reg [ADDR_WIDTH:0] rd_ptr_reg;

reg [DATA_WIDTH-1:0] m_axis_tdata_reg;
reg                  m_axis_tvalid_reg;

wire mem_full = wr_ptr_reg == (rd_ptr_reg ^ {1'b1, {ADDR_WIDTH{1'b0}}});
wire mem_empty = wr_ptr_reg == rd_ptr_reg;

wire write = s_axis_tvalid && !mem_full;
wire read = !mem_empty && (!m_axis_tvalid_reg || m_axis_tready);

assign s_axis_tready = !mem_full;
assign m_axis_tdata = m_axis_tdata_reg;
assign m_axis_tvalid = m_axis_tvalid_reg;
assign empty = mem_empty && !m_axis_tvalid_reg;

always @(posedge clk) begin
    if (write) begin
        mem[wr_ptr_reg[ADDR_WIDTH-1:0]] <= s_axis_tdata;
    end
    if (read) begin
        m_axis_tdata_reg <= mem[rd_ptr_reg[ADDR_WIDTH-1:0]];
    end
end

always @(posedge clk) begin
    if (write) begin
        wr_ptr_reg <= wr_ptr_reg + 1'b1;
    end
    if (read) begin
        rd_ptr_reg <= rd_ptr_reg + 1'b1;
        m_axis_tvalid_reg <= 1'b1;
    end else if (m_axis_tready) begin
        m_axis_tvalid_reg <= 1'b0;
    end

    if (rst) begin
        wr_ptr_reg <= {ADDR_WIDTH+1{1'b0}};
        rd_ptr_reg <= {ADDR_WIDTH+1{1'b0}};
        m_axis_tvalid_reg <= 1'b0;
    end
end

endmodule

`resetall
