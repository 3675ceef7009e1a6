/*
 * epi_params: the epilogue's parameter banks (LOAD_EPI writes, DRAIN_Q reads).
 *
 * Two banks (one per accumulator bank), each: the header (zero point, clamp bounds, B's zero
 * point: int16 fields) and one record (int32 bias, float32 scale) per output column, up to
 * NMAX. The packet layout is the spec's [epilogue] table (accel_spec.vh): a header of
 * ACCEL_EPI_HEADER_BYTES, then ACCEL_EPI_COLUMN_BYTES per column; both are 8 bytes, so a
 * beat of DATA_WIDTH bits holds S = DATA_WIDTH/64 records (slot j of beat b is record
 * b*S + j: 0 = header, c+1 = column c).
 *
 * Columns are spread over LANES memories (column c in memory c % LANES, word c / LANES), so
 * one read gives the records of LANES consecutive columns: read address = group index. The
 * S records of one beat are consecutive columns, so they hit S different memories
 * (LANES % S == 0): one write port per memory. Reads are registered and hold while rd_en is
 * low (block RAM with an output enable).
 */

`resetall
`timescale 1ns / 1ps
`default_nettype none

module epi_params #
(
    // input stream width in bits: 64, 128 or 256 (DATA_WIDTH/64 records per beat)
    parameter DATA_WIDTH = 64,
    // columns per bank
    parameter NMAX = 512,
    // columns per read (requantization lanes): a power of two, a multiple of DATA_WIDTH/64
    parameter LANES = 2,
    // width of the column count and the group index
    parameter CNT_WIDTH = 16
)
(
    input  wire                     clk,
    input  wire                     rst,

    // LOAD_EPI: wr_start with the bank and column count, then the packet's accepted beats
    input  wire                     wr_start,
    input  wire                     wr_bank,
    input  wire [CNT_WIDTH-1:0]     wr_cnt,
    input  wire                     wr_valid,
    input  wire [DATA_WIDTH-1:0]    wr_data,

    // DRAIN_Q: the records of columns rd_grp*LANES .. +LANES-1 and the header of rd_bank,
    // on rd_* the cycle after rd_en
    input  wire                     rd_en,
    input  wire                     rd_bank,
    /* verilator lint_off UNUSEDSIGNAL */
    // bits above NMAX/LANES's range are zero by construction (win_cnt <= NMAX)
    input  wire [CNT_WIDTH-1:0]     rd_grp,
    /* verilator lint_on UNUSEDSIGNAL */
    output wire [LANES*32-1:0]      rd_bias,
    output wire [LANES*32-1:0]      rd_scale,
    output wire [15:0]              rd_zp,
    output wire [15:0]              rd_lo,
    output wire [15:0]              rd_hi,
    output wire [15:0]              rd_bzp
);

// The generated header (no include guard) declares module-scoped localparams; not all are used here.
/* verilator lint_off UNUSEDPARAM */
`include "accel_spec.vh"
/* verilator lint_on UNUSEDPARAM */

localparam S = DATA_WIDTH / 64;             // records per beat
localparam WORDS = NMAX / LANES;            // words per memory per bank
localparam WORD_W = WORDS > 1 ? $clog2(WORDS) : 1;
localparam LSH = $clog2(LANES);
localparam SSH = $clog2(S);
localparam integer LM = LANES - 1;
localparam [BEAT_W+7:0] LMASK = LM[BEAT_W+7:0];
localparam BEAT_W = CNT_WIDTH + 1;          // beats of a packet: up to NMAX/S + 1

// check configuration
initial begin
    if (DATA_WIDTH != 64 && DATA_WIDTH != 128 && DATA_WIDTH != 256) begin
        $error("Error: DATA_WIDTH must be 64, 128 or 256 (instance %m)");
        $finish;
    end
    if (LANES < 1 || (LANES & (LANES - 1)) != 0 || LANES % S != 0) begin
        $error("Error: LANES must be a power of two and a multiple of DATA_WIDTH/64 (instance %m)");
        $finish;
    end
    if (NMAX < LANES || NMAX % LANES != 0 || NMAX >= 2**CNT_WIDTH) begin
        $error("Error: NMAX must be a multiple of LANES below 2**CNT_WIDTH (instance %m)");
        $finish;
    end
    if (ACCEL_EPI_HEADER_BYTES != 8 || ACCEL_EPI_COLUMN_BYTES != 8) begin
        $error("Error: the spec's epilogue header and column records must be 8 bytes (one slot each) (instance %m)");
        $finish;
    end
