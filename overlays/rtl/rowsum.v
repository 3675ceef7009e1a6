/*
 * rowsum: per-row sums of A for the epilogue's B zero point term (-bzp * rowsum[m]).
 *
 * A side: per A bank and row, the sum of the row's kept int8 bytes (after the u8
 * conversion) as LOAD_A writes them: each chunk (L bytes, lanes past the window are zero)
 * adds its byte sum; the first chunk of a row (ld_first) starts the sum afresh. The sum is
 * registered with the chunk, so it is complete the cycle after the row's last chunk (the
 * same cycle the A bank's write is).
 * Accumulator side: per accumulator bank and row, the sum over the K range the bank's
 * accumulators hold: a STREAM_B start (sb_start) sets every row of bank sb_acc to the A
 * bank's sums (accumulate = 0) or adds them (accumulate = 1).
 * Read: rd_sum is the accumulator-side sum of (rd_bank, rd_row), combinational (the drain
 * registers it with the group it reads). Sums are int32, wrapping.
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

    // read
    input  wire                     rd_bank,
    /* verilator lint_off UNUSEDSIGNAL */
    input  wire [ROW_WIDTH-1:0]     rd_row,
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

reg [31:0] a_sum_reg [0:SLOTS-1];    // A banks
reg [31:0] c_sum_reg [0:SLOTS-1];    // accumulator banks

// the chunk's byte sum (signed)
reg [31:0] chunk_sum;
integer i;
always @* begin
    chunk_sum = 32'd0;
    for (i = 0; i < L; i = i + 1) begin
        chunk_sum = chunk_sum + {{24{ld_data[i*8+7]}}, ld_data[i*8 +: 8]};
    end
end

wire [RIDX_W:0] ld_idx = {ld_bank, ld_row[RIDX_W-1:0]};
wire [RIDX_W:0] rd_idx = {rd_bank, rd_row[RIDX_W-1:0]};

integer r;
always @(posedge clk) begin
    if (ld_valid) begin
        a_sum_reg[ld_idx] <= (ld_first ? 32'd0 : a_sum_reg[ld_idx]) + chunk_sum;
    end
    if (sb_start) begin
        for (r = 0; r < ROWS; r = r + 1) begin
            c_sum_reg[{sb_acc, r[RIDX_W-1:0]}] <= (sb_accumulate ? c_sum_reg[{sb_acc, r[RIDX_W-1:0]}] : 32'd0)
                                                  + a_sum_reg[{sb_abuf, r[RIDX_W-1:0]}];
        end
    end
    if (rst) begin
        for (r = 0; r < SLOTS; r = r + 1) begin
            a_sum_reg[r] <= 32'd0;
            c_sum_reg[r] <= 32'd0;
        end
    end
end

assign rd_sum = c_sum_reg[rd_idx];

endmodule

`resetall
