/*
 * drain: streams rows x cnt int32 of one accumulator bank out as one AXI-Stream packet.
 *
 * The int32 are emitted row-major, little-endian, packed across rows (row r+1 starts
 * right after the last int32 of row r, in the same beat); the last beat has a partial
 * tkeep when rows*cnt is not a multiple of Q = DATA_WIDTH/32, and tlast.
 *
 * Reader: one group of Q int32 (up to Q; fewer at a row's end) per cycle from the
 * accumulator read port, which is registered at both ends: the reader gives the address it
 * will read next cycle (rd_next_*, its next state: bank, word, group and row), and the
 * group arrives on rd_data the cycle after the read. That is the cycle today's group
 * register would have held it, so a group not taken by the packer that cycle is kept in a
 * one-entry holding register (hold_reg) and the reader issues exactly when it did with an
 * asynchronous read port: the output timing is cycle-for-cycle the same.
 * Epilogue (DRAIN_Q, cmd_q): the reader reads groups of EPI_LANES int32 (rd_qdata; up to a
 * whole accumulator word) instead of Q; each group (gqdata: qhold_reg or rd_qdata, with
 * gqcnt_reg/glast_reg) goes into a stage that reads the group's parameters (ep_rd_*:
 * epi_params, registered read; the row sum is registered with the group at its read), then
 * through the requantization lanes (epilogue.v, EPI_LANES results per cycle), then a byte
 * packer: rows x cnt bytes, dense, packed across rows, last beat partial tkeep, tlast. With
 * EPI_LANES = L (DATA_WIDTH/8) an int8 drain emits a full beat per cycle.
 * A command of the other kind (DRAIN after DRAIN_Q or back) is not taken while anything is
 * in flight (the sequencer waits on busy and q_mode), so packets stay in order; the int32
 * path is the same logic, cycle for cycle, as without the epilogue.
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
    parameter CNT_WIDTH = 16,
    // requantization lanes of DRAIN_Q (int32 read and 8-bit results per cycle): a power of
    // two from Q = DATA_WIDTH/32 (the int32 drain's rate) to L = DATA_WIDTH/8 (a beat per cycle)
    parameter EPI_LANES = DATA_WIDTH / 32
)
(
    input  wire                     clk,
    input  wire                     rst,

    // command: accepted when cmd_valid is high and rd_busy is low
    input  wire                     cmd_valid,
    input  wire                     cmd_bank,
    input  wire [ROW_WIDTH-1:0]     cmd_rows,   // >= 1
    input  wire [CNT_WIDTH-1:0]     cmd_cnt,    // int32 per row, >= 1
    input  wire                     cmd_q,      // DRAIN_Q: through the epilogue, 8-bit results
    output wire                     rd_busy,    // the reader is using bank rd_bank
    output wire                     busy,       // anything in flight, including the output
    output wire                     q_mode,     // the last command was a DRAIN_Q
    output wire [1:0]               epi_rd_busy, // per bank: a DRAIN_Q still reads its parameters

    // accumulator read port (registered: see above)
    output wire                     rd_bank,       // bank being read (for the sequencer)
    output wire                     rd_next_bank,
    output wire [CNT_WIDTH-1:0]     rd_next_word,
    output wire [1:0]               rd_next_grp,
    output wire [ROW_WIDTH-1:0]     rd_next_row,   // the row read next cycle
    input  wire [DATA_WIDTH-1:0]    rd_data,
    input  wire [EPI_LANES*32-1:0]  rd_qdata,      // DRAIN_Q: the group of EPI_LANES int32
    input  wire [31:0]              rd_rowsum,     // row sum of the row being read: rowsum
                                                   // registers rd_next_bank/rd_next_row

    // epilogue parameter read port (epi_params: data the cycle after ep_rd_en)
    output wire                     ep_rd_en,
    output wire                     ep_rd_bank,
    output wire [CNT_WIDTH-1:0]     ep_rd_grp,
    input  wire [EPI_LANES*32-1:0]  ep_bias,
    input  wire [EPI_LANES*32-1:0]  ep_scale,
    input  wire [15:0]              ep_zp,
    input  wire [15:0]              ep_lo,
    input  wire [15:0]              ep_hi,
    input  wire [15:0]              ep_bzp,

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
localparam E = EPI_LANES;
localparam ESHIFT = $clog2(E);
localparam EC_W = $clog2(2*E);          // DRAIN_Q group counts 1 .. E
localparam EG_MASK = DATA_WIDTH / 8 / E - 1;   // DRAIN_Q group within a word (L/E groups)
localparam EW_SHIFT = 2 + QSHIFT - ESHIFT;      // log2(L/E)
localparam L = DATA_WIDTH / 8;          // bytes per beat

// The packers' counts are a few bits wide; their sums are written as gates (a ripple of XOR
// and AND per bit) so that synthesis maps each sum bit into a LUT with the logic around it,
// where an adder operator would go through the carry chain, a level deeper.
function [QC_W-1:0] add_cnt(input [QC_W-1:0] a, input [QC_W-1:0] b);
    integer k;
    reg c;
    begin
        c = 1'b0;
        for (k = 0; k < QC_W; k = k + 1) begin
            add_cnt[k] = a[k] ^ b[k] ^ c;
            c = (a[k] & b[k]) | (c & (a[k] ^ b[k]));
        end
    end
endfunction

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
    if (E < Q || E > DATA_WIDTH / 8 || (E & (E - 1)) != 0) begin
        $error("Error: EPI_LANES must be a power of two in DATA_WIDTH/32 .. DATA_WIDTH/8 (instance %m)");
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
reg [ROW_WIDTH-1:0]  rows_m1_reg;   // rows - 1
reg                  last_row_reg;  // row_reg is the last row (row_reg == rows - 1)
reg [ROW_WIDTH-1:0]  row_reg;
reg [CNT_WIDTH-1:0]  g_reg;         // group index within the row
reg [CNT_WIDTH-1:0]  g_last_reg;    // last group index of a row
reg [QC_W-1:0]       last_cnt_reg;       // int32 in a row's last group
reg [EC_W-1:0]       qlast_cnt_reg;      // DRAIN_Q: int32 in a row's last group

// the group between reader and packer: on rd_data the cycle after its read (rv_reg), then
// in hold_reg while the packer does not take it (hv_reg); never both
reg                  rv_reg;
reg                  hv_reg;
reg [DATA_WIDTH-1:0] hold_reg;
reg [QC_W-1:0]       gcnt_reg;
reg [E*32-1:0]       qhold_reg;    // DRAIN_Q: the group held (as hold_reg)
reg [EC_W-1:0]       gqcnt_reg;
reg                  glast_reg;
reg                  q_reg;        // the command (and every group in flight) is a DRAIN_Q
reg [31:0]           grs_reg;      // the group's row sum (DRAIN_Q)
reg [CNT_WIDTH-1:0]  gidx_reg;     // the group's index in its row (its parameters' address)
reg                  gbank_reg;    // the group's bank
wire                 gv = rv_reg || hv_reg;   // a group waits for the packer
wire [DATA_WIDTH-1:0] gdata = hv_reg ? hold_reg : rd_data;
wire [E*32-1:0]      gqdata = hv_reg ? qhold_reg : rd_qdata;

// the reader's next state (also the read port's next address)
reg                  bank_next;
(* keep *) reg [ROW_WIDTH-1:0] row_next;  // kept: see issue below
reg [CNT_WIDTH-1:0]  g_next;

// packer
reg [DATA_WIDTH-1:0] lo_reg;       // < Q leftover int32
reg [QC_W-1:0]       lo_cnt_reg;
reg                  flush_reg;                  // leftover of a finished packet to emit
reg                  ipend_reg;                  // lo_cnt_reg != 0 || flush_reg

reg [DATA_WIDTH-1:0] out_tdata_reg;
reg [KEEP_WIDTH-1:0] out_tkeep_reg;
reg                  out_tvalid_reg;
reg                  out_tlast_reg;
wire                 out_tready;

wire [CNT_WIDTH-1:0] cmd_cnt_m1 = cmd_cnt - 1'b1;

wire out_free = !out_tvalid_reg || out_tready;
wire ep0_ready;
wire g_take32 = gv && !q_reg && !flush_reg && out_free;
wire g_take_q = gv && q_reg && ep0_ready;
wire g_take = q_reg ? g_take_q : g_take32;
wire g_free = !gv || g_take;
// kept (as are both candidates of the next read address and row, and the selected one,
// below): the synthesis keeps these nets, so the ready chain ends in `issue`, the next
// address is one LUT after it and the read port's address registers one more (the mapper
// otherwise spread the select over the address logic: four levels after issue on PYNQ-Z2)
(* keep *) wire issue = active_reg && g_free;
wire row_end = g_reg == g_last_reg;
wire last_row = last_row_reg;

assign rd_busy = active_reg;
assign rd_bank = bank_reg;
assign rd_next_bank = bank_next;
// The reader's next state, with `issue` (the end of the output ready chain: skid -> packer or
// epilogue -> group free) as the last select: both outcomes are formed from registers, so
// issue is one LUT from the read port's address registers (mac_array, rowsum). The idle
// reader holds row 0, group 0 (its last issue leaves them so, as does reset), which is where
// a command starts: the read address therefore never depends on the command inputs, whose
// valid comes through the sequencer's decisions (only the bank does). issue needs
// active_reg and a command start needs !active_reg: never both.
wire cmd_start = !active_reg && cmd_valid;
wire [CNT_WIDTH-1:0] g_iss = row_end ? {CNT_WIDTH{1'b0}} : g_reg + 1'b1;
(* keep *) wire [ROW_WIDTH-1:0] row_iss = !row_end ? row_reg
                                          : last_row ? {ROW_WIDTH{1'b0}} : row_reg + 1'b1;
wire [CNT_WIDTH-1:0] g_hold = g_reg;
(* keep *) wire [ROW_WIDTH-1:0] row_hold = row_reg;
// the next read's mode: a DRAIN_Q group is E int32 (L/E per word), a DRAIN group Q (4 per word);
// with issue the mode is q_reg (a command only starts while the reader is idle); idle, the
// group is 0 in either mode
(* keep *) wire [CNT_WIDTH-1:0] word_iss = q_reg ? g_iss >> EW_SHIFT : g_iss >> 2;
(* keep *) wire [1:0] grp_iss = q_reg ? g_iss[1:0] & EG_MASK[1:0] : g_iss[1:0];
(* keep *) wire [CNT_WIDTH-1:0] word_hold = q_reg ? g_hold >> EW_SHIFT : g_hold >> 2;
(* keep *) wire [1:0] grp_hold = q_reg ? g_hold[1:0] & EG_MASK[1:0] : g_hold[1:0];
(* keep *) wire [CNT_WIDTH-1:0] next_word = issue ? word_iss : word_hold;
(* keep *) wire [1:0] next_grp = issue ? grp_iss : grp_hold;
assign rd_next_word = next_word;
assign rd_next_grp = next_grp;
assign rd_next_row = row_next;

always @* begin
    // idle, the reader follows the command's bank whether or not a command is given (nothing
    // reads it until one starts), so the read port's bank does not wait for the command's valid
    bank_next = active_reg ? bank_reg : cmd_bank;
    row_next = issue ? row_iss : row_hold;
    g_next = issue ? g_iss : g_hold;
end

always @(posedge clk) begin
    bank_reg <= bank_next;
    row_reg <= row_next;
    g_reg <= g_next;

    if (issue) begin
        gcnt_reg <= row_end ? last_cnt_reg : Q[QC_W-1:0];
        gqcnt_reg <= row_end ? qlast_cnt_reg : E[EC_W-1:0];
        glast_reg <= row_end && last_row;
        grs_reg <= rd_rowsum;
        gidx_reg <= g_reg;
        gbank_reg <= bank_reg;
        if (row_end && last_row) begin
            active_reg <= 1'b0;
        end
        if (row_end) begin
            last_row_reg <= row_reg + 1'b1 == rows_m1_reg;
        end
    end
    rv_reg <= issue;
    if (rv_reg) begin
        hold_reg <= rd_data;
        qhold_reg <= rd_qdata;
    end
    hv_reg <= gv && !g_take;

    if (cmd_start) begin
        active_reg <= 1'b1;
        q_reg <= cmd_q;
        rows_m1_reg <= cmd_rows - 1'b1;
        last_row_reg <= cmd_rows == 1;
        g_last_reg <= cmd_q ? cmd_cnt_m1 >> ESHIFT : cmd_cnt_m1 >> QSHIFT;
        last_cnt_reg <= (cmd_cnt_m1[QC_W-1:0] & (Q[QC_W-1:0] - 1'b1)) + 1'b1;
        qlast_cnt_reg <= (cmd_cnt_m1[EC_W-1:0] & (E[EC_W-1:0] - 1'b1)) + 1'b1;
    end

    if (rst) begin
        active_reg <= 1'b0;
        q_reg <= 1'b0;
        rv_reg <= 1'b0;
        hv_reg <= 1'b0;
        bank_reg <= 1'b0;
        row_reg <= {ROW_WIDTH{1'b0}};
        g_reg <= {CNT_WIDTH{1'b0}};
    end
end

integer i;

/*
 * Epilogue (DRAIN_Q): parameter read stage, requantization lanes, byte packer
 */
