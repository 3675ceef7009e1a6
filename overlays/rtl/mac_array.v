/*
 * mac_array: ROWS x L int8 MAC array with two accumulator banks (L = DATA_WIDTH/8).
 *
 * Every valid input chunk (L int8 of one B row k, columns col*L .. col*L+L-1 of the
 * window; lanes past the window are zero) updates one accumulator word of every row:
 *     acc[bank][r][col*L + l] = (clear ? 0 : acc[...]) + A[r][k] * B[k][col*L + l]
 * A[r][k] for all rows arrives on a_data one cycle after the chunk (abuf's read latency).
 *
 * Pipeline: p1 (chunk registered, A column read from block RAM) -> p2 (operands
 * registered: DSP A/B registers) -> p3 (products registered: DSP M register) -> the
 * read-modify-write of the accumulator word at p3 (asynchronous-read distributed RAM, so
 * the write lands before the next cycle's read: back-to-back updates of the same word,
 * e.g. N <= L where every chunk hits word 0, need no forwarding).
 *
 * Accumulator storage: per bank and row, NMAX/L words of L int32 (distributed RAM).
 * A second read port (the drain's) reads any group of Q = DATA_WIDTH/32 int32 of any row
 * of either bank asynchronously; the sequencer never lets the drain read the bank that
 * the array is writing, so the bank that is being written uses the array's address.
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
    parameter COL_WIDTH = 16
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

    // drain read port (asynchronous): int32 [grp*Q, grp*Q+Q) of word rd_word of row rd_row
    input  wire                     rd_bank,
    input  wire [ROW_WIDTH-1:0]     rd_row,
    /* verilator lint_off UNUSEDSIGNAL */
    // upper bits zero by construction (drain win_cnt <= NMAX)
    input  wire [COL_WIDTH-1:0]     rd_word,
    /* verilator lint_on UNUSEDSIGNAL */
    input  wire [1:0]               rd_grp,
    output wire [DATA_WIDTH-1:0]    rd_data,

    // chunks in flight
    output wire                     busy
);

localparam L = DATA_WIDTH / 8;
localparam WORDS = NMAX / L;
localparam WORD_W = WORDS > 1 ? $clog2(WORDS) : 1;
localparam ACC_W = L * 32;       // bits of one accumulator word (one row)

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
// p3: products registered, accumulator read-modify-write
reg                  v3_reg;
reg [WORD_W-1:0]     col3_reg;
reg                  clear3_reg;
reg                  bank3_reg;

assign busy = v1_reg || v2_reg || v3_reg;

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
    clear3_reg <= clear2_reg;
    bank3_reg <= bank2_reg;

    if (rst) begin
        v1_reg <= 1'b0;
        v2_reg <= 1'b0;
        v3_reg <= 1'b0;
    end
end

// drain read address; the bank being written is addressed by the array
wire [WORD_W-1:0] rd_addr0 = (v3_reg && !bank3_reg) ? col3_reg : rd_word[WORD_W-1:0];
wire [WORD_W-1:0] rd_addr1 = (v3_reg && bank3_reg) ? col3_reg : rd_word[WORD_W-1:0];

// every Q-int32 group of every row of both banks, for the drain read mux
wire [DATA_WIDTH-1:0] groups [0:2*ROWS*4-1];

genvar r, l;
generate
    for (r = 0; r < ROWS; r = r + 1) begin : row
        (* ram_style = "distributed" *)
        reg [ACC_W-1:0] mem0 [0:WORDS-1];
        (* ram_style = "distributed" *)
        reg [ACC_W-1:0] mem1 [0:WORDS-1];

        wire [ACC_W-1:0] rd0 = mem0[rd_addr0];
        wire [ACC_W-1:0] rd1 = mem1[rd_addr1];
        wire [ACC_W-1:0] old = bank3_reg ? rd1 : rd0;
        wire [ACC_W-1:0] upd;

        for (l = 0; l < L; l = l + 1) begin : lane
            reg signed [15:0] prod_reg;

            always @(posedge clk) begin
                prod_reg <= $signed(a2_reg[r*8 +: 8]) * $signed(b2_reg[l*8 +: 8]);
            end

            assign upd[l*32 +: 32] = (clear3_reg ? 32'd0 : old[l*32 +: 32])
                                     + {{16{prod_reg[15]}}, prod_reg};
        end

        always @(posedge clk) begin
            if (v3_reg && !bank3_reg) begin
                mem0[col3_reg] <= upd;
            end
            if (v3_reg && bank3_reg) begin
                mem1[col3_reg] <= upd;
            end
        end

        for (l = 0; l < 4; l = l + 1) begin : grp
            assign groups[r*4 + l] = rd0[l*DATA_WIDTH +: DATA_WIDTH];
            assign groups[ROWS*4 + r*4 + l] = rd1[l*DATA_WIDTH +: DATA_WIDTH];
        end
    end
endgenerate

// group index: bank * ROWS*4 + row * 4 + grp (rd_row < ROWS by construction, so only the
// low IDX_W bits of the sum matter)
localparam IDX_W = $clog2(2*ROWS*4);
/* verilator lint_off UNUSEDSIGNAL */
wire [ROW_WIDTH+2:0] rd_index = {rd_bank ? ROWS[ROW_WIDTH:0] : {ROW_WIDTH+1{1'b0}}, 2'b00}
                                + {1'b0, rd_row, rd_grp};
/* verilator lint_on UNUSEDSIGNAL */
assign rd_data = groups[rd_index[IDX_W-1:0]];

endmodule

`resetall
