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
 *
 * Timing: every per-cycle decision is one LUT level from flip-flops. The conditions
 * "the chunk's bytes are buffered", "a beat fits if the chunk leaves / stays", the
 * chunk's byte count and its window flags are registered, computed a cycle ahead for
 * each (chunk leaves, beat taken) case and selected at the clock edge; both buffer
 * shifts and both append positions are formed from registers in parallel. The
 * configuration registers follow the cfg_* inputs while idle, so cfg_start drives only
 * busy. Cycle behaviour is that of the direct form (decide, subtract, compare in one
 * cycle): the cocotb bench checks every handshake cycle by cycle against that model.
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
localparam L2 = 2 * L;
localparam L3 = 3 * L;

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
reg [CNT_W-1:0]       cnt_reg;        // bytes in buf_reg

reg [ROW_WIDTH-1:0]   rows_m2_reg;    // rows in the packet, minus 2 (see last_row_reg)
reg [ROW_WIDTH-1:0]   row_reg;        // current row
reg [LEN_WIDTH-1:0]   row_len_reg;
reg [LEN_WIDTH-1:0]   rem_reg;        // bytes of the row from this chunk on
reg [LEN_WIDTH-1:0]   chunk_reg;      // chunk index within the row
reg [LEN_WIDTH-1:0]   col_reg;        // chunk index within the window (chunk - first window chunk)
reg [LEN_WIDTH-1:0]   neg_c_lo_reg;   // -(first window chunk): col_reg at a row start
reg [LEN_WIDTH-1:0]   c_lo_m1_reg;    // first window chunk - 1
reg [LEN_WIDTH-1:0]   c_last_m1_reg;  // last window chunk - 1
reg [LANE_W-1:0]      last_lanes_reg; // valid lanes of the last window chunk
reg [L-1:0]           last_keep_reg;  // their lane mask

/*
 * Next-state conditions, computed a cycle ahead (all a function of the registers above
 * and of the chunk/byte counts, so each cycle's decisions start from flip-flops; the
 * proxy's worst path was the chain compare -> advance -> subtract -> compare -> accept).
 */
reg                   last_chunk_reg; // rem_reg <= L: this chunk ends the row
reg [LANE_W-1:0]      need_reg;       // bytes of this chunk: min(rem_reg, L)
reg [LANE_W-1:0]      need_after_reg; // bytes of the chunk after it
reg                   in_win_reg;     // this chunk overlaps the window
reg                   at_c_last_reg;  // this chunk is the window's last
reg                   last_row_reg;   // row_reg is the packet's last row
reg                   have_reg;       // need_reg <= cnt_reg: the chunk's bytes are buffered
reg [CNT_W-1:0]       left_adv_reg;   // cnt_reg - need_reg: bytes left if the chunk leaves
reg                   room_adv_reg;   // left_adv_reg <= L: a beat fits if the chunk leaves
reg                   room_hold_reg;  // cnt_reg <= L: a beat fits if it stays
// the same conditions for the first chunk of a row (constant per packet)
reg                   first_last_reg;
reg [LANE_W-1:0]      first_need_reg;
reg [LANE_W-1:0]      second_need_reg; // need_after_reg at a row's first chunk
reg                   first_in_win_reg;
reg                   first_at_c_last_reg;

