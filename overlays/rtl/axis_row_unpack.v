/*
 * axis_row_unpack: byte realigner that splits a packet of rows into row-aligned chunks.
 *
 * The input is a byte stream of DATA_WIDTH-bit beats carrying cfg_rows rows of
 * cfg_row_len bytes each, back to back (a row generally starts mid-beat). The output is
 * one chunk per cycle: up to L = DATA_WIDTH/8 bytes of one row, aligned to the row start
 * (chunk c holds row bytes [c*L, c*L+L)), so byte l of a chunk is column c*L+l. Only
 * chunks that overlap the window [cfg_win_lo, cfg_win_lo+cfg_win_cnt) are emitted
 * (cfg_win_lo must be a multiple of L); lanes past the window end are zeroed and cleared
 * in m_axis_tkeep, and m_axis_lanes counts the valid ones. m_axis_tuser = {row, col}: the
 * row index within the packet and the chunk index within the window; m_axis_tlast marks
 * the packet's last chunk, so the kept bytes of one output packet are the window columns
 * of every row, concatenated. Chunks outside the window are consumed silently,
 * one per cycle. Bytes after the packet's last row (the tail of its last beat) are
 * discarded. With rows that are a multiple of L and no back-pressure, the unpacker
 * accepts one beat and emits one chunk per cycle.
 *
 * Storage is a 2L-byte buffer: each cycle the emitted chunk's bytes leave from the bottom
 * (shift by 0..L bytes) and an input beat is appended at the fill level when at most L
 * bytes remain after that.
 */

