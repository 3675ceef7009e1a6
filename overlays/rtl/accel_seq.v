/*
 * accel_seq: instruction fetch, decode, validation and data-packet control.
 *
 * The input stream (after the input skid buffer) carries packets. When the instruction
 * FIFO is empty and an instruction is needed, the next packet is a command packet: every
 * beat (low 64 bits) is pushed into the FIFO; more than IFIFO_DEPTH beats raise
 * IFIFO_OVERFLOW. Otherwise the next packet is the data packet of the instruction being
 * executed, forwarded to the row unpacker (LOAD_A: rows*row_len bytes; STREAM_B:
 * K*row_len bytes, K = win_cnt of the A bank). A data packet must end exactly on the
 * beat that holds its last byte: TLAST earlier (or a last beat whose TKEEP does not cover
 * the last byte) raises EARLY_TLAST, no TLAST there raises MISSING_TLAST. Field checks
 * raise BAD_OPCODE, BAD_FIELD and UNALIGNED before anything is consumed.
 *
 * DRAIN hands an accumulator bank to the drain engine and retires at once (double
 * buffering); it waits while the engine is still reading a bank or the MAC pipeline still
 * writes one. STREAM_B waits while the drain engine reads its accumulator bank.
 *
 * Epilogue: DRAIN_Q is DRAIN through the requantization lanes (8-bit results); a DRAIN after
 * a DRAIN_Q or back also waits until the engine is empty (packets stay in order). LOAD_EPI
 * consumes a packet of ACCEL_EPI_HEADER_BYTES + ACCEL_EPI_COLUMN_BYTES * win_cnt bytes, its
 * beats go to the parameter bank `acc` (epi_wr_*; the row unpacker is not used); it waits
 * while a DRAIN_Q still reads that bank's parameters. The u8 flag of LOAD_A/STREAM_B is
 * passed on (cur_u8) for the input path's conversion.
 *
 * After an error the sequencer sinks all input (tready high) and starts nothing until
 * reset (CTRL.SOFT_RESET resets the datapath).
 */

`resetall
`timescale 1ns / 1ps
`default_nettype none

module accel_seq #
(
    // Input stream width in bits (L = DATA_WIDTH/8 lanes)
    parameter DATA_WIDTH = 64,
    // MAC rows
    parameter ROWS = 16,
    // A bank depth per row (int8 columns)
    parameter KMAX = 4096,
    // accumulator columns per bank
    parameter NMAX = 512,
    // instruction FIFO entries (and the longest command packet)
    parameter IFIFO_DEPTH = 256
)
(
    input  wire                     clk,
    input  wire                     rst,

    /*
     * Input stream (packets)
     */
    input  wire [63:0]              s_axis_tdata,   // low 64 bits of the beat (instructions)
    input  wire [DATA_WIDTH/8-1:0]  s_axis_tkeep,
    input  wire                     s_axis_tvalid,
    output wire                     s_axis_tready,
    input  wire                     s_axis_tlast,

    /*
     * Row unpacker: configuration and its input (data is s_axis_tdata)
     */
    output wire                     up_start,
    output wire [15:0]              up_rows,
    output wire [15:0]              up_row_len,
    output wire [15:0]              up_win_lo,
    output wire [15:0]              up_win_cnt,
    input  wire                     up_busy,
    output wire                     up_tvalid,
    input  wire                     up_tready,

    /*
     * Routing of the unpacker's chunks (valid from up_start until the next up_start)
     */
    output wire                     mode_load,     // LOAD_A: chunks go to A bank cur_abuf
    output wire                     mode_stream,   // STREAM_B: chunks go to the MAC array
    output wire                     cur_abuf,
    output wire                     cur_acc,
    output wire                     cur_accumulate,
    output wire                     cur_u8,        // the packet's bytes are uint8 (u8 flag)
    output wire                     sb_start,      // first cycle of a STREAM_B (cur_* valid)
    output wire [7:0]               cur_rows,      // rows of A bank cur_abuf (active MAC rows)
    input  wire                     mac_busy,      // chunks in flight (for IDLE)
    input  wire                     mac_rd_block,  // an accumulator write lands after next cycle

    /*
     * Drain engine
     */
    output wire                     drain_valid,
    output wire                     drain_bank,
    output wire [7:0]               drain_rows,
    output wire [15:0]              drain_cnt,
    output wire                     drain_q,       // DRAIN_Q
    input  wire                     drain_rd_busy,
    input  wire                     drain_rd_bank,
    input  wire                     drain_busy,
    input  wire                     drain_q_mode,  // the engine's last command was a DRAIN_Q
    input  wire [1:0]               drain_epi_busy, // per bank: a DRAIN_Q reads its parameters

    /*
     * Epilogue parameters (LOAD_EPI): start, then the packet's beats (data is s_axis_tdata
     * of the full width, in accel_top)
     */
    output wire                     epi_wr_start,  // also high while a LOAD_EPI waits (see below)
    output wire                     epi_wr_bank,
    output wire [15:0]              epi_wr_cnt,
    output wire                     epi_wr_valid,

    /*
     * Status
     */
    output wire                     idle,
    output wire                     error,
    output wire [7:0]               error_code,
    output wire [31:0]              instr_count,
    output wire                     ififo_empty,
    output wire                     in_stall
);

// The generated header (no include guard) declares module-scoped localparams; not all are used here.
/* verilator lint_off UNUSEDPARAM */
`include "accel_spec.vh"
/* verilator lint_on UNUSEDPARAM */

