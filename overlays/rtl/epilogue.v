/*
 * epilogue: LANES requantization lanes, int32 accumulators -> 8-bit results (DRAIN_Q).
 *
 * For every lane l of a group (spec [epilogue]; golden model contract/epilogue.py):
 *     x   = acc[l] + bias[l] - bzp * rowsum                 int32, wrapping
 *     y   = round_half_even(float32(x) * scale[l])          int32 -> float32 RNE, one
 *                                                           float32 multiply RNE (IEEE 754)
 *     out = clamp(y, lo - zp, hi - zp) + zp                 low 8 bits
 * rowsum, bzp, zp, lo and hi are per group (one output row), bias and scale per lane.
 *
 * Scale: a subnormal scale is taken as zero (exact here: |x| < 2^31, so |x * scale| < 2^-95
 * rounds to 0 anyway); an infinite or NaN scale saturates like an overflowing product (the
 * spec requires a positive normal scale). A product of 2^31 or more saturates to the clamp.
 * float32(x) is never subnormal (|x| >= 1 or x = 0), so no product of a normal scale is.
 *
 * Pipeline: ST registered stages, all advancing together (m_ready or an empty last stage);
 * s_ready = the pipeline advances. One group per cycle with m_ready high:
 *   1: acc + bias; bzp * rowsum (a DSP)       5: mantissa product 24x24 (DSPs), exponent sum
 *   2: x = sum - correction                   6: product normalised and rounded (RNE)
 *   3: sign, |x|, leading zeros               7: float -> integer: shift, round bit
 *   4: |x| normalised and rounded to 24 bits  8: magnitude + round bit, saturation
 *   9: sign, clamp, + zero point (the output register)
 */