end

reg                  bank_reg;
reg [CNT_WIDTH-1:0]  cnt_reg;
reg [BEAT_W-1:0]     beat_reg;
reg [63:0]           hdr_reg [0:1];

always @(posedge clk) begin
    if (wr_start) begin
        bank_reg <= wr_bank;
        cnt_reg <= wr_cnt;
        beat_reg <= {BEAT_W{1'b0}};
    end else if (wr_valid) begin
        beat_reg <= beat_reg + 1'b1;
        if (beat_reg == {BEAT_W{1'b0}}) begin
            hdr_reg[bank_reg] <= wr_data[63:0];
        end
    end
    if (rst) begin
        bank_reg <= 1'b0;
        cnt_reg <= {CNT_WIDTH{1'b0}};
        beat_reg <= {BEAT_W{1'b0}};
        hdr_reg[0] <= 64'd0;
        hdr_reg[1] <= 64'd0;
    end
end

// header fields of the read bank, registered with the records
reg [63:0] hdr_rd_reg;
always @(posedge clk) begin
    if (rd_en) begin
        hdr_rd_reg <= hdr_reg[rd_bank];
    end
end

assign rd_zp = hdr_rd_reg[ACCEL_EPI_H_ZERO_POINT*8 +: 16];
assign rd_lo = hdr_rd_reg[ACCEL_EPI_H_LO*8 +: 16];
assign rd_hi = hdr_rd_reg[ACCEL_EPI_H_HI*8 +: 16];
assign rd_bzp = hdr_rd_reg[ACCEL_EPI_H_B_ZERO_POINT*8 +: 16];

// write of each memory: the slot of this beat whose column falls in it
reg               we [0:LANES-1];
reg [WORD_W-1:0]  waddr [0:LANES-1];
reg [63:0]        wdata [0:LANES-1];
reg [BEAT_W+7:0]  rec;
reg [BEAT_W+7:0]  col;
integer j, e;

always @* begin
    for (e = 0; e < LANES; e = e + 1) begin
        we[e] = 1'b0;
        waddr[e] = {WORD_W{1'b0}};
        wdata[e] = 64'd0;
    end
    rec = {BEAT_W+8{1'b0}};
    col = {BEAT_W+8{1'b0}};
    for (j = 0; j < S; j = j + 1) begin
        rec = ({8'd0, beat_reg} << SSH) + j[BEAT_W+7:0];     // beat * S + j
        col = rec - 1'b1;
        if (wr_valid && !wr_start && rec != {BEAT_W+8{1'b0}} && col < {8'd0, 1'b0, cnt_reg}) begin
            for (e = 0; e < LANES; e = e + 1) begin
                if ((col & LMASK) == e[BEAT_W+7:0]) begin
                    we[e] = 1'b1;
                    waddr[e] = col[LSH +: WORD_W];
                    wdata[e] = wr_data[j*64 +: 64];
                end
            end
        end
    end
end

genvar g;
generate
    for (g = 0; g < LANES; g = g + 1) begin : mem
        reg [63:0] ram [0:2**(WORD_W+1)-1];
        reg [63:0] rd_reg;

        always @(posedge clk) begin
            if (we[g]) begin
                ram[{bank_reg, waddr[g]}] <= wdata[g];
            end
            if (rd_en) begin
                rd_reg <= ram[{rd_bank, rd_grp[WORD_W-1:0]}];
            end
        end

        assign rd_bias[g*32 +: 32] = rd_reg[ACCEL_EPI_C_BIAS*8 +: 32];
        assign rd_scale[g*32 +: 32] = rd_reg[ACCEL_EPI_C_SCALE*8 +: 32];
    end
endgenerate

endmodule

`resetall