localparam L = DATA_WIDTH / 8;
localparam SHIFT = $clog2(L);
localparam CMD_W = $clog2(IFIFO_DEPTH+1);
localparam OPW = ACCEL_OPCODE_WIDTH;

localparam [OPW-1:0] OP_LOAD_A = ACCEL_OP_LOAD_A[OPW-1:0];
localparam [OPW-1:0] OP_STREAM_B = ACCEL_OP_STREAM_B[OPW-1:0];
localparam [OPW-1:0] OP_DRAIN = ACCEL_OP_DRAIN[OPW-1:0];
localparam [OPW-1:0] OP_LOAD_EPI = ACCEL_OP_LOAD_EPI[OPW-1:0];
localparam [OPW-1:0] OP_DRAIN_Q = ACCEL_OP_DRAIN_Q[OPW-1:0];
localparam [31:0] EPI_HEADER_C = ACCEL_EPI_HEADER_BYTES;
localparam [15:0] EPI_COLUMN_C = ACCEL_EPI_COLUMN_BYTES[15:0];

localparam [7:0] E_BAD_OPCODE = ACCEL_ERR_BAD_OPCODE[7:0];
localparam [7:0] E_EARLY_TLAST = ACCEL_ERR_EARLY_TLAST[7:0];
localparam [7:0] E_MISSING_TLAST = ACCEL_ERR_MISSING_TLAST[7:0];
localparam [7:0] E_IFIFO_OVERFLOW = ACCEL_ERR_IFIFO_OVERFLOW[7:0];
localparam [7:0] E_BAD_FIELD = ACCEL_ERR_BAD_FIELD[7:0];
localparam [7:0] E_UNALIGNED = ACCEL_ERR_UNALIGNED[7:0];

localparam [16:0] ROWS_C = ROWS[16:0];
localparam [16:0] KMAX_C = KMAX[16:0];
localparam [16:0] NMAX_C = NMAX[16:0];
localparam [CMD_W-1:0] DEPTH_C = IFIFO_DEPTH[CMD_W-1:0];