`resetall
`timescale 1ns / 1ps
`default_nettype none

module axis_row_unpack #
(
    // Width of the input and output data in bits (8 * lanes): 32, 64, 128 or 256
    parameter DATA_WIDTH = 64,
    // Width of the row count and row index
    parameter ROW_WIDTH = 16,
    // Width of the row length and window fields (bytes)
    parameter LEN_WIDTH = 16
)
(
    input  wire                        clk,
    input  wire                        rst,

    /*
     * Configuration, sampled when cfg_start is high and busy is low
     */
    input  wire                        cfg_start,
    input  wire [ROW_WIDTH-1:0]        cfg_rows,
    input  wire [LEN_WIDTH-1:0]        cfg_row_len,
    input  wire [LEN_WIDTH-1:0]        cfg_win_lo,
    input  wire [LEN_WIDTH-1:0]        cfg_win_cnt,
    output wire                        busy,

    /*
     * Byte stream input (every byte of every beat is data; the packet length is implied)
     */
    input  wire [DATA_WIDTH-1:0]       s_axis_tdata,
    input  wire                        s_axis_tvalid,
    output wire                        s_axis_tready,

    /*
     * Chunk output
     */
    output wire [DATA_WIDTH-1:0]       m_axis_tdata,
    output wire [DATA_WIDTH/8-1:0]     m_axis_tkeep,
    output wire                        m_axis_tvalid,
    input  wire                        m_axis_tready,
    output wire                        m_axis_tlast,  // last chunk of the packet
    output wire [ROW_WIDTH+LEN_WIDTH-1:0] m_axis_tuser,  // {row index, chunk index in window}
    output wire [$clog2(DATA_WIDTH/8+1)-1:0] m_axis_lanes  // valid lanes, 1..L
);

localparam L = DATA_WIDTH / 8;
localparam LANE_W = $clog2(L+1);
localparam CNT_W = $clog2(2*L+1);
localparam SHIFT = $clog2(L);

// check configuration
initial begin
    if (DATA_WIDTH != 32 && DATA_WIDTH != 64 && DATA_WIDTH != 128 && DATA_WIDTH != 256) begin
        $error("Error: DATA_WIDTH must be 32, 64, 128 or 256 (instance %m)");
        $finish;
    end
    if (ROW_WIDTH < 1 || ROW_WIDTH > 32) begin
        $error("Error: ROW_WIDTH must be 1..32 (instance %m)");
        $finish;
    end
    if (LEN_WIDTH <= SHIFT || LEN_WIDTH > 30) begin
        $error("Error: LEN_WIDTH must be more than log2(lanes) and at most 30 (instance %m)");
        $finish;
    end
end

reg                   busy_reg;
reg [2*DATA_WIDTH-1:0] buf_reg;
reg [CNT_W-1:0]       cnt_reg;

reg [ROW_WIDTH-1:0]   rows_reg;       // rows in the packet
reg [ROW_WIDTH-1:0]   row_reg;        // current row
reg [LEN_WIDTH-1:0]   row_len_reg;
reg [LEN_WIDTH-1:0]   rem_reg;        // bytes of the row from this chunk on
reg [LEN_WIDTH-1:0]   chunk_reg;      // chunk index within the row
reg [LEN_WIDTH-1:0]   c_lo_reg;       // first window chunk
reg [LEN_WIDTH-1:0]   c_last_reg;     // last window chunk
reg [LANE_W-1:0]      last_lanes_reg;    // valid lanes of the last window chunk

// window chunk bounds of the configuration being started
// last column of the window (the caller guarantees 1 <= win_cnt, win_lo + win_cnt <= row_len)
wire [LEN_WIDTH-1:0] cfg_win_end = cfg_win_lo + cfg_win_cnt - 1'b1;
wire [LEN_WIDTH-1:0] cfg_c_last = cfg_win_end >> SHIFT;
wire [LANE_W-1:0] cfg_last_lanes = {1'b0, cfg_win_end[SHIFT-1:0]} + 1'b1;

// this cycle
wire last_chunk_of_row = rem_reg <= L[LEN_WIDTH-1:0];
wire [LANE_W-1:0] need = last_chunk_of_row ? rem_reg[LANE_W-1:0] : L[LANE_W-1:0];
wire have = {{CNT_W-LANE_W{1'b0}}, need} <= cnt_reg;
wire in_win = chunk_reg >= c_lo_reg && chunk_reg <= c_last_reg;
wire last_row = row_reg == rows_reg - 1'b1;
wire at_c_last = chunk_reg == c_last_reg;

wire advance = busy_reg && have && (!in_win || m_axis_tready);
wire [LANE_W-1:0] consumed = advance ? need : {LANE_W{1'b0}};
wire [CNT_W-1:0] left = cnt_reg - {{CNT_W-LANE_W{1'b0}}, consumed};
wire room = left <= L[CNT_W-1:0];
wire accept = busy_reg && room && s_axis_tvalid;

wire [LANE_W-1:0] lanes = at_c_last ? last_lanes_reg : L[LANE_W-1:0];

// lane mask: lanes below `lanes`
reg [DATA_WIDTH-1:0] lane_mask;
reg [L-1:0] lane_keep;
integer i;
always @* begin
    for (i = 0; i < L; i = i + 1) begin
        lane_keep[i] = i < lanes;
        lane_mask[i*8 +: 8] = {8{lane_keep[i]}};
    end
end

assign busy = busy_reg;
assign s_axis_tready = busy_reg && room;

assign m_axis_tdata = buf_reg[DATA_WIDTH-1:0] & lane_mask;
assign m_axis_tkeep = lane_keep;
assign m_axis_tvalid = busy_reg && have && in_win;
assign m_axis_tlast = last_row && at_c_last;
assign m_axis_tuser = {row_reg, chunk_reg - c_lo_reg};
assign m_axis_lanes = lanes;

// buffer update: drop `consumed` bytes, append the accepted beat at the new fill level
wire [2*DATA_WIDTH-1:0] shifted = buf_reg >> {consumed, 3'b000};
wire [2*DATA_WIDTH-1:0] appended = {{DATA_WIDTH{1'b0}}, s_axis_tdata} << {left, 3'b000};

always @(posedge clk) begin
    if (busy_reg) begin
        buf_reg <= accept ? (shifted | appended) : shifted;
        cnt_reg <= accept ? left + L[CNT_W-1:0] : left;

        if (advance) begin
            if (last_chunk_of_row) begin
                rem_reg <= row_len_reg;
                chunk_reg <= {LEN_WIDTH{1'b0}};
                row_reg <= row_reg + 1'b1;
                if (last_row) begin
                    busy_reg <= 1'b0;
                end
            end else begin
                rem_reg <= rem_reg - L[LEN_WIDTH-1:0];
                chunk_reg <= chunk_reg + 1'b1;
            end
        end
    end else if (cfg_start) begin
        busy_reg <= 1'b1;
        buf_reg <= {2*DATA_WIDTH{1'b0}};
        cnt_reg <= {CNT_W{1'b0}};
        rows_reg <= cfg_rows;
        row_reg <= {ROW_WIDTH{1'b0}};
        row_len_reg <= cfg_row_len;
        rem_reg <= cfg_row_len;
        chunk_reg <= {LEN_WIDTH{1'b0}};
        c_lo_reg <= cfg_win_lo >> SHIFT;
        c_last_reg <= cfg_c_last;
        last_lanes_reg <= cfg_last_lanes;
    end

    if (rst) begin
        busy_reg <= 1'b0;
        buf_reg <= {2*DATA_WIDTH{1'b0}};
        cnt_reg <= {CNT_W{1'b0}};
    end
end

endmodule

`resetall
