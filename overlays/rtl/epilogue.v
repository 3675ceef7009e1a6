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
 * Pipeline: ST registered stages, free running (no clock enable: a stall enable would reach
 * every register of every lane, thousands of pins, and would make s_ready a combinational
 * function of m_ready). Stages 1 .. ST-1 advance every cycle (a bubble is a group with its
 * valid bit low); stage ST (clamp, + zero point) is written into an output buffer: the output
 * register m_* plus a FIFO behind it (distributed RAM), filled only while m_ready is low.
 * Flow control by credit, verilog-axis style: cnt_reg counts the groups in stages 1 .. ST-1
 * and in the buffer, and s_ready is a register, high while fewer than DEPTH = ST + 1 are in
 * flight, so a stalled output can never overflow the buffer and s_ready never depends
 * combinationally on m_ready (m_ready reaches only the buffer's control and cnt_reg).
 * One group per cycle with m_ready high (ST-1 groups in the stages + 1 in the output register
 * = ST < DEPTH); the latency from an accepted input to m_valid is ST cycles, as with a stalling
 * pipeline. While the output is blocked the epilogue holds DEPTH groups (one more than ST).
 * Activity gate: stages 2 .. ST-1 load only while a group is in stages 1 .. ST-2 (act_reg, a
 * register computed a cycle ahead from take and v_reg, one copy per lane and one for the side
 * band so no enable net reaches more than a lane's registers). A bubble's contents are never
 * read (the output buffer takes stage ST-1 only with its valid bit), so holding them instead
 * changes no result; it saves the toggling, and the Verilated model skips the idle lanes
 * (int32 drains and compute never wake the epilogue).
 *   1: acc + bias; bzp * rowsum (a DSP)
 *   2: x = sum - correction and -x side by side: sign, |x|
 *   3: leading zeros of |x| (a log-depth tree); |x| shifted left by whole bytes
 *   4: |x| normalised (the remaining 0..7 bits) and rounded to 24 bits
 *   5: mantissa product 24x24 (DSPs), exponent sum
 *   6: product normalised and rounded (RNE)
 *   7: float -> integer: shift, round bit
 *   8: sign and round bit (one adder), saturation
 *   9: clamp, + zero point (into the output register or the FIFO)
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
// groups in flight (stages 1 .. ST-1 and the output buffer) at which s_ready drops: ST in flight
// at full rate (ST-1 stages + the output register) plus one, as s_ready is registered
localparam DEPTH = ST + 1;
localparam CNT_W = $clog2(DEPTH + 1);
// FIFO behind the output register: up to DEPTH-1 groups, a power of two (distributed RAM)
localparam FIFO_AW = $clog2(DEPTH - 1);
localparam OUT_W = LANES * 8 + USER_WIDTH;

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

/*
 * Flow control: credits and the output buffer
 */
reg [ST-2:0]      v_reg;          // a group in stage 1 .. ST-1
reg [CNT_W-1:0]   cnt_reg;        // groups in stages 1 .. ST-1 and in the output buffer
reg               s_ready_reg;

reg               out_v_reg;
reg [OUT_W-1:0]   out_reg;        // {user, data} of the output group
reg [FIFO_AW-1:0] wr_ptr_reg;
reg [FIFO_AW-1:0] rd_ptr_reg;
(* ram_style = "distributed" *)
reg [OUT_W-1:0]   fifo_mem [0:2**FIFO_AW-1];

wire [OUT_W-1:0]  o9;             // stage ST's result, {user, data}
wire              take = s_valid && s_ready_reg;
wire              pop = out_v_reg && m_ready;
wire              out_load = !out_v_reg || pop;
wire              fifo_empty = wr_ptr_reg == rd_ptr_reg;
// stage ST-1 holds a group: it enters the output register (buffer empty or being emptied)
// or, behind older groups or a stalled output, the FIFO
wire              w = v_reg[ST-2];
wire              fifo_wr = w && !(out_load && fifo_empty);
wire [CNT_W-1:0]  cnt_next = cnt_reg + {{CNT_W-1{1'b0}}, take} - {{CNT_W-1{1'b0}}, pop};

assign s_ready = s_ready_reg;
reg               busy_reg;       // cnt_reg != 0, registered from cnt_next (the drain ORs it into its busy)
assign busy = busy_reg;
assign m_valid = out_v_reg;
assign m_data = out_reg[LANES*8-1:0];
assign m_user = out_reg[OUT_W-1:LANES*8];

always @(posedge clk) begin
    v_reg <= {v_reg[ST-3:0], take};
    cnt_reg <= cnt_next;
    busy_reg <= cnt_next != {CNT_W{1'b0}};
    s_ready_reg <= cnt_next < DEPTH[CNT_W-1:0];

    if (fifo_wr) begin
        fifo_mem[wr_ptr_reg] <= o9;
        wr_ptr_reg <= wr_ptr_reg + 1'b1;
    end
    if (out_load) begin
        if (!fifo_empty) begin
            out_reg <= fifo_mem[rd_ptr_reg];
            rd_ptr_reg <= rd_ptr_reg + 1'b1;
        end else begin
            out_reg <= o9;
        end
        out_v_reg <= !fifo_empty || w;
    end

    if (rst) begin
        v_reg <= {ST-1{1'b0}};
        cnt_reg <= {CNT_W{1'b0}};
        busy_reg <= 1'b0;
        s_ready_reg <= 1'b1;
        out_v_reg <= 1'b0;
        wr_ptr_reg <= {FIFO_AW{1'b0}};
        rd_ptr_reg <= {FIFO_AW{1'b0}};
    end
end

/*
 * Per-group side band, one copy per stage 1 .. ST-1 (free running, like the lanes)
 */
reg [USER_WIDTH-1:0] user_reg [0:ST-2];
reg [31:0]           corr_reg;            // stage 1: bzp * rowsum (wrapping)
reg signed [17:0]    lo_reg [0:ST-2];     // lo - zp, stages 1 .. ST-1
reg signed [17:0]    hi_reg [0:ST-2];     // hi - zp
reg [7:0]            zp_reg [0:ST-2];     // zp (its low 8 bits: the result is 8 bits)

// bzp * rowsum as signed 16 x 32 (two DSPs); its low 32 bits are the wrapping int32 product
/* verilator lint_off UNUSEDSIGNAL */
wire signed [47:0]   corr_full = $signed(s_bzp) * $signed(s_rowsum);
/* verilator lint_on UNUSEDSIGNAL */

integer i;

// a group will be in stages 1 .. ST-2 in the next cycle: stages 2 .. ST-1 then have one to load
wire act_next = take || |v_reg[ST-4:0];
(* keep = "true" *) reg side_act_reg;     // the side band's copy of the activity gate

// keep on the register and its process: yosys would merge the equal copies into one net
(* keep *)
always @(posedge clk) begin
    side_act_reg <= act_next;
    if (rst) begin
        side_act_reg <= 1'b0;
    end
end

always @(posedge clk) begin
    user_reg[0] <= s_user;
    corr_reg <= corr_full[31:0];
    lo_reg[0] <= $signed({{2{s_lo[15]}}, s_lo}) - $signed({{2{s_zp[15]}}, s_zp});
    hi_reg[0] <= $signed({{2{s_hi[15]}}, s_hi}) - $signed({{2{s_zp[15]}}, s_zp});
    zp_reg[0] <= s_zp[7:0];
    if (side_act_reg) begin
        for (i = 1; i < ST - 1; i = i + 1) begin
            user_reg[i] <= user_reg[i-1];
            lo_reg[i] <= lo_reg[i-1];
            hi_reg[i] <= hi_reg[i-1];
            zp_reg[i] <= zp_reg[i-1];
        end
    end
end

assign o9[OUT_W-1:LANES*8] = user_reg[ST-2];

// the clamp bounds in the output domain (lo - zp + zp: per group, shared by the lanes)
wire [7:0] lo_o9 = lo_reg[ST-2][7:0] + zp_reg[ST-2];
wire [7:0] hi_o9 = hi_reg[ST-2][7:0] + zp_reg[ST-2];

// leading zeros of a 32-bit value (32 for zero): a binary tree, log2(32) levels of 2:1 muxes
// instead of a 32-deep priority chain. A node covers 2^k bits: v = any bit set, c = leading
// zeros within it (valid when v); its upper half decides: c = vh ? {0, ch} : {1, cl}.
function [5:0] lzc32(input [31:0] x);
    integer k;
    reg [15:0] v1;
    reg [15:0] c1;
    reg [7:0]  v2;
    reg [15:0] c2;      // 8 x 2 bits
    reg [3:0]  v3;
    reg [11:0] c3;      // 4 x 3 bits
    reg [1:0]  v4;
    reg [7:0]  c4;      // 2 x 4 bits
    reg [4:0]  c5;
    begin
        for (k = 0; k < 16; k = k + 1) begin
            v1[k] = x[2*k+1] || x[2*k];
            c1[k] = !x[2*k+1];
        end
        for (k = 0; k < 8; k = k + 1) begin
            v2[k] = v1[2*k+1] || v1[2*k];
            c2[k*2 +: 2] = v1[2*k+1] ? {1'b0, c1[2*k+1]} : {1'b1, c1[2*k]};
        end
        for (k = 0; k < 4; k = k + 1) begin
            v3[k] = v2[2*k+1] || v2[2*k];
            c3[k*3 +: 3] = v2[2*k+1] ? {1'b0, c2[(2*k+1)*2 +: 2]} : {1'b1, c2[2*k*2 +: 2]};
        end
        for (k = 0; k < 2; k = k + 1) begin
            v4[k] = v3[2*k+1] || v3[2*k];
            c4[k*4 +: 4] = v3[2*k+1] ? {1'b0, c3[(2*k+1)*3 +: 3]} : {1'b1, c3[2*k*3 +: 3]};
        end
        c5 = v4[1] ? {1'b0, c4[7:4]} : {1'b1, c4[3:0]};
        lzc32 = (v4[1] || v4[0]) ? {1'b0, c5} : 6'd32;
    end
endfunction

genvar l;
generate
    for (l = 0; l < LANES; l = l + 1) begin : lane
        // stage 1
        reg [31:0] sum1_reg;
        reg [31:0] scale1_reg;
        // stage 2: sign and |x| (x = sum - correction, INT_MIN stays 2^31)
        reg        s2_reg;
        reg [31:0] a2_reg;
        reg [31:0] scale2_reg;
        // stage 3: |x| pre-shifted left by 8 * lz[4:3] (whole bytes), the leading zeros
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
        // stage 8: the signed result (+-(integer part + round bit), or saturated)
        reg signed [32:0] y8_reg;

        // stage 2 logic: x and -x side by side from the stage-1 registers (two carry chains in
        // parallel), selected by x's sign, so stage 3 starts from |x| with no negation
        wire [31:0] x2 = sum1_reg - corr_reg;
        wire [31:0] nx2 = corr_reg - sum1_reg;

        // stage 3 logic: the byte part of the normalising shift (its upper leading-zero bits are
        // two OR trees deep: any bit in the top 16, any in the top byte of what is left), so
        // stage 4 shifts by lz[2:0] only
        wire        hz16 = !(|a2_reg[31:16]);
        wire        hz8 = hz16 ? !(|a2_reg[15:8]) : !(|a2_reg[31:24]);
        wire [31:0] t3 = hz16 ? {a2_reg[15:0], 16'd0} : a2_reg;
        wire [31:0] b3 = hz8 ? {t3[23:0], 8'd0} : t3;

        // stage 4 logic: normalise |x| (the bit part of the shift) and round to 24 bits. As in
        // stage 6, the rounded-up mantissa (n4 + 1 from the shifter, m4up) and both exponents
        // are formed beside the round decision (inc4) and the all-ones test (ones4), which
        // then select
        wire [31:0] n4 = a3_reg << lz3_reg[2:0];
        wire        inc4 = n4[7] && (|n4[6:0] || n4[8]);
        wire        ones4 = &n4[31:8];
        wire [24:0] m4up = {1'b0, n4[31:8]} + 25'd1;
        wire [23:0] m4r = inc4 ? {m4up[24] | m4up[23], m4up[22:0]} : n4[31:8];
        wire [5:0]  e4 = 6'd31 - lz3_reg;
        wire [5:0]  e4p1 = 6'd32 - lz3_reg;
        wire [5:0]  e4r = (inc4 && ones4) ? e4p1 : e4;

        // stage 6 logic: normalise the 48-bit product, round to 24 bits. The rounded-up
        // mantissas of both normalisations (m6hi1, m6lo1) and the exponent plus 0, 1 and 2
        // are formed from the registers in parallel with the round decision (inc6) and the
        // all-ones test (ones6, the increment's overflow), which then only select: the
        // decision and the carry chains are side by side, not in series.
        wire        top6 = p5_reg[47];
        wire [23:0] m6n = top6 ? p5_reg[47:24] : p5_reg[46:23];
        wire        g6 = top6 ? p5_reg[23] : p5_reg[22];
        wire        st6 = top6 ? |p5_reg[22:0] : |p5_reg[21:0];
        wire        inc6 = g6 && (st6 || m6n[0]);
        wire        ones6 = top6 ? &p5_reg[47:24] : &p5_reg[46:23];
        wire [24:0] m6hi1 = {1'b0, p5_reg[47:24]} + 25'd1;
        wire [24:0] m6lo1 = {1'b0, p5_reg[46:23]} + 25'd1;
        wire [24:0] m6up = top6 ? m6hi1 : m6lo1;
        // rounded up: m6n + 1, or 2^23 with the exponent one higher when m6n + 1 = 2^24
        wire [23:0] m6r = inc6 ? {m6up[24] | m6up[23], m6up[22:0]} : m6n;
        wire signed [10:0] e6x = {e5_reg[9], e5_reg};
        wire signed [10:0] e6p1 = e6x + 11'sd1;
        wire signed [10:0] e6p2 = e6x + 11'sd2;
        wire        ovf6 = inc6 && ones6;
        wire signed [10:0] e6r = top6 ? (ovf6 ? e6p2 : e6p1) : (ovf6 ? e6p1 : e6x);

        // stage 7 logic: value = m6 * 2^(e6-23); integer part and round-half-even bit
        wire        big7 = inf6_reg || e6_reg >= 11'sd31;
        wire        left7 = e6_reg >= 11'sd23;
        wire        tiny7 = e6_reg < -11'sd1;
        wire [2:0]  lsh7 = e6_reg[2:0] - 3'd7;               // e - 23: 0..7 when left7 && !big7
        wire [4:0]  rsh7 = 5'd23 - e6_reg[4:0];              // 23 - e: 1..24 when right-shifting
        wire [30:0] il7 = {7'd0, m6_reg} << lsh7;
        wire [48:0] w7 = {m6_reg, 25'd0} >> rsh7;
        wire        r7 = w7[24] && (|w7[23:0] || w7[25]);

        // stage 8 logic: sign and rounding in one carry chain, -(i + r) = ~i + (1 - r):
        // y = (i ^ s) + (s ^ r) for sign s (no negation after the increment)
        wire signed [32:0] y8 = $signed({2'b00, i7_reg} ^ {33{s7_reg}}) + $signed({32'd0, s7_reg ^ r7_reg});

        // stage 9 logic (into the output buffer): clamp, zero point. clamp(y) + zp with the
        // zero point added to each candidate in parallel with the bound compares
        wire signed [32:0] lo9 = {{15{lo_reg[ST-2][17]}}, lo_reg[ST-2]};
        wire signed [32:0] hi9 = {{15{hi_reg[ST-2][17]}}, hi_reg[ST-2]};
        wire [7:0]  yz9 = y8_reg[7:0] + zp_reg[ST-2];

        assign o9[l*8 +: 8] = y8_reg < lo9 ? lo_o9 : (y8_reg > hi9 ? hi_o9 : yz9);

        (* keep = "true" *) reg act_reg;      // this lane's copy of the activity gate

        (* keep *)
        always @(posedge clk) begin
            act_reg <= act_next;
            if (rst) begin
                act_reg <= 1'b0;
            end
        end

        always @(posedge clk) begin
            // 1
            sum1_reg <= s_acc[l*32 +: 32] + s_bias[l*32 +: 32];
            scale1_reg <= s_scale[l*32 +: 32];
        end

        always @(posedge clk) if (act_reg) begin
            // 2
            s2_reg <= x2[31];
            a2_reg <= x2[31] ? nx2 : x2;
            scale2_reg <= scale1_reg;
            // 3
            s3_reg <= s2_reg;
            a3_reg <= b3;
            lz3_reg <= lzc32(a2_reg);
            scale3_reg <= scale2_reg;
            // 4
            s4_reg <= s3_reg;
            z4_reg <= lz3_reg[5];
            m4_reg <= m4r;
            e4_reg <= e4r;
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
            m6_reg <= m6r;
            e6_reg <= e6r;
            z6_reg <= z5_reg;
            inf6_reg <= inf5_reg;
            // 7
            s7_reg <= s6_reg;
            sat7_reg <= !z6_reg && big7;
            i7_reg <= (z6_reg || big7 || tiny7) ? 31'd0 : (left7 ? il7 : {7'd0, w7[48:25]});
            r7_reg <= !z6_reg && !big7 && !tiny7 && !left7 && r7;
            // 8
            y8_reg <= sat7_reg ? (s7_reg ? -33'sd2147483648 : 33'sd2147483647) : y8;
        end
    end
endgenerate

endmodule

`resetall