// check configuration
initial begin
    if (DATA_WIDTH != 64 && DATA_WIDTH != 128 && DATA_WIDTH != 256) begin
        $error("Error: DATA_WIDTH must be 64, 128 or 256: an instruction is one beat of 64 bits (instance %m)");
        $finish;
    end
    if (ROWS < 1 || ROWS > 255) begin
        $error("Error: ROWS must be 1..255 (instance %m)");
        $finish;
    end
    if (KMAX < L || KMAX % L != 0 || KMAX > 65535 || NMAX < L || NMAX % L != 0 || NMAX > 65535) begin
        $error("Error: KMAX and NMAX must be positive multiples of DATA_WIDTH/8 below 65536 (instance %m)");
        $finish;
    end
    if (IFIFO_DEPTH < 1 || IFIFO_DEPTH > 65536) begin
        $error("Error: IFIFO_DEPTH must be 1..65536 (instance %m)");
        $finish;
    end
    if (ACCEL_F_ROWS_WIDTH != 8 || ACCEL_F_ROW_LEN_WIDTH != 16 || ACCEL_F_WIN_LO_WIDTH != 16
            || ACCEL_F_WIN_CNT_WIDTH != 16 || ACCEL_F_ABUF_WIDTH != 1 || ACCEL_F_ACC_WIDTH != 1
            || ACCEL_F_ACCUMULATE_WIDTH != 1 || ACCEL_F_U8_WIDTH != 1) begin
        $error("Error: accel_spec.vh field widths differ from the RTL's (rows 8, row_len/win 16, banks 1) (instance %m)");
        $finish;
    end
    if (ACCEL_OPCODE_LSB + OPW > 64 || ACCEL_F_WIN_CNT_LSB + 16 > 64 || ACCEL_F_WIN_LO_LSB + 16 > 64
            || ACCEL_F_ROW_LEN_LSB + 16 > 64 || ACCEL_F_ROWS_LSB + 8 > 64) begin
        $error("Error: instruction fields must lie in the low 64 bits (instance %m)");
        $finish;
    end
end

// The instruction register (ir_*) takes the FIFO's head as soon as it is free or being
// consumed, so the decode below starts from flip-flops (not the FIFO's block-RAM output) and
// the next instruction is there the cycle after one starts, as the FIFO head was before.
// S_FETCH decodes the instruction register and consumes it when it starts; waits keep it.
localparam [2:0]
    S_FETCH = 3'd0,
    S_CMD = 3'd1,
    S_DATA = 3'd2,
    S_FLUSH = 3'd3,
    S_ERROR = 3'd4;

reg [2:0]  state_reg, state_next;
reg [CMD_W-1:0] cmd_cnt_reg;
reg [31:0] bytes_left_reg;
reg [7:0]  error_code_reg;
reg [31:0] instr_count_reg;

reg        mode_load_reg;
reg        mode_stream_reg;
reg        cur_abuf_reg;
reg        cur_acc_reg;
reg        cur_accumulate_reg;
reg        cur_u8_reg;
reg        mode_epi_reg;

// A bank metadata: rows and K of the last LOAD_A into each bank
reg [7:0]  bank_rows_reg [0:1];
reg [15:0] bank_k_reg [0:1];
reg        bank_loaded_reg [0:1];

/*
 * Instruction FIFO
 */
wire        fifo_s_tvalid;
wire        fifo_s_tready;
wire [1:0]  w_field_code;                         // the beat's field check (see below)
wire [65:0] fifo_m_entry;
wire [63:0] fifo_m_tdata = fifo_m_entry[63:0];
wire [1:0]  fifo_m_code = fifo_m_entry[65:64];
wire        fifo_m_tvalid;
wire        fifo_m_tready;
wire        fifo_empty;

ififo #(
    .DATA_WIDTH(66),
    .DEPTH(IFIFO_DEPTH)
)
ififo_inst (
    .clk(clk),
    .rst(rst),
    .s_axis_tdata({w_field_code, s_axis_tdata}),
    .s_axis_tvalid(fifo_s_tvalid),
    .s_axis_tready(fifo_s_tready),
    .m_axis_tdata(fifo_m_entry),
    .m_axis_tvalid(fifo_m_tvalid),
    .m_axis_tready(fifo_m_tready),
    .empty(fifo_empty)
);

