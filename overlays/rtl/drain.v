/*
 * drain: streams rows x cnt int32 of one accumulator bank out as one AXI-Stream packet.
 *
 * The int32 are emitted row-major, little-endian, packed across rows (row r+1 starts
 * right after the last int32 of row r, in the same beat); the last beat has a partial
 * tkeep when rows*cnt is not a multiple of Q = DATA_WIDTH/32, and tlast.
 *
 * Reader: one group of Q int32 (up to Q; fewer at a row's end) per cycle from the
 * accumulator read port, which is registered at both ends: the reader gives the address it
 * will read next cycle (rd_next_*, its next state) and the row it reads (rd_row), and the
 * group arrives on rd_data the cycle after the read. That is the cycle today's group
 * register would have held it, so a group not taken by the packer that cycle is kept in a
 * one-entry holding register (hold_reg) and the reader issues exactly when it did with an
 * asynchronous read port: the output timing is cycle-for-cycle the same.
 * Epilogue slot: the packer's input (gdata: hold_reg or rd_data, with gcnt_reg/glast_reg)
 * is the stage boundary where a per-group requantization pipeline (bias, scale, round,
 * clamp, int8 pack) would be inserted, as its own registered stages with valid/ready.
 * Packer: appends each group to a
 * leftover of < Q int32 and emits a beat whenever Q are available, so with rows that are
 * a multiple of Q the output is one beat per cycle; a row end that is not costs one
 * partial group. Output through a skid buffer (registered tready/tvalid).
 * rd_busy is high while the reader is using the bank; a new command may start as soon as
 * it is low (the previous packet's tail is still being packed: packets stay in order).
 */