`resetall
`timescale 1ns / 1ps
`default_nettype none

module epilogue #
(
    // requantization lanes: int32 in and 8-bit results out per cycle
    parameter LANES = 2,
    // side band carried alongside each group (e.g. result count and packet end)
    parameter USER_WIDTH = 4
)
(
    input  wire                     clk,
    input  wire                     rst,

    input  wire [LANES*32-1:0]      s_acc,      // int32 accumulators
    input  wire [LANES*32-1:0]      s_bias,     // int32
    input  wire [LANES*32-1:0]      s_scale,    // IEEE 754 binary32
    input  wire [31:0]              s_rowsum,   // int32 row sum of A (the group's row)
    input  wire [15:0]              s_bzp,      // int16: B's zero point (int8 domain)
    input  wire [15:0]              s_zp,       // int16: output zero point
    input  wire [15:0]              s_lo,       // int16: clamp bounds (output domain)
    input  wire [15:0]              s_hi,
    input  wire [USER_WIDTH-1:0]    s_user,
    input  wire                     s_valid,
    output wire                     s_ready,
    output wire                     busy,       // a group in any stage

    output wire [LANES*8-1:0]       m_data,
    output wire [USER_WIDTH-1:0]    m_user,
    output wire                     m_valid,
    input  wire                     m_ready
);

localparam ST = 9;

// check configuration
initial begin
    if (LANES < 1 || LANES > 32) begin
        $error("Error: LANES must be 1..32 (instance %m)");
        $finish;
    end
    if (USER_WIDTH < 1) begin
        $error("Error: USER_WIDTH must be >= 1 (instance %m)");
        $finish;
    end
end

reg [ST-1:0] v_reg;
wire adv = !v_reg[ST-1] || m_ready;

assign s_ready = adv;
assign m_valid = v_reg[ST-1];
assign busy = |v_reg;

// per-group side band, one copy per stage
reg [USER_WIDTH-1:0] user_reg [0:ST-1];
reg [31:0]           corr_reg;            // stage 1: bzp * rowsum (wrapping)
reg signed [17:0]    lo_reg [0:ST-2];     // lo - zp, stages 1 .. ST-1
reg signed [17:0]    hi_reg [0:ST-2];     // hi - zp
reg [7:0]            zp_reg [0:ST-2];     // zp (its low 8 bits: the result is 8 bits)

// bzp * rowsum as signed 16 x 32 (two DSPs); its low 32 bits are the wrapping int32 product
/* verilator lint_off UNUSEDSIGNAL */
wire signed [47:0]   corr_full = $signed(s_bzp) * $signed(s_rowsum);
/* verilator lint_on UNUSEDSIGNAL */

integer i;

always @(posedge clk) begin
    if (adv) begin
        v_reg <= {v_reg[ST-2:0], s_valid};
        user_reg[0] <= s_user;
        corr_reg <= corr_full[31:0];
        lo_reg[0] <= $signed({{2{s_lo[15]}}, s_lo}) - $signed({{2{s_zp[15]}}, s_zp});
        hi_reg[0] <= $signed({{2{s_hi[15]}}, s_hi}) - $signed({{2{s_zp[15]}}, s_zp});
        zp_reg[0] <= s_zp[7:0];
        for (i = 1; i < ST; i = i + 1) begin
            user_reg[i] <= user_reg[i-1];
        end
        for (i = 1; i < ST - 1; i = i + 1) begin
            lo_reg[i] <= lo_reg[i-1];
            hi_reg[i] <= hi_reg[i-1];
            zp_reg[i] <= zp_reg[i-1];
        end
    end
    if (rst) begin
        v_reg <= {ST{1'b0}};
    end
end

assign m_user = user_reg[ST-1];

// leading zeros of a 32-bit value (32 for zero)
function [5:0] lzc32(input [31:0] x);
    integer k;
    reg found;
    begin
        lzc32 = 6'd32;
        found = 1'b0;
        for (k = 31; k >= 0; k = k - 1) begin
            if (!found && x[k]) begin
                lzc32 = 6'd31 - k[5:0];
                found = 1'b1;
            end
        end
    end
endfunction

genvar l;
generate
    for (l = 0; l < LANES; l = l + 1) begin : lane
        // stage 1
        reg [31:0] sum1_reg;
        reg [31:0] scale1_reg;
        // stage 2
        reg [31:0] x2_reg;
        reg [31:0] scale2_reg;
        // stage 3
        reg        s3_reg;
        reg [31:0] a3_reg;
        reg [5:0]  lz3_reg;
        reg [31:0] scale3_reg;
        // stage 4: float32(x) = mx * 2^(ex-23), zx: x == 0; scale decoded
        reg        s4_reg;
        reg [5:0]  e4_reg;
        reg [23:0] m4_reg;
        reg        z4_reg;
        reg        ss4_reg;
        reg [7:0]  es4_reg;
        reg [23:0] ms4_reg;
        // stage 5: product
        reg        s5_reg;
        reg signed [9:0] e5_reg;     // unbiased exponent of the product before normalising
        reg [47:0] p5_reg;
        reg        z5_reg;
        reg        inf5_reg;
        // stage 6: float32 product = m6 * 2^(e6-23)
        reg        s6_reg;
        reg signed [10:0] e6_reg;
        reg [23:0] m6_reg;
        reg        z6_reg;
        reg        inf6_reg;
        // stage 7: integer part and round bit
        reg        s7_reg;
        reg        sat7_reg;
        reg [30:0] i7_reg;
        reg        r7_reg;
        // stage 8: magnitude (< 2^31) or saturation
        reg        s8_reg;
        reg        sat8_reg;
        reg [31:0] mag8_reg;
        // stage 9: the 8-bit result
        reg [7:0]  out9_reg;

        // stage 4 logic: normalise |x| and round to 24 bits
        wire [31:0] n4 = a3_reg << lz3_reg[4:0];
        wire        inc4 = n4[7] && (|n4[6:0] || n4[8]);
        wire [24:0] m4r = {1'b0, n4[31:8]} + {24'd0, inc4};
        wire [5:0]  e4 = 6'd31 - lz3_reg;

        // stage 6 logic: normalise the 48-bit product, round to 24 bits
        wire        top6 = p5_reg[47];
        wire [23:0] m6n = top6 ? p5_reg[47:24] : p5_reg[46:23];
        wire        g6 = top6 ? p5_reg[23] : p5_reg[22];
        wire        st6 = top6 ? |p5_reg[22:0] : |p5_reg[21:0];
        wire        inc6 = g6 && (st6 || m6n[0]);
        wire [24:0] m6r = {1'b0, m6n} + {24'd0, inc6};
        wire signed [10:0] e6n = {e5_reg[9], e5_reg} + (top6 ? 11'sd1 : 11'sd0);

        // stage 7 logic: value = m6 * 2^(e6-23); integer part and round-half-even bit
        wire        big7 = inf6_reg || e6_reg >= 11'sd31;
        wire        left7 = e6_reg >= 11'sd23;
        wire        tiny7 = e6_reg < -11'sd1;
        wire [2:0]  lsh7 = e6_reg[2:0] - 3'd7;               // e - 23: 0..7 when left7 && !big7
        wire [4:0]  rsh7 = 5'd23 - e6_reg[4:0];              // 23 - e: 1..24 when right-shifting
        wire [30:0] il7 = {7'd0, m6_reg} << lsh7;
        wire [48:0] w7 = {m6_reg, 25'd0} >> rsh7;
        wire        r7 = w7[24] && (|w7[23:0] || w7[25]);

        // stage 9 logic: signed value, clamp, zero point
        wire signed [32:0] y9 = sat8_reg ? (s8_reg ? -33'sd2147483648 : 33'sd2147483647)
                                         : (s8_reg ? -$signed({1'b0, mag8_reg}) : $signed({1'b0, mag8_reg}));
        wire signed [32:0] lo9 = {{15{lo_reg[7][17]}}, lo_reg[7]};
        wire signed [32:0] hi9 = {{15{hi_reg[7][17]}}, hi_reg[7]};
        wire [7:0]  c9 = y9 < lo9 ? lo9[7:0] : (y9 > hi9 ? hi9[7:0] : y9[7:0]);
        wire [7:0]  o9 = c9 + zp_reg[7];

        always @(posedge clk) begin
            if (adv) begin
                // 1
                sum1_reg <= s_acc[l*32 +: 32] + s_bias[l*32 +: 32];
                scale1_reg <= s_scale[l*32 +: 32];
                // 2
                x2_reg <= sum1_reg - corr_reg;
                scale2_reg <= scale1_reg;
                // 3
                s3_reg <= x2_reg[31];
                a3_reg <= x2_reg[31] ? 32'd0 - x2_reg : x2_reg;
                lz3_reg <= lzc32(x2_reg[31] ? 32'd0 - x2_reg : x2_reg);
                scale3_reg <= scale2_reg;
                // 4
                s4_reg <= s3_reg;
                z4_reg <= lz3_reg[5];
                m4_reg <= m4r[24] ? 24'h800000 : m4r[23:0];
                e4_reg <= m4r[24] ? e4 + 6'd1 : e4;
                ss4_reg <= scale3_reg[31];
                es4_reg <= scale3_reg[30:23];
                ms4_reg <= {1'b1, scale3_reg[22:0]};
                // 5
                s5_reg <= s4_reg ^ ss4_reg;
                p5_reg <= m4_reg * ms4_reg;
                e5_reg <= $signed({4'd0, e4_reg}) + $signed({2'd0, es4_reg}) - 10'sd127;
                z5_reg <= z4_reg || es4_reg == 8'd0;
                inf5_reg <= es4_reg == 8'hff;
                // 6
                s6_reg <= s5_reg;
                m6_reg <= m6r[24] ? 24'h800000 : m6r[23:0];
                e6_reg <= m6r[24] ? e6n + 11'sd1 : e6n;
                z6_reg <= z5_reg;
                inf6_reg <= inf5_reg;
                // 7
                s7_reg <= s6_reg;
                sat7_reg <= !z6_reg && big7;
                i7_reg <= (z6_reg || big7 || tiny7) ? 31'd0 : (left7 ? il7 : {7'd0, w7[48:25]});
                r7_reg <= !z6_reg && !big7 && !tiny7 && !left7 && r7;
                // 8
                s8_reg <= s7_reg;
                sat8_reg <= sat7_reg;
                mag8_reg <= {1'b0, i7_reg} + {31'd0, r7_reg};
                // 9
                out9_reg <= o9;
            end
        end

        assign m_data[l*8 +: 8] = out9_reg;
    end
endgenerate

endmodule

`resetall
