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
    output wire [ROW_WIDTH-1:0]     rd_row,
    output wire [ROW_WIDTH-1:0]     rd_next_row,   // the row read next cycle (rowsum's index)
    input  wire [DATA_WIDTH-1:0]    rd_data,
    input  wire [EPI_LANES*32-1:0]  rd_qdata,      // DRAIN_Q: the group of EPI_LANES int32
    input  wire [31:0]              rd_rowsum,     // row sum of (rd_bank, rd_row): rowsum
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
reg [ROW_WIDTH-1:0]  rows_reg;
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
wire last_row = row_reg == rows_reg - 1'b1;

assign rd_busy = active_reg;
assign rd_bank = bank_reg;
assign rd_row = row_reg;
assign rd_next_bank = bank_next;
// The reader's next state, with `issue` (the end of the output ready chain: skid -> packer or
// epilogue -> group free) as the last select: both outcomes are formed from registers and the
// command inputs, so issue is one LUT from the read port's address registers (mac_array,
// rowsum). issue needs active_reg and a command start needs !active_reg: never both.
wire cmd_start = !active_reg && cmd_valid;
wire [CNT_WIDTH-1:0] g_iss = row_end ? {CNT_WIDTH{1'b0}} : g_reg + 1'b1;
(* keep *) wire [ROW_WIDTH-1:0] row_iss = row_end ? row_reg + 1'b1 : row_reg;
wire [CNT_WIDTH-1:0] g_hold = cmd_start ? {CNT_WIDTH{1'b0}} : g_reg;
(* keep *) wire [ROW_WIDTH-1:0] row_hold = cmd_start ? {ROW_WIDTH{1'b0}} : row_reg;
// the next read's mode: a DRAIN_Q group is E int32 (L/E per word), a DRAIN group Q (4 per word);
// with issue the mode is q_reg (a command only starts while the reader is idle)
wire q_next = cmd_start ? cmd_q : q_reg;
(* keep *) wire [CNT_WIDTH-1:0] word_iss = q_reg ? g_iss >> EW_SHIFT : g_iss >> 2;
(* keep *) wire [1:0] grp_iss = q_reg ? g_iss[1:0] & EG_MASK[1:0] : g_iss[1:0];
(* keep *) wire [CNT_WIDTH-1:0] word_hold = q_next ? g_hold >> EW_SHIFT : g_hold >> 2;
(* keep *) wire [1:0] grp_hold = q_next ? g_hold[1:0] & EG_MASK[1:0] : g_hold[1:0];
(* keep *) wire [CNT_WIDTH-1:0] next_word = issue ? word_iss : word_hold;
(* keep *) wire [1:0] next_grp = issue ? grp_iss : grp_hold;
assign rd_next_word = next_word;
assign rd_next_grp = next_grp;
assign rd_next_row = row_next;

always @* begin
    bank_next = cmd_start ? cmd_bank : bank_reg;
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
    end
    rv_reg <= issue;
    if (rv_reg) begin
        hold_reg <= rd_data;
        qhold_reg <= rd_qdata;
    end
    hv_reg <= gv && !g_take;

    if (!active_reg && cmd_valid) begin
        active_reg <= 1'b1;
        q_reg <= cmd_q;
        rows_reg <= cmd_rows;
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

reg [DATA_WIDTH-1:0] blo_reg;           // < L leftover bytes
reg [QB_W-1:0]       blo_cnt_reg;
reg                  bflush_reg;
reg [E*8-1:0]        bmask;
reg [KEEP_WIDTH-1:0] bkeep_total;

wire [QB_W-1:0] ep_m_cnt_b;
generate
    if (QB_W > EC_W) begin : cnt_ext
        assign ep_m_cnt_b = {{QB_W-EC_W{1'b0}}, ep_m_cnt};
    end else begin : cnt_same
        assign ep_m_cnt_b = ep_m_cnt;
    end
endgenerate
wire b_take = ep_m_valid && !bflush_reg && out_free;
wire [QB_W-1:0] btotal = blo_cnt_reg + ep_m_cnt_b;
wire [2*DATA_WIDTH-1:0] bcomb = {{DATA_WIDTH{1'b0}}, blo_reg}
                                | ({{2*DATA_WIDTH-E*8{1'b0}}, ep_m_data & bmask} << {blo_cnt_reg, 3'd0});
wire bfull = btotal >= L[QB_W-1:0];
wire [QB_W-1:0] bkeep_n = bflush_reg ? blo_cnt_reg : btotal;

assign ep_m_ready = !bflush_reg && out_free;

always @* begin
    for (i = 0; i < E; i = i + 1) begin
        bmask[i*8 +: 8] = (i < ep_m_cnt_b) ? 8'hff : 8'h0;
    end
    for (i = 0; i < KEEP_WIDTH; i = i + 1) begin
        bkeep_total[i] = i < bkeep_n;
    end
end

/*
 * Packer
 */
reg [DATA_WIDTH-1:0] gmask;
reg [KEEP_WIDTH-1:0] keep_total;

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
    if (q_reg) begin
        // DRAIN_Q: the byte packer drives the output register (the int32 packer is empty)
        if (bflush_reg && out_free) begin
            out_tdata_reg <= blo_reg;
            out_tkeep_reg <= bkeep_total;
            out_tlast_reg <= 1'b1;
            out_tvalid_reg <= 1'b1;
            blo_reg <= {DATA_WIDTH{1'b0}};
            blo_cnt_reg <= {QB_W{1'b0}};
            bflush_reg <= 1'b0;
        end else if (b_take) begin
            if (bfull) begin
                out_tdata_reg <= bcomb[DATA_WIDTH-1:0];
                out_tkeep_reg <= {KEEP_WIDTH{1'b1}};
                out_tlast_reg <= ep_m_last && btotal == L[QB_W-1:0];
                out_tvalid_reg <= 1'b1;
                blo_reg <= bcomb[2*DATA_WIDTH-1:DATA_WIDTH];
                blo_cnt_reg <= btotal - L[QB_W-1:0];
                bflush_reg <= ep_m_last && btotal != L[QB_W-1:0];
            end else if (ep_m_last) begin
                out_tdata_reg <= bcomb[DATA_WIDTH-1:0];
                out_tkeep_reg <= bkeep_total;
                out_tlast_reg <= 1'b1;
                out_tvalid_reg <= 1'b1;
                blo_reg <= {DATA_WIDTH{1'b0}};
                blo_cnt_reg <= {QB_W{1'b0}};
            end else begin
                blo_reg <= bcomb[DATA_WIDTH-1:0];
                blo_cnt_reg <= btotal;
                if (out_tready) begin
                    out_tvalid_reg <= 1'b0;
                end
            end
        end else if (out_tready) begin
            out_tvalid_reg <= 1'b0;
        end
    end else if (flush_reg && out_free) begin
        out_tdata_reg <= lo_reg;
        out_tkeep_reg <= keep_total;
        out_tlast_reg <= 1'b1;
        out_tvalid_reg <= 1'b1;
        lo_reg <= {DATA_WIDTH{1'b0}};
        lo_cnt_reg <= {QC_W{1'b0}};
        flush_reg <= 1'b0;
    end else if (g_take32) begin
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
        blo_reg <= {DATA_WIDTH{1'b0}};
        blo_cnt_reg <= {QB_W{1'b0}};
        bflush_reg <= 1'b0;
        out_tvalid_reg <= 1'b0;
    end
end

assign busy = active_reg || gv || lo_cnt_reg != 0 || flush_reg || out_tvalid_reg || m_axis_tvalid
              || ep0_v_reg || ep_busy || blo_cnt_reg != 0 || bflush_reg;
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