`resetall
`timescale 1ns / 1ps
`default_nettype none

module drain #
(
    // Output stream width in bits: 32, 64, 128 or 256 (Q = DATA_WIDTH/32 int32 per beat)
    parameter DATA_WIDTH = 64,
    // Width of tkeep
    parameter KEEP_WIDTH = DATA_WIDTH/8,
    // Width of the row count and row index
    parameter ROW_WIDTH = 8,
    // Width of the int32 count per row and the word index
    parameter CNT_WIDTH = 16
)
(
    input  wire                     clk,
    input  wire                     rst,

    // command: accepted when cmd_valid is high and rd_busy is low
    input  wire                     cmd_valid,
    input  wire                     cmd_bank,
    input  wire [ROW_WIDTH-1:0]     cmd_rows,   // >= 1
    input  wire [CNT_WIDTH-1:0]     cmd_cnt,    // int32 per row, >= 1
    output wire                     rd_busy,    // the reader is using bank rd_bank
    output wire                     busy,       // anything in flight, including the output

    // accumulator read port (registered: see above)
    output wire                     rd_bank,       // bank being read (for the sequencer)
    output wire                     rd_next_bank,
    output wire [CNT_WIDTH-1:0]     rd_next_word,
    output wire [1:0]               rd_next_grp,
    output wire [ROW_WIDTH-1:0]     rd_row,
    input  wire [DATA_WIDTH-1:0]    rd_data,

    // output stream
    output wire [DATA_WIDTH-1:0]    m_axis_tdata,
    output wire [KEEP_WIDTH-1:0]    m_axis_tkeep,
    output wire                     m_axis_tvalid,
    input  wire                     m_axis_tready,
    output wire                     m_axis_tlast
);

localparam Q = DATA_WIDTH / 32;
localparam QSHIFT = $clog2(Q);
localparam QC_W = $clog2(2*Q);          // holds 0 .. 2Q-1 (group counts 1 .. Q too)

// check configuration
initial begin
    if (DATA_WIDTH != 32 && DATA_WIDTH != 64 && DATA_WIDTH != 128 && DATA_WIDTH != 256) begin
        $error("Error: DATA_WIDTH must be 32, 64, 128 or 256 (instance %m)");
        $finish;
    end
    if (KEEP_WIDTH * 8 != DATA_WIDTH) begin
        $error("Error: KEEP_WIDTH must be DATA_WIDTH/8 (instance %m)");
        $finish;
    end
    if (ROW_WIDTH < 1 || CNT_WIDTH < 3) begin
        $error("Error: ROW_WIDTH must be >= 1 and CNT_WIDTH >= 3 (instance %m)");
        $finish;
    end
end

/*
 * Reader
 */
reg                  active_reg;
reg                  bank_reg;
reg [ROW_WIDTH-1:0]  rows_reg;
reg [ROW_WIDTH-1:0]  row_reg;
reg [CNT_WIDTH-1:0]  g_reg;         // group index within the row
reg [CNT_WIDTH-1:0]  g_last_reg;    // last group index of a row
reg [QC_W-1:0]       last_cnt_reg;       // int32 in a row's last group

// the group between reader and packer: on rd_data the cycle after its read (rv_reg), then
// in hold_reg while the packer does not take it (hv_reg); never both
reg                  rv_reg;
reg                  hv_reg;
reg [DATA_WIDTH-1:0] hold_reg;
reg [QC_W-1:0]       gcnt_reg;
reg                  glast_reg;
wire                 gv = rv_reg || hv_reg;   // a group waits for the packer
wire [DATA_WIDTH-1:0] gdata = hv_reg ? hold_reg : rd_data;

// the reader's next state (also the read port's next address)
reg                  bank_next;
reg [ROW_WIDTH-1:0]  row_next;
reg [CNT_WIDTH-1:0]  g_next;

// packer
reg [DATA_WIDTH-1:0] lo_reg;       // < Q leftover int32
reg [QC_W-1:0]       lo_cnt_reg;
reg                  flush_reg;                  // leftover of a finished packet to emit

reg [DATA_WIDTH-1:0] out_tdata_reg;
reg [KEEP_WIDTH-1:0] out_tkeep_reg;
reg                  out_tvalid_reg;
reg                  out_tlast_reg;
wire                 out_tready;

wire [CNT_WIDTH-1:0] cmd_cnt_m1 = cmd_cnt - 1'b1;

wire out_free = !out_tvalid_reg || out_tready;
wire g_take = gv && !flush_reg && out_free;
wire g_free = !gv || g_take;
wire issue = active_reg && g_free;
wire row_end = g_reg == g_last_reg;
wire last_row = row_reg == rows_reg - 1'b1;

assign rd_busy = active_reg;
assign rd_bank = bank_reg;
assign rd_row = row_reg;
assign rd_next_bank = bank_next;
assign rd_next_word = g_next >> 2;
assign rd_next_grp = g_next[1:0];

always @* begin
    bank_next = bank_reg;
    row_next = row_reg;
    g_next = g_reg;
    if (issue) begin
        if (row_end) begin
            g_next = {CNT_WIDTH{1'b0}};
            row_next = row_reg + 1'b1;
        end else begin
            g_next = g_reg + 1'b1;
        end
    end
    if (!active_reg && cmd_valid) begin
        bank_next = cmd_bank;
        row_next = {ROW_WIDTH{1'b0}};
        g_next = {CNT_WIDTH{1'b0}};
    end
end

always @(posedge clk) begin
    bank_reg <= bank_next;
    row_reg <= row_next;
    g_reg <= g_next;

    if (issue) begin
        gcnt_reg <= row_end ? last_cnt_reg : Q[QC_W-1:0];
        glast_reg <= row_end && last_row;
        if (row_end && last_row) begin
            active_reg <= 1'b0;
        end
    end
    rv_reg <= issue;
    if (rv_reg) begin
        hold_reg <= rd_data;
    end
    hv_reg <= gv && !g_take;

    if (!active_reg && cmd_valid) begin
        active_reg <= 1'b1;
        rows_reg <= cmd_rows;
        g_last_reg <= cmd_cnt_m1 >> QSHIFT;
        last_cnt_reg <= (cmd_cnt_m1[QC_W-1:0] & (Q[QC_W-1:0] - 1'b1)) + 1'b1;
    end

    if (rst) begin
        active_reg <= 1'b0;
        rv_reg <= 1'b0;
        hv_reg <= 1'b0;
        bank_reg <= 1'b0;
        row_reg <= {ROW_WIDTH{1'b0}};
        g_reg <= {CNT_WIDTH{1'b0}};
    end
end

/*
 * Packer
 */
reg [DATA_WIDTH-1:0] gmask;
reg [KEEP_WIDTH-1:0] keep_total;
integer i;

wire [QC_W-1:0] total = lo_cnt_reg + gcnt_reg;
wire [2*DATA_WIDTH-1:0] comb = {{DATA_WIDTH{1'b0}}, lo_reg}
                               | ({{DATA_WIDTH{1'b0}}, gdata & gmask} << {lo_cnt_reg, 5'd0});
wire full_beat = total >= Q[QC_W-1:0];
wire [QC_W-1:0] keep_n = flush_reg ? lo_cnt_reg : total;

always @* begin
    for (i = 0; i < Q; i = i + 1) begin
        gmask[i*32 +: 32] = (i < gcnt_reg) ? 32'hffffffff : 32'h0;
        keep_total[i*4 +: 4] = (i < keep_n) ? 4'hf : 4'h0;
    end
end

always @(posedge clk) begin
    if (flush_reg && out_free) begin
        out_tdata_reg <= lo_reg;
        out_tkeep_reg <= keep_total;
        out_tlast_reg <= 1'b1;
        out_tvalid_reg <= 1'b1;
        lo_reg <= {DATA_WIDTH{1'b0}};
        lo_cnt_reg <= {QC_W{1'b0}};
        flush_reg <= 1'b0;
    end else if (g_take) begin
        if (full_beat) begin
            out_tdata_reg <= comb[DATA_WIDTH-1:0];
            out_tkeep_reg <= {KEEP_WIDTH{1'b1}};
            out_tlast_reg <= glast_reg && total == Q[QC_W-1:0];
            out_tvalid_reg <= 1'b1;
            lo_reg <= comb[2*DATA_WIDTH-1:DATA_WIDTH];
            lo_cnt_reg <= total - Q[QC_W-1:0];
            flush_reg <= glast_reg && total != Q[QC_W-1:0];
        end else if (glast_reg) begin
            out_tdata_reg <= comb[DATA_WIDTH-1:0];
            out_tkeep_reg <= keep_total;
            out_tlast_reg <= 1'b1;
            out_tvalid_reg <= 1'b1;
            lo_reg <= {DATA_WIDTH{1'b0}};
            lo_cnt_reg <= {QC_W{1'b0}};
        end else begin
            lo_reg <= comb[DATA_WIDTH-1:0];
            lo_cnt_reg <= total;
            if (out_tready) begin
                out_tvalid_reg <= 1'b0;
            end
        end
    end else if (out_tready) begin
        out_tvalid_reg <= 1'b0;
    end

    if (rst) begin
        lo_reg <= {DATA_WIDTH{1'b0}};
        lo_cnt_reg <= {QC_W{1'b0}};
        flush_reg <= 1'b0;
        out_tvalid_reg <= 1'b0;
    end
end

assign busy = active_reg || gv || lo_cnt_reg != 0 || flush_reg || out_tvalid_reg || m_axis_tvalid;

axis_skid #(
    .DATA_WIDTH(DATA_WIDTH),
    .KEEP_WIDTH(KEEP_WIDTH)
)
out_skid (
    .clk(clk),
    .rst(rst),
    .s_axis_tdata(out_tdata_reg),
    .s_axis_tkeep(out_tkeep_reg),
    .s_axis_tvalid(out_tvalid_reg),
    .s_axis_tready(out_tready),
    .s_axis_tlast(out_tlast_reg),
    .m_axis_tdata(m_axis_tdata),
    .m_axis_tkeep(m_axis_tkeep),
    .m_axis_tvalid(m_axis_tvalid),
    .m_axis_tready(m_axis_tready),
    .m_axis_tlast(m_axis_tlast)
);

endmodule

`resetall
