/*
 * mac_array: ROWS x L int8 MAC array with two accumulator banks (L = DATA_WIDTH/8).
 *
 * Every valid input chunk (L int8 of one B row k, columns col*L .. col*L+L-1 of the
 * window; lanes past the window are zero) updates one accumulator word of every row:
 *     acc[bank][r][col*L + l] = (clear ? 0 : acc[...]) + A[r][k] * B[k][col*L + l]
 * A[r][k] for all rows arrives on a_data one cycle after the chunk (abuf's read latency).
 *
 * Pipeline: p1 (chunk registered, A column read from block RAM) -> p2 (operands
 * registered: DSP A/B registers; the read address of p3 is registered per row and memory)
 * -> p3 (products registered: DSP M register; the accumulator word is read at the
 * registered address, the bank/clear/bypass select is per row and memory) -> p4 (sum
 * registered: DSP P register) -> the sum is written at p4. A chunk at p3 that reads the
 * word the chunk at p4 is writing takes p4's sum instead (same-word bypass, decided a cycle
 * ahead), so back-to-back updates of one word (N <= L: every chunk hits word 0) are exact.
 *
 * Accumulator storage: per bank, row and group of up to 8 lanes, NMAX/L words of distributed
 * RAM with one read port, used by the array while it updates that bank and by the drain
 * otherwise (the sequencer never lets both use one bank). Every read address is a register
 * (replicated per row and memory) loaded a cycle ahead: with the array's p2 column, or with
 * the drain's next address. Drain reads are registered too: with EPI_LANES = Q the row's
 * group (of either bank) is registered per row, then the row is selected (rd_qdata = rd_data);
 * with EPI_LANES > Q the row's whole word is registered per row, then the row and the group
 * are selected: rd_data is the group of Q int32 (DRAIN), rd_qdata the group of EPI_LANES
 * int32 (DRAIN_Q: up to the whole word), whose address was rd_next_* two cycles earlier (one
 * cycle after the cycle that read it).
 *
 * Control that fans out to every row (bank, valid, clear, bypass, write enable, addresses)
 * is replicated per row and memory in flip-flops with a reset or a keep, so no tool merges
 * the copies or packs them into a shift register (one net per copy, a few hundred loads).
 *
 * Stage boundary for a drain epilogue: rd_data/rd_qdata leave a register stage (the per-row
 * word register and the row/group-select registers); the requantization pipeline sits after
 * the drain's group register (drain.v, epilogue.v).
 */