// window chunk bounds of the configuration being started
// last column of the window (the caller guarantees 1 <= win_cnt, win_lo + win_cnt <= row_len)
wire [LEN_WIDTH-1:0] cfg_win_end = cfg_win_lo + cfg_win_cnt - 1'b1;
wire [LEN_WIDTH-1:0] cfg_c_lo = cfg_win_lo >> SHIFT;
wire [LEN_WIDTH-1:0] cfg_c_last = cfg_win_end >> SHIFT;
wire [LANE_W-1:0] cfg_last_lanes = {1'b0, cfg_win_end[SHIFT-1:0]} + 1'b1;
wire cfg_first_last = cfg_row_len <= L[LEN_WIDTH-1:0];
wire [LANE_W-1:0] cfg_first_need = cfg_first_last ? cfg_row_len[LANE_W-1:0] : L[LANE_W-1:0];
// the row's second chunk (or the next row's first, for a one-chunk row); the constants are
// compared at LEN_WIDTH+2 bits so that 2L and 3L never wrap
wire [LEN_WIDTH+1:0] cfg_row_len_x = {2'b00, cfg_row_len};
wire [LANE_W-1:0] cfg_second_need = cfg_first_last ? cfg_first_need
                                  : cfg_row_len_x <= L2[LEN_WIDTH+1:0]
                                    ? cfg_row_len[LANE_W-1:0] - L[LANE_W-1:0] : L[LANE_W-1:0];

reg [L-1:0] cfg_last_keep;
integer i;
always @* begin
    for (i = 0; i < L; i = i + 1) begin
        cfg_last_keep[i] = i < cfg_last_lanes;
    end
end

// this cycle: one LUT level of decisions from the registered conditions
wire advance = busy_reg && have_reg && (!in_win_reg || m_axis_tready);
wire room = advance ? room_adv_reg : room_hold_reg;
wire accept = busy_reg && room && s_axis_tvalid;

// the next chunk's conditions if this one leaves (from registers, in parallel with advance);
// within a row the next chunk has rem_reg - L bytes left and the one after it rem_reg - 2L
wire [LEN_WIDTH+1:0] rem_x = {2'b00, rem_reg};
wire rem_le_2l = rem_x <= L2[LEN_WIDTH+1:0];
wire rem_le_3l = rem_x <= L3[LEN_WIDTH+1:0];
// rem_reg - 2L when that is 1..L (2L is 0 modulo 2^LANE_W, so the low bits are the value)
wire [LANE_W-1:0] rem_m_2l = rem_reg[LANE_W-1:0];
wire [LANE_W-1:0] need_after_next = rem_le_2l ? first_need_reg
                                  : rem_le_3l ? rem_m_2l : L[LANE_W-1:0];

// byte-count conditions of the next cycle for each (advance, accept) case, selected at the end:
// (0,0) unchanged; (0,1) cnt+L; (1,0) cnt-need; (1,1) cnt-need+L. Operands are in range in the
// cases that are selected (accept implies the sum is at most 2L, advance implies need <= cnt).
wire [CNT_W-1:0] c_l = L[CNT_W-1:0];
wire [CNT_W-1:0] need_w = {{CNT_W-LANE_W{1'b0}}, need_reg};
wire [CNT_W-1:0] need_after_w = {{CNT_W-LANE_W{1'b0}}, need_after_reg};
wire [CNT_W-1:0] cnt_01 = cnt_reg + c_l;
wire [CNT_W-1:0] cnt_11 = left_adv_reg + c_l;

reg [CNT_W-1:0] cnt_next;
reg [CNT_W-1:0] left_adv_next;
reg have_next;
reg room_adv_next;
reg room_hold_next;

always @* begin
    case ({advance, accept})
        2'b00: begin
            cnt_next = cnt_reg;
            left_adv_next = left_adv_reg;
            have_next = have_reg;
            room_adv_next = room_adv_reg;
            room_hold_next = room_hold_reg;
        end
        2'b01: begin
            cnt_next = cnt_01;
            left_adv_next = left_adv_reg + c_l;
            have_next = need_w <= cnt_01;
            room_adv_next = cnt_reg <= need_w;
            room_hold_next = cnt_reg == {CNT_W{1'b0}};
        end
        2'b10: begin
            cnt_next = left_adv_reg;
            left_adv_next = left_adv_reg - need_after_w;
            have_next = need_after_w <= left_adv_reg;
            room_adv_next = left_adv_reg <= need_after_w + c_l;
            room_hold_next = left_adv_reg <= c_l;
        end
        default: begin
            cnt_next = cnt_11;
            left_adv_next = cnt_11 - need_after_w;
            have_next = need_after_w <= cnt_11;
            room_adv_next = left_adv_reg <= need_after_w;
            room_hold_next = left_adv_reg == {CNT_W{1'b0}};
        end
    endcase
end

// lane mask: lanes below `lanes`
wire [L-1:0] lane_keep = at_c_last_reg ? last_keep_reg : {L{1'b1}};
reg [DATA_WIDTH-1:0] lane_mask;
always @* begin
    for (i = 0; i < L; i = i + 1) begin
        lane_mask[i*8 +: 8] = {8{lane_keep[i]}};
    end
end

assign busy = busy_reg;
assign s_axis_tready = busy_reg && room;

assign m_axis_tdata = buf_reg[DATA_WIDTH-1:0] & lane_mask;
assign m_axis_tkeep = lane_keep;
assign m_axis_tvalid = busy_reg && have_reg && in_win_reg;
assign m_axis_tlast = last_row_reg && at_c_last_reg;
assign m_axis_tuser = {row_reg, col_reg};
assign m_axis_lanes = at_c_last_reg ? last_lanes_reg : L[LANE_W-1:0];

// buffer update: drop the chunk's bytes if it leaves, append the accepted beat at the new fill
// level; both shifts are computed for both cases from registers and selected at the end
wire [2*DATA_WIDTH-1:0] shifted = buf_reg >> {need_reg, 3'b000};
// (a beat is accepted only when the fill level is at most L, so LANE_W bits of it suffice)
wire [LANE_W-1:0] at_adv = left_adv_reg[LANE_W-1:0];
wire [LANE_W-1:0] at_hold = cnt_reg[LANE_W-1:0];
wire [2*DATA_WIDTH-1:0] app_adv = {{DATA_WIDTH{1'b0}}, s_axis_tdata} << {at_adv, 3'b000};
wire [2*DATA_WIDTH-1:0] app_hold = {{DATA_WIDTH{1'b0}}, s_axis_tdata} << {at_hold, 3'b000};
wire [2*DATA_WIDTH-1:0] kept = advance ? shifted : buf_reg;
wire [2*DATA_WIDTH-1:0] appended = advance ? app_adv : app_hold;

always @(posedge clk) begin
    if (busy_reg) begin
        buf_reg <= accept ? (kept | appended) : kept;
        cnt_reg <= cnt_next;
        left_adv_reg <= left_adv_next;
        have_reg <= have_next;
        room_adv_reg <= room_adv_next;
        room_hold_reg <= room_hold_next;

        if (advance) begin
            need_reg <= need_after_reg;
            if (last_chunk_reg) begin
                need_after_reg <= second_need_reg;
                rem_reg <= row_len_reg;
                chunk_reg <= {LEN_WIDTH{1'b0}};
                col_reg <= neg_c_lo_reg;
                row_reg <= row_reg + 1'b1;
                last_chunk_reg <= first_last_reg;
                in_win_reg <= first_in_win_reg;
                at_c_last_reg <= first_at_c_last_reg;
                last_row_reg <= row_reg == rows_m2_reg;
                if (last_row_reg) begin
                    busy_reg <= 1'b0;
                end
            end else begin
                rem_reg <= rem_reg - L[LEN_WIDTH-1:0];
                chunk_reg <= chunk_reg + 1'b1;
                col_reg <= col_reg + 1'b1;
                last_chunk_reg <= rem_le_2l;
                need_after_reg <= need_after_next;
                in_win_reg <= in_win_reg ? !at_c_last_reg : chunk_reg == c_lo_m1_reg;
                at_c_last_reg <= chunk_reg == c_last_m1_reg;
            end
        end
    end else begin
        // idle: follow the configuration inputs every cycle, so that only busy_reg depends on
        // cfg_start (the configuration is the inputs' value in the cycle cfg_start is high)
        busy_reg <= cfg_start;
        buf_reg <= {2*DATA_WIDTH{1'b0}};
        cnt_reg <= {CNT_W{1'b0}};
        rows_m2_reg <= cfg_rows - 1'b1 - 1'b1;
        row_reg <= {ROW_WIDTH{1'b0}};
        row_len_reg <= cfg_row_len;
        rem_reg <= cfg_row_len;
        chunk_reg <= {LEN_WIDTH{1'b0}};
        col_reg <= -cfg_c_lo;
        neg_c_lo_reg <= -cfg_c_lo;
        c_lo_m1_reg <= cfg_c_lo - 1'b1;
        c_last_m1_reg <= cfg_c_last - 1'b1;
        last_lanes_reg <= cfg_last_lanes;
        last_keep_reg <= cfg_last_keep;

        last_chunk_reg <= cfg_first_last;
        need_reg <= cfg_first_need;
        need_after_reg <= cfg_second_need;
        in_win_reg <= cfg_c_lo == {LEN_WIDTH{1'b0}};
        at_c_last_reg <= cfg_c_last == {LEN_WIDTH{1'b0}};
        last_row_reg <= cfg_rows == {{ROW_WIDTH-1{1'b0}}, 1'b1};
        have_reg <= cfg_first_need == {LANE_W{1'b0}};
        left_adv_reg <= -{{CNT_W-LANE_W{1'b0}}, cfg_first_need};
        room_adv_reg <= 1'b1;
        room_hold_reg <= 1'b1;

        first_last_reg <= cfg_first_last;
        first_need_reg <= cfg_first_need;
        second_need_reg <= cfg_second_need;
        first_in_win_reg <= cfg_c_lo == {LEN_WIDTH{1'b0}};
        first_at_c_last_reg <= cfg_c_last == {LEN_WIDTH{1'b0}};
    end

    if (rst) begin
        busy_reg <= 1'b0;
    end
end

endmodule

`resetall