reg                  ep0_v_reg;
reg [E*32-1:0]       ep0_acc_reg;
reg [31:0]           ep0_rs_reg;
reg [EC_W-1:0]       ep0_cnt_reg;
reg                  ep0_last_reg;
wire                 ep_s_ready;
wire                 ep_busy;
wire                 ep_m_valid;
wire                 ep_m_ready;
wire [E*8-1:0]       ep_m_data;
wire [EC_W-1:0]      ep_m_cnt;
wire                 ep_m_last;

assign ep0_ready = !ep0_v_reg || ep_s_ready;
assign ep_rd_en = ep0_ready;
assign ep_rd_bank = gbank_reg;
assign ep_rd_grp = gidx_reg;

always @(posedge clk) begin
    if (ep0_ready) begin
        ep0_v_reg <= g_take_q;
        ep0_acc_reg <= gqdata;
        ep0_rs_reg <= grs_reg;
        ep0_cnt_reg <= gqcnt_reg;
        ep0_last_reg <= glast_reg;
    end
    if (rst) begin
        ep0_v_reg <= 1'b0;
    end
end

epilogue #(
    .LANES(E),
    .USER_WIDTH(EC_W + 1)
)
epi_inst (
    .clk(clk),
    .rst(rst),
    .s_acc(ep0_acc_reg),
    .s_bias(ep_bias),
    .s_scale(ep_scale),
    .s_rowsum(ep0_rs_reg),
    .s_bzp(ep_bzp),
    .s_zp(ep_zp),
    .s_lo(ep_lo),
    .s_hi(ep_hi),
    .s_user({ep0_cnt_reg, ep0_last_reg}),
    .s_valid(ep0_v_reg),
    .s_ready(ep_s_ready),
    .busy(ep_busy),
    .m_data(ep_m_data),
    .m_user({ep_m_cnt, ep_m_last}),
    .m_valid(ep_m_valid),
    .m_ready(ep_m_ready)
);