`resetall
`timescale 1ns / 1ps
`default_nettype none

module mac_array #
(
    // Width of a B chunk in bits (8 * lanes)
    parameter DATA_WIDTH = 64,
    // MAC rows (A rows held per panel)
    parameter ROWS = 16,
    // int32 accumulator columns per row per bank (a multiple of DATA_WIDTH/8)
    parameter NMAX = 512,
    // Width of the row index on the drain read port
    parameter ROW_WIDTH = 8,
    // Width of the word index (chunk column)
    parameter COL_WIDTH = 16,
    // int32 per DRAIN_Q read (rd_qdata): DATA_WIDTH/32 .. DATA_WIDTH/8, a power of two
    parameter EPI_LANES = DATA_WIDTH / 32
)
(
    input  wire                     clk,
    input  wire                     rst,

    // B chunk
    input  wire                     s_valid,
    input  wire [DATA_WIDTH-1:0]    s_data,
    /* verilator lint_off UNUSEDSIGNAL */
    // bits above NMAX/L's range are zero by construction (the sequencer validates win_cnt <= NMAX)
    input  wire [COL_WIDTH-1:0]     s_col,     // accumulator word (chunk index in the window)
    /* verilator lint_on UNUSEDSIGNAL */
    input  wire                     s_clear,   // write A*B instead of acc + A*B
    input  wire                     s_bank,    // accumulator bank

    // A column of the chunk, one cycle after s_valid
    input  wire [ROWS*8-1:0]        a_data,

    // drain read port (registered): the drain gives the address it reads NEXT cycle
    // (bank, word, group: of Q = DATA_WIDTH/32 int32 for rd_data, of EPI_LANES int32 for
    // rd_qdata; row); rd_data/rd_qdata are that group of that row one cycle after the read
    input  wire                     rd_next_bank,
    /* verilator lint_off UNUSEDSIGNAL */
    // upper bits zero by construction (drain win_cnt <= NMAX)
    input  wire [COL_WIDTH-1:0]     rd_next_word,
    /* verilator lint_on UNUSEDSIGNAL */
    input  wire [1:0]               rd_next_grp,
    input  wire [ROW_WIDTH-1:0]     rd_next_row,
    output wire [DATA_WIDTH-1:0]    rd_data,
    output wire [EPI_LANES*32-1:0]  rd_qdata,

    // chunks in flight (any stage, the last write included)
    output wire                     busy,
    // chunks whose accumulator write lands after the next cycle: a drain may start reading
    // the next cycle only when this is low
    output wire                     rd_block
);

localparam L = DATA_WIDTH / 8;
localparam WORDS = NMAX / L;
localparam WORD_W = WORDS > 1 ? $clog2(WORDS) : 1;
localparam ACC_W = L * 32;       // bits of one accumulator word (one row)
localparam LPM = L < 8 ? L : 8;  // lanes per distributed-RAM memory (its address copy's load)
localparam MEMS = L / LPM;       // memories per row and bank
localparam MEM_W = LPM * 32;
localparam Q = DATA_WIDTH / 32;  // int32 per drain group
localparam FULL = EPI_LANES > Q;   // the per-row drain register holds the whole word
localparam RW = FULL ? ACC_W : DATA_WIDTH;
localparam QGRPS = L / EPI_LANES;  // DRAIN_Q groups per word
localparam QG_W = QGRPS > 1 ? $clog2(QGRPS) : 1;

// check configuration
initial begin
    if (DATA_WIDTH != 32 && DATA_WIDTH != 64 && DATA_WIDTH != 128 && DATA_WIDTH != 256) begin
        $error("Error: DATA_WIDTH must be 32, 64, 128 or 256 (instance %m)");
        $finish;
    end
    if (ROWS < 1 || ROWS >= 2**ROW_WIDTH) begin
        $error("Error: ROWS must be 1..2**ROW_WIDTH-1 (instance %m)");
        $finish;
    end
    if (NMAX < L || NMAX % L != 0) begin
        $error("Error: NMAX must be a positive multiple of DATA_WIDTH/8 (instance %m)");
        $finish;
    end
    if (EPI_LANES < Q || EPI_LANES > L || (EPI_LANES & (EPI_LANES - 1)) != 0) begin
        $error("Error: EPI_LANES must be a power of two in DATA_WIDTH/32 .. DATA_WIDTH/8 (instance %m)");
        $finish;
    end
    if (COL_WIDTH < WORD_W) begin
        $error("Error: COL_WIDTH too small for NMAX (instance %m)");
        $finish;
    end
end

// p1: chunk registered (A column read in abuf)
reg                  v1_reg;
reg [DATA_WIDTH-1:0] b1_reg;
reg [WORD_W-1:0]     col1_reg;
reg                  clear1_reg;
reg                  bank1_reg;
// p2: operands registered
reg                  v2_reg;
reg [ROWS*8-1:0]     a2_reg;
reg [DATA_WIDTH-1:0] b2_reg;
reg [WORD_W-1:0]     col2_reg;
reg                  clear2_reg;
reg                  bank2_reg;
// p3: products registered, accumulator word read
reg                  v3_reg;
reg [WORD_W-1:0]     col3_reg;
reg                  bank3_reg;
// p4: sums registered and written
reg                  v4_reg;

assign busy = v1_reg || v2_reg || v3_reg || v4_reg;
assign rd_block = v1_reg || v2_reg || v3_reg;

// the chunk at p2 reads (at p3) the word the chunk at p3 writes (at p4)
wire hit2 = v3_reg && bank3_reg == bank2_reg && col3_reg == col2_reg;

always @(posedge clk) begin
    v1_reg <= s_valid;
    b1_reg <= s_data;
    col1_reg <= s_col[WORD_W-1:0];
    clear1_reg <= s_clear;
    bank1_reg <= s_bank;

    v2_reg <= v1_reg;
    a2_reg <= a_data;
    b2_reg <= b1_reg;
    col2_reg <= col1_reg;
    clear2_reg <= clear1_reg;
    bank2_reg <= bank1_reg;

    v3_reg <= v2_reg;
    col3_reg <= col2_reg;
    bank3_reg <= bank2_reg;

    v4_reg <= v3_reg;

    if (rst) begin
        v1_reg <= 1'b0;
        v2_reg <= 1'b0;
        v3_reg <= 1'b0;
        v4_reg <= 1'b0;
        // control with a reset: never packed into shift registers
        bank1_reg <= 1'b0;
        bank2_reg <= 1'b0;
        bank3_reg <= 1'b0;
        clear1_reg <= 1'b0;
        clear2_reg <= 1'b0;
    end
end

genvar q;
integer i;

// Every row's registered word (FULL) or group (of the drain's bank), zero unless the drain
// reads that row: the row is selected as the words are registered (a registered match per
// row), so the read data is the OR of all rows' registers, a shallow tree with no select
// inputs, instead of a ROWS:1 multiplexer behind the registers.
wire [RW-1:0] words [0:ROWS-1];

genvar r, m, l;
generate
    for (r = 0; r < ROWS; r = r + 1) begin : row
        // per-row copy of the drain's next bank (the bank select of the read), and whether
        // the drain reads this row next
        (* keep = "true" *) reg dbank_r;
        (* keep = "true" *) reg rmatch_r;
        // the row's registered drain word (FULL) or group
        reg [RW-1:0] word_reg;

        (* keep *)
        always @(posedge clk) begin
            dbank_r <= rd_next_bank;
            rmatch_r <= rd_next_row == r;
            if (rst) begin
                dbank_r <= 1'b0;
                rmatch_r <= 1'b0;
            end
        end

        wire [ACC_W-1:0] rd0;   // bank 0 word at its registered address
        wire [ACC_W-1:0] rd1;   // bank 1 word

        for (m = 0; m < MEMS; m = m + 1) begin : mem
            (* ram_style = "distributed" *)
            reg [MEM_W-1:0] mem0 [0:WORDS-1];
            (* ram_style = "distributed" *)
            reg [MEM_W-1:0] mem1 [0:WORDS-1];

            // per-memory copies of the p2 control (the read-address select of p3). One copy
            // per memory, not per row: synthesis folds the read-address registers into the
            // LUTRAM read ports and extracts them again without their keep attribute, and two
            // address registers fed by the same select would then merge into one driving both
            // memories (518 pins per bit on KV260 instead of 259)
            (* keep = "true" *) reg v2_r;
            (* keep = "true" *) reg bank2_r;
            // registered addresses, write enables and selects of this row's memory pair
            (* keep = "true" *) reg [WORD_W-1:0] raddr0_r;
            (* keep = "true" *) reg [WORD_W-1:0] raddr1_r;
            (* keep = "true" *) reg [WORD_W-1:0] waddr_r;
            (* keep = "true" *) reg we0_r;
            (* keep = "true" *) reg we1_r;
            (* keep = "true" *) reg bank3_r;
            (* keep = "true" *) reg clear3_r;
            (* keep = "true" *) reg byp3_r;

            (* keep *)
            always @(posedge clk) begin
                v2_r <= v1_reg;
                bank2_r <= bank1_reg;
                raddr0_r <= (v2_r && !bank2_r) ? col2_reg : rd_next_word[WORD_W-1:0];
                raddr1_r <= (v2_r && bank2_r) ? col2_reg : rd_next_word[WORD_W-1:0];
                waddr_r <= col3_reg;
                we0_r <= v3_reg && !bank3_reg;
                we1_r <= v3_reg && bank3_reg;
                bank3_r <= bank2_reg;
                clear3_r <= clear2_reg;
                byp3_r <= hit2;
                if (rst) begin
                    v2_r <= 1'b0;
                    bank2_r <= 1'b0;
                    raddr0_r <= {WORD_W{1'b0}};
                    raddr1_r <= {WORD_W{1'b0}};
                    waddr_r <= {WORD_W{1'b0}};
                    we0_r <= 1'b0;
                    we1_r <= 1'b0;
                    bank3_r <= 1'b0;
                    clear3_r <= 1'b0;
                    byp3_r <= 1'b0;
                end
            end

            wire [MEM_W-1:0] q0 = mem0[raddr0_r];
            wire [MEM_W-1:0] q1 = mem1[raddr1_r];
            wire [MEM_W-1:0] sum;

            assign rd0[m*MEM_W +: MEM_W] = q0;
            assign rd1[m*MEM_W +: MEM_W] = q1;

            for (l = 0; l < LPM; l = l + 1) begin : lane
                reg signed [15:0] prod_reg;
                reg        [31:0] sum_reg;

                wire [31:0] old = byp3_r ? sum_reg
                                         : (bank3_r ? q1[l*32 +: 32] : q0[l*32 +: 32]);

                always @(posedge clk) begin
                    // DSP M register: the product; P register: the sum
                    prod_reg <= $signed(a2_reg[r*8 +: 8]) * $signed(b2_reg[(m*LPM+l)*8 +: 8]);
                    sum_reg <= (clear3_r ? 32'd0 : old) + {{16{prod_reg[15]}}, prod_reg};
                end

                assign sum[l*32 +: 32] = sum_reg;
            end

            always @(posedge clk) begin
                if (we0_r) begin
                    mem0[waddr_r] <= sum;
                end
                if (we1_r) begin
                    mem1[waddr_r] <= sum;
                end
            end
        end

        if (FULL) begin : wfull
            always @(posedge clk) begin
                word_reg <= !rmatch_r ? {RW{1'b0}} : dbank_r ? rd1 : rd0;
            end
        end else begin : wgrp
            // per-row copy of the drain's next group (the group select of the read)
            (* keep = "true" *) reg [1:0] dgrp_r;
            (* keep *)
            always @(posedge clk) begin
                dgrp_r <= rd_next_grp;
                if (rst) begin
                    dgrp_r <= 2'd0;
                end
            end
            always @(posedge clk) begin
                word_reg <= !rmatch_r ? {RW{1'b0}}
                          : dbank_r ? rd1[dgrp_r*DATA_WIDTH +: DATA_WIDTH] : rd0[dgrp_r*DATA_WIDTH +: DATA_WIDTH];
            end
        end

        assign words[r] = word_reg;
    end

    // the drain's word (FULL) or group: the one row read is the only nonzero register
    reg [RW-1:0] word_or;
    always @* begin
        word_or = {RW{1'b0}};
        for (i = 0; i < ROWS; i = i + 1) begin
            word_or = word_or | words[i];
        end
    end

    if (FULL) begin : full
        // the group index of the read this cycle (rd_next_grp a cycle ago)
        reg [1:0] dgrp_cur_reg;
        always @(posedge clk) begin
            dgrp_cur_reg <= rd_next_grp;
            if (rst) begin
                dgrp_cur_reg <= 2'd0;
            end
        end

        // the group of the word read this cycle, per int32 of rd_data and of rd_qdata
        (* keep = "true" *)
        reg [1:0]           rgrp_reg [0:Q-1];
        /* verilator lint_off UNUSEDSIGNAL */
        // unused when a DRAIN_Q group is the whole word (EPI_LANES = L)
        (* keep = "true" *)
        reg [QG_W-1:0]      qgrp_reg [0:EPI_LANES-1];
        /* verilator lint_on UNUSEDSIGNAL */

        for (q = 0; q < Q; q = q + 1) begin : rg
            (* keep *)
            always @(posedge clk) begin
                rgrp_reg[q] <= dgrp_cur_reg;
                if (rst) begin
                    rgrp_reg[q] <= 2'd0;
                end
            end
            assign rd_data[q*32 +: 32] = word_or[(rgrp_reg[q]*Q + q)*32 +: 32];
        end
        for (q = 0; q < EPI_LANES; q = q + 1) begin : rd_e
            (* keep *)
            always @(posedge clk) begin
                qgrp_reg[q] <= dgrp_cur_reg[QG_W-1:0];
                if (rst) begin
                    qgrp_reg[q] <= {QG_W{1'b0}};
                end
            end
            if (QGRPS > 1) begin : g
                assign rd_qdata[q*32 +: 32] = word_or[(qgrp_reg[q]*EPI_LANES + q)*32 +: 32];
            end else begin : one
                assign rd_qdata[q*32 +: 32] = word_or[q*32 +: 32];
            end
        end
    end else begin : grp
        // EPI_LANES = Q: the group is selected before the per-row register (as for DRAIN
        // alone) and DRAIN_Q reads the same groups
        assign rd_data = word_or;
        assign rd_qdata = rd_data;
    end
endgenerate

endmodule

`resetall
