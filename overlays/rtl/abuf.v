/*
 * abuf: the two A panel banks, ROWS rows x KMAX int8 per bank.
 *
 * One block RAM per row, DATA_WIDTH bits (L = DATA_WIDTH/8 int8) per word, the bank
 * select as the address MSB: 2*KMAX/L words. Write port: one L-byte word of one row
 * (LOAD_A chunks). Read port: column k of every row at once, A[r][k] for r < ROWS, one
 * cycle after rd_en (synchronous block RAM read, then a byte select).
 *
 * The byte select's lane index is registered once per row (kept apart from synthesis'
 * register merging): one shared register would drive the select pins of every row's
 * L:1 byte multiplexer (ROWS * 8 * L/4 LUT inputs per bit, over 1,000 on KV260) across
 * all the rows' block RAMs.
 */

`resetall
`timescale 1ns / 1ps
`default_nettype none

module abuf #
(
    // Word width in bits (8 * lanes)
    parameter DATA_WIDTH = 64,
    // Rows per bank
    parameter ROWS = 16,
    // int8 columns per row per bank (a multiple of DATA_WIDTH/8)
    parameter KMAX = 4096,
    // Width of the row index
    parameter ROW_WIDTH = 8,
    // Width of the column (k) index
    parameter K_WIDTH = 16
)
(
    input  wire                     clk,

    // write one word: row wr_row, words wr_word of bank wr_bank
    input  wire                     wr_en,
    input  wire                     wr_bank,
    input  wire [ROW_WIDTH-1:0]     wr_row,
    /* verilator lint_off UNUSEDSIGNAL */
    // word/column indexes are K_WIDTH wide for every KMAX; bits above KMAX's range are
    // zero by construction (the sequencer validates win_cnt <= KMAX)
    input  wire [K_WIDTH-1:0]       wr_word,
    /* verilator lint_on UNUSEDSIGNAL */
    input  wire [DATA_WIDTH-1:0]    wr_data,

    // read column rd_k of bank rd_bank of every row; rd_data valid the next cycle
    input  wire                     rd_en,
    input  wire                     rd_bank,
    /* verilator lint_off UNUSEDSIGNAL */
    // upper bits zero by construction (k < KMAX)
    input  wire [K_WIDTH-1:0]       rd_k,
    /* verilator lint_on UNUSEDSIGNAL */
    output wire [ROWS*8-1:0]        rd_data
);

localparam L = DATA_WIDTH / 8;
localparam SHIFT = $clog2(L);
localparam WORDS = KMAX / L;                  // words per row per bank
localparam WORD_W = WORDS > 1 ? $clog2(WORDS) : 1;
localparam ADDR_W = WORD_W + 1;

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
    if (KMAX < L || KMAX % L != 0 || KMAX > 2**K_WIDTH) begin
        $error("Error: KMAX must be a positive multiple of DATA_WIDTH/8 up to 2**K_WIDTH (instance %m)");
        $finish;
    end
    if (K_WIDTH < WORD_W + SHIFT) begin
        $error("Error: K_WIDTH too small for KMAX (instance %m)");
        $finish;
    end
end

wire [ADDR_W-1:0] wr_addr = {wr_bank, wr_word[WORD_W-1:0]};
wire [ADDR_W-1:0] rd_addr = {rd_bank, rd_k[SHIFT +: WORD_W]};

genvar r;
generate
    for (r = 0; r < ROWS; r = r + 1) begin : row
        (* ram_style = "block" *)
        reg [DATA_WIDTH-1:0] mem [0:2**ADDR_W-1];
        reg [DATA_WIDTH-1:0] rd_word_reg;
        // this row's copy of the lane index of the word being read
        reg [SHIFT-1:0] rd_lane_reg;

        always @(posedge clk) begin
            if (wr_en && wr_row == r[ROW_WIDTH-1:0]) begin
                mem[wr_addr] <= wr_data;
            end
            if (rd_en) begin
                rd_word_reg <= mem[rd_addr];
            end
        end

        // kept: yosys would merge the identical copies back into one register (a keep on the
        // reg declaration does not stop that; one on the process does)
        (* keep *)
        always @(posedge clk) begin
            if (rd_en) begin
                rd_lane_reg <= rd_k[SHIFT-1:0];
            end
        end

        assign rd_data[r*8 +: 8] = rd_word_reg[rd_lane_reg*8 +: 8];
    end
endgenerate

endmodule

`resetall
