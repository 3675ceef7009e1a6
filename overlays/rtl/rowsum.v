/*
 * rowsum: per-row sums of A for the epilogue's B zero point term (-bzp * rowsum[m]).
 *
 * A side: per A bank and row, the sum of the row's kept int8 bytes (after the u8
 * conversion) as LOAD_A writes them: each chunk (L bytes, lanes past the window are zero)
 * adds its byte sum; the first chunk of a row (ld_first) starts the sum afresh.
 * Pipelined (timing): the chunk is registered (after the unpacker's lane mask and the u8
 * flip), then its byte sum (a balanced adder tree at 8 + log2(L) bits) is registered, then it
 * is added to the row's running sum and written, so the unpacker's output logic, the tree and
 * the 32-bit add are in three cycles. A row's chunks arrive back to back (rows in order,
 * ld_first on each row's first), so the running sum of the row being loaded is one register
 * (run_reg) and the add reads no A-bank slot mux.
 * Latency: the sum of a row is in its register three cycles after the row's last chunk (two
 * more than the direct form). It is read only by the accumulator-side update, the cycle
 * after a STREAM_B start (sb_start), and sb_start comes at the earliest three cycles after
 * the LOAD_A's last chunk (cycle t: the unpacker's last chunk, its busy falls at t+1; t+1:
 * the sequencer's S_FLUSH sees !up_busy and retires; t+2: S_FETCH starts the STREAM_B; t+3:
 * sb_start = first_reg), so the read is at t+4 or later and the extra cycles are never
 * observed (one cycle of margin).
 * Accumulator side: per accumulator bank and row, the sum over the K range the bank's
 * accumulators hold: a STREAM_B start sets every row of bank sb_acc to the A bank's sums
 * (accumulate = 0) or adds them (accumulate = 1). The start's controls are registered first
 * (one copy per GROUP rows, so no control net drives more than GROUP * 32 * 2 loads) and the
 * update is done the cycle after sb_start; the drain reads that bank at the earliest three
 * cycles after sb_start (the STREAM_B needs a data beat, S_FLUSH and the DRAIN's start;
 * the drain's first read is the cycle after it starts), so the delay is not observed either.
 * Read: rd_sum is the accumulator-side sum of the drain's current (bank, row), combinational
 * from a registered index (the drain registers the sum with the group it reads). The index
 * is rd_next_* registered here, one copy per byte of rd_sum, so the drain's row register
 * does not drive the whole 2*ROWS:1 x 32-bit select. Sums are int32, wrapping.
 */

