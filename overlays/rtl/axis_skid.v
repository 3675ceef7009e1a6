/*
 * axis_skid: AXI-Stream register slice with a skid buffer.
 *
 * Registered tready and tvalid on both sides, full throughput (one beat per cycle)
 * with any pattern of back-pressure: when m_axis_tready drops, the beat that was already
 * accepted on s_axis (because s_axis_tready is a register) lands in the temp register.
 * Structure after Alex Forencich's verilog-axis axis_register (REG_TYPE = 2).
 */

`resetall
`timescale 1ns / 1ps
`default_nettype none

module axis_skid #
(
    // Width of tdata in bits
    parameter DATA_WIDTH = 64,
    // Width of tkeep (DATA_WIDTH/8 for a byte-granular stream; 1 if unused)
    parameter KEEP_WIDTH = (DATA_WIDTH+7)/8
)
(
    input  wire                   clk,
    input  wire                   rst,

    input  wire [DATA_WIDTH-1:0]  s_axis_tdata,
    input  wire [KEEP_WIDTH-1:0]  s_axis_tkeep,
    input  wire                   s_axis_tvalid,
    output wire                   s_axis_tready,
    input  wire                   s_axis_tlast,

    output wire [DATA_WIDTH-1:0]  m_axis_tdata,
    output wire [KEEP_WIDTH-1:0]  m_axis_tkeep,
    output wire                   m_axis_tvalid,
    input  wire                   m_axis_tready,
    output wire                   m_axis_tlast
);

// bus width assertions
initial begin
    if (DATA_WIDTH < 1) begin
        $error("Error: DATA_WIDTH must be at least 1 (instance %m)");
        $finish;
    end
    if (KEEP_WIDTH < 1) begin
        $error("Error: KEEP_WIDTH must be at least 1 (instance %m)");
        $finish;
    end
end

reg                   s_axis_tready_reg;

reg [DATA_WIDTH-1:0]  m_axis_tdata_reg;
reg [KEEP_WIDTH-1:0]  m_axis_tkeep_reg;
reg                   m_axis_tvalid_reg, m_axis_tvalid_next;
reg                   m_axis_tlast_reg;

reg [DATA_WIDTH-1:0]  temp_tdata_reg;
reg [KEEP_WIDTH-1:0]  temp_tkeep_reg;
reg                   temp_tvalid_reg, temp_tvalid_next;
reg                   temp_tlast_reg;

// datapath control
reg store_input_to_output;
reg store_input_to_temp;
reg store_temp_to_output;

assign s_axis_tready = s_axis_tready_reg;

assign m_axis_tdata  = m_axis_tdata_reg;
assign m_axis_tkeep  = m_axis_tkeep_reg;
assign m_axis_tvalid = m_axis_tvalid_reg;
assign m_axis_tlast  = m_axis_tlast_reg;

// enable ready input next cycle if output is ready or the temp reg will not be filled
// on the next cycle (output reg empty or no input)
wire s_axis_tready_early = m_axis_tready || (!temp_tvalid_reg && (!m_axis_tvalid_reg || !s_axis_tvalid));

always @* begin
    // transfer sink ready state to source
    m_axis_tvalid_next = m_axis_tvalid_reg;
    temp_tvalid_next = temp_tvalid_reg;

    store_input_to_output = 1'b0;
    store_input_to_temp = 1'b0;
    store_temp_to_output = 1'b0;

    if (s_axis_tready_reg) begin
        // input is ready
        if (m_axis_tready || !m_axis_tvalid_reg) begin
            // output is ready or currently not valid, transfer data to output
            m_axis_tvalid_next = s_axis_tvalid;
            store_input_to_output = 1'b1;
        end else begin
            // output is not ready, store input in temp
            temp_tvalid_next = s_axis_tvalid;
            store_input_to_temp = 1'b1;
        end
    end else if (m_axis_tready) begin
        // input is not ready, but output is ready
        m_axis_tvalid_next = temp_tvalid_reg;
        temp_tvalid_next = 1'b0;
        store_temp_to_output = 1'b1;
    end
end

always @(posedge clk) begin
    s_axis_tready_reg <= s_axis_tready_early;
    m_axis_tvalid_reg <= m_axis_tvalid_next;
    temp_tvalid_reg <= temp_tvalid_next;

    // datapath
    if (store_input_to_output) begin
        m_axis_tdata_reg <= s_axis_tdata;
        m_axis_tkeep_reg <= s_axis_tkeep;
        m_axis_tlast_reg <= s_axis_tlast;
    end else if (store_temp_to_output) begin
        m_axis_tdata_reg <= temp_tdata_reg;
        m_axis_tkeep_reg <= temp_tkeep_reg;
        m_axis_tlast_reg <= temp_tlast_reg;
    end

    if (store_input_to_temp) begin
        temp_tdata_reg <= s_axis_tdata;
        temp_tkeep_reg <= s_axis_tkeep;
        temp_tlast_reg <= s_axis_tlast;
    end

    if (rst) begin
        s_axis_tready_reg <= 1'b0;
        m_axis_tvalid_reg <= 1'b0;
        temp_tvalid_reg <= 1'b0;
    end
end

endmodule

`resetall