/*
 * Instruction register
 */
reg         ir_valid_reg;
reg  [63:0] ir_reg;
wire        ir_consume;                           // the instruction starts or retires
wire        ir_load = fifo_m_tvalid && (!ir_valid_reg || ir_consume);
wire        queue_empty = fifo_empty && !ir_valid_reg;

/*
 * Field checks as a command beat is pushed: every check that depends only on the
 * instruction's own fields is computed from the input beat (a register of the input skid)
 * and stored in the FIFO with it as a 2-bit code (w_field_code), so neither the FIFO's
 * block-RAM output nor the cycle that starts an instruction goes through the window and
 * range compares' carry chains; the opcode decode (one LUT) is done at the FIFO's head and
 * registered with the instruction (ir_*). Cycle counts do not change: the results are there
 * in the same cycle as ir_reg.
 */
localparam [1:0] FC_OK = 2'd0, FC_UNALIGNED = 2'd1, FC_BAD_FIELD = 2'd2, FC_BAD_OPCODE = 2'd3;

wire [OPW-1:0] w_op = s_axis_tdata[ACCEL_OPCODE_LSB +: OPW];
wire [7:0]  w_rows = s_axis_tdata[ACCEL_F_ROWS_LSB +: 8];
wire [15:0] w_row_len = s_axis_tdata[ACCEL_F_ROW_LEN_LSB +: 16];
wire [15:0] w_win_lo = s_axis_tdata[ACCEL_F_WIN_LO_LSB +: 16];
wire [15:0] w_win_cnt = s_axis_tdata[ACCEL_F_WIN_CNT_LSB +: 16];

wire w_is_load = w_op == OP_LOAD_A;
wire w_is_stream = w_op == OP_STREAM_B;
wire w_is_drain = w_op == OP_DRAIN || w_op == OP_DRAIN_Q;
wire w_is_epi = w_op == OP_LOAD_EPI;