`resetall
`timescale 1ns / 1ps
`default_nettype none

module rowsum #
(
    // chunk width in bits (8 * lanes)
    parameter DATA_WIDTH = 64,
    // rows per bank
    parameter ROWS = 16,
    // width of the row index
    parameter ROW_WIDTH = 8
)
(
    input  wire                     clk,
    input  wire                     rst,

    // LOAD_A chunks (int8 after the u8 conversion; lanes past the window zero)
    input  wire                     ld_valid,
    input  wire                     ld_bank,
    /* verilator lint_off UNUSEDSIGNAL */
    // row indexes: bits above ROWS's range are zero by construction (rows <= ROWS)
    input  wire [ROW_WIDTH-1:0]     ld_row,
    /* verilator lint_on UNUSEDSIGNAL */
    input  wire                     ld_first,
    input  wire [DATA_WIDTH-1:0]    ld_data,

    // STREAM_B start
    input  wire                     sb_start,
    input  wire                     sb_abuf,
    input  wire                     sb_acc,
    input  wire                     sb_accumulate,

    // read: the drain's next (bank, row), as mac_array's read port; rd_sum is the sum of
    // the (bank, row) given the cycle before
    input  wire                     rd_next_bank,
    /* verilator lint_off UNUSEDSIGNAL */
    input  wire [ROW_WIDTH-1:0]     rd_next_row,
    /* verilator lint_on UNUSEDSIGNAL */
    output wire [31:0]              rd_sum
);

localparam L = DATA_WIDTH / 8;
localparam RIDX_W = ROWS > 1 ? $clog2(ROWS) : 1;
localparam SLOTS = 2**(RIDX_W+1);     // bank b, row r at {b, r}

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
end

localparam SUM_W = 8 + $clog2(L);    // a chunk's byte sum: L int8
localparam GROUP = 4;                 // rows per copy of the STREAM_B start's controls
localparam GROUPS = (ROWS + GROUP - 1) / GROUP;
localparam RD_COPIES = 4;             // copies of the read index: one per byte of rd_sum

/*
 * LOAD_A, stage 1: the chunk registered (after the unpacker's lane mask and the u8 flip)
 */
reg                 d_v_reg;
reg                 d_first_reg;
reg [RIDX_W:0]      d_idx_reg;
reg [DATA_WIDTH-1:0] d_data_reg;

always @(posedge clk) begin
    d_v_reg <= ld_valid;
    d_first_reg <= ld_first;
    d_idx_reg <= {ld_bank, ld_row[RIDX_W-1:0]};
    d_data_reg <= ld_data;
    if (rst) begin
        d_v_reg <= 1'b0;
    end
end

/*
 * LOAD_A, stage 2: the chunk's byte sum (balanced tree: node t adds nodes 2t+1 and 2t+2,
 * the leaves L-1 .. 2L-2 are the sign-extended bytes), registered with the chunk's slot
 */
wire [SUM_W-1:0] tree [0:2*L-2];

genvar t;
generate
    for (t = 0; t < L; t = t + 1) begin : leaf
        assign tree[L-1+t] = {{SUM_W-8{d_data_reg[t*8+7]}}, d_data_reg[t*8 +: 8]};
    end
    for (t = 0; t < L-1; t = t + 1) begin : node
        assign tree[t] = tree[2*t+1] + tree[2*t+2];
    end
endgenerate

reg                 ld_v_reg;
reg                 ld_first_reg;
reg [RIDX_W:0]      ld_idx_reg;
reg [SUM_W-1:0]     chunk_sum_reg;

always @(posedge clk) begin
    ld_v_reg <= d_v_reg;
    ld_first_reg <= d_first_reg;
    ld_idx_reg <= d_idx_reg;
    chunk_sum_reg <= tree[0];
    if (rst) begin
        ld_v_reg <= 1'b0;
    end
end

/*
 * LOAD_A, stage 3: the row's running sum plus the chunk's, written to the row's slot
 */
reg  [31:0] run_reg;   // = the slot of ld_idx_reg whenever !ld_first_reg (see above)
wire [31:0] run_next = (ld_first_reg ? 32'd0 : run_reg)
                       + {{32-SUM_W{chunk_sum_reg[SUM_W-1]}}, chunk_sum_reg};

always @(posedge clk) begin
    if (ld_v_reg) begin
        run_reg <= run_next;
    end
    if (rst) begin
        run_reg <= 32'd0;
    end
end

// every slot's accumulator-side sum, for the read select (slots past ROWS stay zero)
wire [31:0] c_sum [0:SLOTS-1];

genvar g, r;
generate
    for (g = 0; g < GROUPS; g = g + 1) begin : grp
        // this group's copies of the STREAM_B start's controls (registered at sb_start)
        (* keep = "true" *) reg we0_r;
        (* keep = "true" *) reg we1_r;
        (* keep = "true" *) reg accum_r;
        (* keep = "true" *) reg abuf_r;

        (* keep *)
        always @(posedge clk) begin
            we0_r <= sb_start && !sb_acc;
            we1_r <= sb_start && sb_acc;
            accum_r <= sb_accumulate;
            abuf_r <= sb_abuf;
            if (rst) begin
                we0_r <= 1'b0;
                we1_r <= 1'b0;
                accum_r <= 1'b0;
                abuf_r <= 1'b0;
            end
        end

        for (r = g * GROUP; r < (g + 1) * GROUP && r < ROWS; r = r + 1) begin : row
            reg [31:0] a0_reg;   // A bank 0, row r
            reg [31:0] a1_reg;   // A bank 1
            reg [31:0] c0_reg;   // accumulator bank 0
            reg [31:0] c1_reg;   // accumulator bank 1
            wire [31:0] a_sel = abuf_r ? a1_reg : a0_reg;

            always @(posedge clk) begin
                if (ld_v_reg && ld_idx_reg == {1'b0, r[RIDX_W-1:0]}) begin
                    a0_reg <= run_next;
                end
                if (ld_v_reg && ld_idx_reg == {1'b1, r[RIDX_W-1:0]}) begin
                    a1_reg <= run_next;
                end
                if (we0_r) begin
                    c0_reg <= (accum_r ? c0_reg : 32'd0) + a_sel;
                end
                if (we1_r) begin
                    c1_reg <= (accum_r ? c1_reg : 32'd0) + a_sel;
                end
                if (rst) begin
                    a0_reg <= 32'd0;
                    a1_reg <= 32'd0;
                    c0_reg <= 32'd0;
                    c1_reg <= 32'd0;
                end
            end

            assign c_sum[{1'b0, r[RIDX_W-1:0]}] = c0_reg;
            assign c_sum[{1'b1, r[RIDX_W-1:0]}] = c1_reg;
        end
    end
    for (r = ROWS; r < SLOTS / 2; r = r + 1) begin : pad
        assign c_sum[{1'b0, r[RIDX_W-1:0]}] = 32'd0;
        assign c_sum[{1'b1, r[RIDX_W-1:0]}] = 32'd0;
    end
endgenerate

/*
 * Read: the index registered from the drain's next (bank, row), one copy per byte of rd_sum
 */
genvar c;
generate
    for (c = 0; c < RD_COPIES; c = c + 1) begin : rd
        (* keep = "true" *) reg [RIDX_W:0] idx_r;

        // no reset (it would be a LUT on the drain's ready chain): the drain reads only while
        // active, which is a cycle after a command, and by then idx_r follows the drain again
        (* keep *)
        always @(posedge clk) begin
            idx_r <= {rd_next_bank, rd_next_row[RIDX_W-1:0]};
        end

        assign rd_sum[c*8 +: 8] = c_sum[idx_r][c*8 +: 8];
    end
endgenerate

endmodule

`resetall