// byte packer: like the int32 packer below, with bytes and L per beat
localparam QB_W = $clog2(2*L);          // holds 0 .. 2L-1

localparam LB = $clog2(L);               // bits of a leftover byte count (< L)
localparam [L-1:0] BLO_OH0 = 1;         // blo_oh_reg of a count of 0
// The byte packer's sum (leftover + group count, < 2L) as a constant table indexed by both
// counts (LB + EC_W bits): each bit of the sum, and bfull, its top bit, is a small function
// of those bits, where gates (as add_cnt) were mapped into a ripple of LUTs here.
function [QB_W*(2**(LB+EC_W))-1:0] bsum_table(input integer unused);
    integer a;
    integer b;
    begin
        bsum_table = {QB_W*(2**(LB+EC_W)){1'b0}};
        for (a = 0; a < 2**LB; a = a + 1) begin
            for (b = 0; b < 2**EC_W; b = b + 1) begin
                bsum_table[(a*(2**EC_W)+b)*QB_W +: QB_W] = a[QB_W-1:0] + b[QB_W-1:0];
            end
        end
    end
endfunction
localparam [QB_W*(2**(LB+EC_W))-1:0] BSUM = bsum_table(0);

reg [DATA_WIDTH-1:0] blo_reg;           // < L leftover bytes
reg [LB-1:0]         blo_cnt_reg;
reg [L-1:0]          blo_oh_reg;         // one-hot of blo_cnt_reg (the packer's byte selects)
reg                  bflush_reg;
reg                  bpend_reg;          // blo_cnt_reg != 0 || bflush_reg
reg [KEEP_WIDTH-1:0] bkeep_total;

wire b_take = ep_m_valid && !bflush_reg && out_free;
wire [QB_W-1:0] btotal = BSUM[{blo_cnt_reg, ep_m_cnt}*QB_W +: QB_W];
// bcomb: the leftover (its bytes from blo_cnt on are zero) with the group appended. Byte j is
// the leftover's or group byte k = j - blo_cnt (k < the group's count); the selects bsel are
// one LUT of registers (blo_cnt kept one-hot in blo_oh_reg, the group's count) and kept, so a
// data byte passes an AND-OR of E candidates rather than a shifter.
(* keep *) reg [2*L*E-1:0] bsel;
reg [2*DATA_WIDTH-1:0] bcomb;
integer bj;
integer bk;
always @* begin
    for (bj = 0; bj < 2*L; bj = bj + 1) begin
        bcomb[bj*8 +: 8] = bj < L ? blo_reg[bj*8 +: 8] : 8'd0;
        for (bk = 0; bk < E; bk = bk + 1) begin
            bsel[bj*E+bk] = bj >= bk && bj - bk < L && blo_oh_reg[(bj - bk) % L] && bk < ep_m_cnt;
            bcomb[bj*8 +: 8] = bcomb[bj*8 +: 8] | (ep_m_data[bk*8 +: 8] & {8{bsel[bj*E+bk]}});
        end
    end
end
wire bfull = btotal[QB_W-1];           // btotal >= L (btotal < 2L)
// the formed beat's tkeep: the leftover's bytes, then the group's shifted like its data, so
// the keep is not a compare against the counts' sum
reg [KEEP_WIDTH-1:0] blo_keep;
reg [KEEP_WIDTH-1:0] bgrp_keep;         // bits E and up are 0

assign ep_m_ready = !bflush_reg && out_free;

always @* begin
    for (i = 0; i < KEEP_WIDTH; i = i + 1) begin
        bgrp_keep[i] = i < E && i < ep_m_cnt;
        blo_keep[i] = i < blo_cnt_reg;
    end
    bkeep_total = blo_keep | (bgrp_keep << blo_cnt_reg);
end

/*
 * Packer
 */
reg [DATA_WIDTH-1:0] gmask;
reg [KEEP_WIDTH-1:0] keep_total;

wire [QC_W-1:0] total = add_cnt(lo_cnt_reg, gcnt_reg);
wire [2*DATA_WIDTH-1:0] comb = {{DATA_WIDTH{1'b0}}, lo_reg}
                               | ({{DATA_WIDTH{1'b0}}, gdata & gmask} << {lo_cnt_reg, 5'd0});
wire full_beat = total[QC_W-1];        // total >= Q (total < 2Q)
// the formed beat's tkeep, per int32 (as the byte packer's)
reg [Q-1:0] lo_keep;
reg [Q-1:0] grp_keep;
reg [KEEP_WIDTH-1:0] lo_keep_b;         // lo_keep per byte
wire [Q-1:0] keep_comb = lo_keep | (grp_keep << lo_cnt_reg);

always @* begin
    for (i = 0; i < Q; i = i + 1) begin
        grp_keep[i] = i < gcnt_reg;
        lo_keep[i] = i < lo_cnt_reg;
        gmask[i*32 +: 32] = {32{grp_keep[i]}};
        keep_total[i*4 +: 4] = {4{keep_comb[i]}};
        lo_keep_b[i*4 +: 4] = {4{lo_keep[i]}};
    end
end

// The output register. Whenever it is free (out_free: empty, or its beat is taken this
// cycle) it loads the beat the packers form this cycle - the leftover on a flush (the last
// select), else the leftover with the group appended - and tvalid says whether that beat
// is emitted (a full beat, a packet's last, a flush). Its data and keep so never depend on
// the emit decision: the decision (full_beat / bfull, a carry-free sum of two small counts)
// reaches tvalid, tlast and the leftover registers only. A full beat's keep is all ones:
// leftover and group cover it.
always @(posedge clk) begin
    if (out_free) begin
        if (q_reg) begin
            out_tdata_reg <= bflush_reg ? blo_reg : bcomb[DATA_WIDTH-1:0];
            out_tkeep_reg <= bflush_reg ? blo_keep : bkeep_total;
            out_tlast_reg <= bflush_reg || (ep_m_last && (!bfull || btotal[LB-1:0] == 0));
            out_tvalid_reg <= bflush_reg || (ep_m_valid && (bfull || ep_m_last));
        end else begin
            out_tdata_reg <= flush_reg ? lo_reg : comb[DATA_WIDTH-1:0];
            out_tkeep_reg <= flush_reg ? lo_keep_b : keep_total;
            out_tlast_reg <= flush_reg || (glast_reg && (!full_beat || total == Q[QC_W-1:0]));
            out_tvalid_reg <= flush_reg || (gv && (full_beat || glast_reg));
        end
    end

    // the leftovers (DRAIN_Q: the byte packer; the int32 packer is empty, and back)
    if (q_reg) begin
        if (bflush_reg && out_free) begin
            blo_reg <= {DATA_WIDTH{1'b0}};
            blo_cnt_reg <= {LB{1'b0}};
            blo_oh_reg <= BLO_OH0;
            bflush_reg <= 1'b0;
            bpend_reg <= 1'b0;
        end else if (b_take) begin
            if (bfull) begin
                blo_reg <= bcomb[2*DATA_WIDTH-1:DATA_WIDTH];
                blo_cnt_reg <= btotal[LB-1:0];                // btotal - L (L <= btotal < 2L)
                blo_oh_reg <= BLO_OH0 << btotal[LB-1:0];
                bflush_reg <= ep_m_last && btotal[LB-1:0] != 0;
                bpend_reg <= btotal[LB-1:0] != 0;
            end else if (ep_m_last) begin
                blo_reg <= {DATA_WIDTH{1'b0}};
                blo_cnt_reg <= {LB{1'b0}};
                blo_oh_reg <= BLO_OH0;
                bpend_reg <= 1'b0;
            end else begin
                blo_reg <= bcomb[DATA_WIDTH-1:0];
                blo_cnt_reg <= btotal[LB-1:0];                // btotal < L
                blo_oh_reg <= BLO_OH0 << btotal[LB-1:0];
                bpend_reg <= 1'b1;                            // btotal >= 1
            end
        end
    end else if (flush_reg && out_free) begin
        lo_reg <= {DATA_WIDTH{1'b0}};
        lo_cnt_reg <= {QC_W{1'b0}};
        flush_reg <= 1'b0;
        ipend_reg <= 1'b0;
    end else if (g_take32) begin
        if (full_beat) begin
            lo_reg <= comb[2*DATA_WIDTH-1:DATA_WIDTH];
            lo_cnt_reg <= total ^ Q[QC_W-1:0];              // total - Q (Q <= total < 2Q)
            flush_reg <= glast_reg && total != Q[QC_W-1:0];
            ipend_reg <= total != Q[QC_W-1:0];
        end else if (glast_reg) begin
            lo_reg <= {DATA_WIDTH{1'b0}};
            lo_cnt_reg <= {QC_W{1'b0}};
            ipend_reg <= 1'b0;
        end else begin
            lo_reg <= comb[DATA_WIDTH-1:0];
            lo_cnt_reg <= total;
            ipend_reg <= 1'b1;                              // total >= 1
        end
    end

    if (rst) begin
        lo_reg <= {DATA_WIDTH{1'b0}};
        lo_cnt_reg <= {QC_W{1'b0}};
        flush_reg <= 1'b0;
        blo_reg <= {DATA_WIDTH{1'b0}};
        blo_cnt_reg <= {LB{1'b0}};
        blo_oh_reg <= BLO_OH0;
        bflush_reg <= 1'b0;
        ipend_reg <= 1'b0;
        bpend_reg <= 1'b0;
        out_tvalid_reg <= 1'b0;
    end
end

// busy: an OR of flags that are registers (ipend_reg, bpend_reg: a packer holds a leftover
// or owes a flush; the epilogue's busy), in two kept parts of at most five, so the sequencer's
// decision to start a drain of the other kind sees it two LUTs after the registers
(* keep *) wire busy_rd = active_reg || rv_reg || hv_reg || ep0_v_reg;
(* keep *) wire busy_out = out_tvalid_reg || m_axis_tvalid || ipend_reg || bpend_reg || ep_busy;
assign busy = busy_rd || busy_out;
assign q_mode = q_reg;
assign epi_rd_busy[0] = q_reg && ((active_reg && !bank_reg) || (gv && !gbank_reg));
assign epi_rd_busy[1] = q_reg && ((active_reg && bank_reg) || (gv && gbank_reg));

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