wire [16:0] w_win_cnt_17 = {1'b0, w_win_cnt};
wire [16:0] w_win_end = {1'b0, w_win_lo} + w_win_cnt_17;
wire w_rows_ok = w_rows != 8'd0 && {9'd0, w_rows} <= ROWS_C;
wire w_window_ok = w_win_cnt != 16'd0 && w_win_end <= {1'b0, w_row_len};
wire w_aligned = w_win_lo[SHIFT-1:0] == {SHIFT{1'b0}};

// the decode error of the instruction's fields alone; STREAM_B's check of its A bank (which
// a LOAD_A starting in the same cycle may change) is left to the decode below
reg [1:0] w_code;
always @* begin
    w_code = FC_OK;
    if (w_is_load) begin
        if (!w_aligned) begin
            w_code = FC_UNALIGNED;
        end else if (!w_rows_ok || !w_window_ok || w_win_cnt_17 > KMAX_C) begin
            w_code = FC_BAD_FIELD;
        end
    end else if (w_is_stream) begin
        if (!w_aligned) begin
            w_code = FC_UNALIGNED;
        end else if (!w_window_ok || w_win_cnt_17 > NMAX_C) begin
            w_code = FC_BAD_FIELD;
        end
    end else if (w_is_drain) begin
        if (!w_rows_ok || w_win_cnt == 16'd0 || w_win_cnt_17 > NMAX_C) begin
            w_code = FC_BAD_FIELD;
        end
    end else if (w_is_epi) begin
        if (w_win_cnt == 16'd0 || w_win_cnt_17 > NMAX_C) begin
            w_code = FC_BAD_FIELD;
        end
    end else begin
        w_code = FC_BAD_OPCODE;
    end
end
assign w_field_code = w_code;

// at the FIFO's head: the opcode decode and the stored check's error code
wire [OPW-1:0] n_op = fifo_m_tdata[ACCEL_OPCODE_LSB +: OPW];
wire n_is_load = n_op == OP_LOAD_A;
wire n_is_stream = n_op == OP_STREAM_B;
wire n_is_drain_q = n_op == OP_DRAIN_Q;
wire n_is_drain = n_op == OP_DRAIN || n_is_drain_q;
wire n_is_epi = n_op == OP_LOAD_EPI;

reg [15:0] ir_k_reg;
reg        ir_is_load_reg;
reg        ir_is_stream_reg;
reg        ir_is_drain_reg;
reg        ir_is_drain_q_reg;
reg        ir_is_epi_reg;
reg        ir_field_bad_reg;
reg  [1:0] ir_field_code_reg;     // the stored check's code (decoded to an error code below)

// A STREAM_B's rows are the K of its A bank, registered with the instruction (ir_k_reg) so
// that the packet size's product starts from registers (see packet_bytes_reg). That K is
// written when a LOAD_A starts, and a LOAD_A in the instruction register starts exactly when
// the next instruction loads behind it (ir_load with ir_valid_reg is ir_consume, and a LOAD_A
// is consumed by its start), so its K is forwarded then.
wire        n_abuf = fifo_m_tdata[ACCEL_F_ABUF_LSB];
wire [15:0] n_k = (ir_valid_reg && ir_is_load_reg && ir_reg[ACCEL_F_ABUF_LSB] == n_abuf)
                ? ir_reg[ACCEL_F_WIN_CNT_LSB +: 16] : bank_k_reg[n_abuf];

always @(posedge clk) begin
    if (ir_load) begin
        ir_reg <= fifo_m_tdata;
        ir_k_reg <= n_k;
        ir_is_load_reg <= n_is_load;
        ir_is_stream_reg <= n_is_stream;
        ir_is_drain_reg <= n_is_drain;
        ir_is_drain_q_reg <= n_is_drain_q;
        ir_is_epi_reg <= n_is_epi;
        ir_field_bad_reg <= fifo_m_code != FC_OK;
        ir_field_code_reg <= fifo_m_code;
        ir_valid_reg <= 1'b1;
    end else if (ir_consume) begin
        ir_valid_reg <= 1'b0;
    end
    if (rst) begin
        ir_valid_reg <= 1'b0;
    end
end

/*
 * Decode (of the instruction register)
 */
wire [63:0] instr = ir_reg;
wire        f_abuf = instr[ACCEL_F_ABUF_LSB];
wire        f_acc = instr[ACCEL_F_ACC_LSB];
wire        f_accumulate = instr[ACCEL_F_ACCUMULATE_LSB];
wire        f_u8 = instr[ACCEL_F_U8_LSB];
wire [7:0]  f_rows = instr[ACCEL_F_ROWS_LSB +: 8];
wire [15:0] f_row_len = instr[ACCEL_F_ROW_LEN_LSB +: 16];
wire [15:0] f_win_lo = instr[ACCEL_F_WIN_LO_LSB +: 16];
wire [15:0] f_win_cnt = instr[ACCEL_F_WIN_CNT_LSB +: 16];

wire is_load = ir_is_load_reg;
wire is_stream = ir_is_stream_reg;
wire is_drain_q = ir_is_drain_q_reg;
wire is_drain = ir_is_drain_reg;                  // both hand a bank to the drain engine
wire is_epi = ir_is_epi_reg;

// STREAM_B needs a loaded A bank: a LOAD_A that starts has rows != 0 and K != 0 (its field
// checks), so "rows and K of the bank nonzero" is "the bank was loaded since reset"
// (bank_loaded_reg, one flip-flop per bank instead of a 24-bit zero test)
wire bank_bad = is_stream && !bank_loaded_reg[f_abuf];
wire decode_bad = ir_field_bad_reg || bank_bad;
// the error code of a failed check: from the stored code, not registered as a code at the
// instruction register's load (constant values there become set/reset pins driven by the load)
wire [7:0] field_error = ir_field_code_reg == FC_UNALIGNED ? E_UNALIGNED
                       : ir_field_code_reg == FC_BAD_FIELD ? E_BAD_FIELD : E_BAD_OPCODE;
wire [7:0] decode_error = ir_field_bad_reg ? field_error : E_BAD_FIELD;

// Packet size, pipelined: computed from the instruction register every cycle and
// registered, so in the first cycle after a start packet_bytes_reg holds the started packet's
// size (first_reg selects it; bytes_left_reg takes over from the next cycle). A LOAD_A is rows
// x row_len bytes, a STREAM_B K x row_len (the product: rows or K selected by a register, the
// multiplier's output registered); a LOAD_EPI is a header and win_cnt column records, a
// constant multiple formed beside it and selected after the product.
wire [15:0] packet_rows = is_stream ? ir_k_reg : {8'd0, f_rows};     // LOAD_A / STREAM_B
wire [31:0] data_bytes = {16'd0, packet_rows} * {16'd0, f_row_len};
wire [31:0] epi_bytes = {16'd0, f_win_cnt} * {16'd0, EPI_COLUMN_C} + EPI_HEADER_C;
wire [31:0] packet_bytes = is_epi ? epi_bytes : data_bytes;
reg  [31:0] packet_bytes_reg;
reg         first_reg;
wire [31:0] bytes_cur = first_reg ? packet_bytes_reg : bytes_left_reg;

// "The current beat is the packet's last" (bytes_cur <= L) and the last beat's last byte
// (bytes_cur - 1, mod L) are registers, so no compare or subtract of a count sits in front of
// the state machine: both are loaded at the start from the instruction register (the first:
// rows x row_len <= L needs both <= L unless one is zero, and then row_len <= L / rows, a
// table (FIT_LEN) rather than a multiplier; a LOAD_EPI fits when win_cnt <= EPI_FIT), then
// last_beat_reg follows bytes_left_reg (updated with it, below) while the last byte stays:
// the count steps down by L.
localparam PW = SHIFT + 1;              // bits of a count <= L
function [PW*2*L-1:0] fit_table(input integer unused);
    integer r;
    integer k;
    begin
        fit_table = {PW*2*L{1'b0}};
        for (r = 1; r <= L; r = r + 1) begin
            for (k = 1; k <= L; k = k + 1) begin
                if (r * k <= L) begin
                    fit_table[r*PW +: PW] = fit_table[r*PW +: PW] + 1'b1;     // L / r
                end
            end
        end
    end
endfunction
localparam [PW*2*L-1:0] FIT_LEN = fit_table(0);
localparam integer EPI_FIT = ACCEL_EPI_HEADER_BYTES > L ? -1
                           : (L - ACCEL_EPI_HEADER_BYTES) / ACCEL_EPI_COLUMN_BYTES;
wire [PW-1:0] fit_len = FIT_LEN[packet_rows[PW-1:0]*PW +: PW];
wire data_first_last = packet_rows == 16'd0 || f_row_len == 16'd0
                     || (packet_rows <= L[15:0] && f_row_len <= L[15:0]
                         && f_row_len[PW-1:0] <= fit_len);
wire epi_first_last = EPI_FIT >= 0 && {16'd0, f_win_cnt} <= EPI_FIT;
reg  last_beat_reg;
reg  [SHIFT-1:0] last_byte_reg;

always @(posedge clk) begin
    packet_bytes_reg <= packet_bytes;
end

wire stream_wait = drain_rd_busy && drain_rd_bank == f_acc;
// A DRAIN / DRAIN_Q goes when the instruction register holds one in S_FETCH, the reader and
// the accumulators allow it and, for a drain of the other kind than the last, the drain engine
// is idle. Kept as parts formed from registers, so the engine's busy (the late input) is one
// LUT from drain_go and two from the instruction register's load.
(* keep *) wire drain_ready = state_reg == S_FETCH && ir_valid_reg && !decode_bad && is_drain
                              && !drain_rd_busy && !mac_rd_block;
(* keep *) wire drain_switch = is_drain_q != drain_q_mode;
(* keep *) wire drain_go_w = drain_ready && !(drain_switch && drain_busy);
wire epi_wait = drain_epi_busy[f_acc];

/*
 * Data beats
 */
wire in_beat = s_axis_tvalid && s_axis_tready;
wire last_beat = last_beat_reg;       // bytes_cur <= L
wire [SHIFT-1:0] last_byte = last_byte_reg;   // index in the last beat
wire last_kept = s_axis_tkeep[last_byte];

reg start;
reg drain_go;
reg retire;
reg [7:0] error_next;
reg       err_next;     // error_next is set (a flag beside the code: no zero test of the code)

always @* begin
    state_next = state_reg;
    start = 1'b0;
    drain_go = 1'b0;
    retire = 1'b0;
    error_next = 8'd0;
    err_next = 1'b0;

    case (state_reg)
        S_FETCH: begin
            if (ir_valid_reg) begin
                if (decode_bad) begin
                    error_next = decode_error;
                    err_next = 1'b1;
                end else if (is_drain) begin
                    if (drain_go_w) begin
                        drain_go = 1'b1;
                        retire = 1'b1;
                    end
                end else if (!(is_stream && stream_wait) && !(is_epi && epi_wait)) begin
                    start = 1'b1;
                    state_next = S_DATA;
                end
            end else if (queue_empty) begin
                state_next = S_CMD;
            end
        end
        S_CMD: begin
            if (in_beat) begin
                if (cmd_cnt_reg == DEPTH_C || !fifo_s_tready) begin
                    error_next = E_IFIFO_OVERFLOW;
                    err_next = 1'b1;
                end else if (s_axis_tlast) begin
                    state_next = S_FETCH;
                end
            end
        end
        S_DATA: begin
            if (in_beat) begin
                if (!last_beat) begin
                    if (s_axis_tlast) begin
                        error_next = E_EARLY_TLAST;
                        err_next = 1'b1;
                    end
                end else if (!s_axis_tlast) begin
                    error_next = E_MISSING_TLAST;
                    err_next = 1'b1;
                end else if (!last_kept) begin
                    error_next = E_EARLY_TLAST;
                    err_next = 1'b1;
                end else begin
                    state_next = S_FLUSH;
                end
            end
        end
        S_FLUSH: begin
            if (!up_busy) begin
                retire = 1'b1;
                state_next = S_FETCH;
            end
        end
        default: begin
            state_next = S_ERROR;
        end
    endcase

    if (err_next) begin
        state_next = S_ERROR;
    end
end

always @(posedge clk) begin
    state_reg <= state_next;

    if (state_reg == S_FETCH) begin
        cmd_cnt_reg <= {CMD_W{1'b0}};
    end else if (state_reg == S_CMD && in_beat && cmd_cnt_reg != DEPTH_C) begin
        cmd_cnt_reg <= cmd_cnt_reg + 1'b1;
    end

    first_reg <= start;
    if (start) begin
        last_beat_reg <= is_epi ? epi_first_last : data_first_last;
        last_byte_reg <= packet_bytes[SHIFT-1:0] - 1'b1;
        mode_load_reg <= is_load;
        mode_stream_reg <= is_stream;
        cur_abuf_reg <= f_abuf;
        cur_acc_reg <= f_acc;
        cur_accumulate_reg <= f_accumulate;
        cur_u8_reg <= f_u8 && (is_load || is_stream);
        mode_epi_reg <= is_epi;
        if (is_load) begin
            bank_rows_reg[f_abuf] <= f_rows;
            bank_k_reg[f_abuf] <= f_win_cnt;
            bank_loaded_reg[f_abuf] <= 1'b1;
        end
    end
    if (state_reg == S_DATA) begin
        bytes_left_reg <= !in_beat ? bytes_cur : last_beat ? 32'd0 : bytes_cur - L;
        last_beat_reg <= !in_beat ? last_beat : last_beat || bytes_cur <= 2 * L;
    end

    if (err_next) begin
        error_code_reg <= error_next;
    end

    if (retire) begin
        instr_count_reg <= instr_count_reg + 1'b1;
    end

    if (rst) begin
        state_reg <= S_FETCH;
        cmd_cnt_reg <= {CMD_W{1'b0}};
        bytes_left_reg <= 32'd0;
        last_beat_reg <= 1'b1;
        first_reg <= 1'b0;
        error_code_reg <= 8'd0;
        instr_count_reg <= 32'd0;
        mode_load_reg <= 1'b0;
        mode_stream_reg <= 1'b0;
        mode_epi_reg <= 1'b0;
        cur_u8_reg <= 1'b0;
        bank_rows_reg[0] <= 8'd0;
        bank_rows_reg[1] <= 8'd0;
        bank_k_reg[0] <= 16'd0;
        bank_k_reg[1] <= 16'd0;
        bank_loaded_reg[0] <= 1'b0;
        bank_loaded_reg[1] <= 1'b0;
    end
end

assign fifo_s_tvalid = state_reg == S_CMD && s_axis_tvalid && cmd_cnt_reg != DEPTH_C;
assign ir_consume = start || drain_go;
assign fifo_m_tready = ir_load;

assign s_axis_tready = state_reg == S_CMD || state_reg == S_ERROR
                       || (state_reg == S_DATA && (mode_epi_reg || up_tready));

assign up_start = start && !is_epi;
assign up_rows = packet_rows;
assign up_row_len = f_row_len;
assign up_win_lo = f_win_lo;
assign up_win_cnt = f_win_cnt;
assign up_tvalid = state_reg == S_DATA && s_axis_tvalid && !mode_epi_reg;

assign mode_load = mode_load_reg;
assign mode_stream = mode_stream_reg;
assign cur_abuf = cur_abuf_reg;
assign cur_acc = cur_acc_reg;
assign cur_accumulate = cur_accumulate_reg;
assign cur_u8 = cur_u8_reg;
assign sb_start = first_reg && mode_stream_reg;
assign cur_rows = bank_rows_reg[cur_abuf_reg];

assign drain_valid = drain_go;
assign drain_bank = f_acc;
assign drain_rows = f_rows;
assign drain_cnt = f_win_cnt;
assign drain_q = is_drain_q;

// high in the cycle a LOAD_EPI starts and in every earlier cycle it waits in the instruction
// register (S_FETCH, so never during a data packet): epi_params only latches the bank and
// count (the instruction register's fields, which do not change while it waits) and clears
// its beat count, so the repeats change nothing, and the decode and wait conditions of
// `start` stay off the parameter memories' write enable and data path (their DIN)
assign epi_wr_start = state_reg == S_FETCH && ir_valid_reg && is_epi;
assign epi_wr_bank = f_acc;
assign epi_wr_cnt = f_win_cnt;
// (s_axis_tready is high in S_DATA of a LOAD_EPI, so this is in_beat without the unpacker's
// ready, which is off the parameter memories' write path)
assign epi_wr_valid = state_reg == S_DATA && mode_epi_reg && s_axis_tvalid;

// idle: waiting for a command packet (none of it received yet), nothing in flight
assign idle = (state_reg == S_FETCH || (state_reg == S_CMD && cmd_cnt_reg == {CMD_W{1'b0}}))
              && queue_empty && !up_busy && !mac_busy && !drain_busy;
assign error = state_reg == S_ERROR;
assign error_code = error_code_reg;
assign instr_count = instr_count_reg;
assign ififo_empty = queue_empty;
assign in_stall = state_reg == S_DATA && !s_axis_tvalid;

endmodule

`resetall
