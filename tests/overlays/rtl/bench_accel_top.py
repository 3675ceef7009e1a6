"""cocotb bench: accel_top end to end (matmuls vs numpy, errors, SOFT_RESET, counters)."""

from __future__ import annotations

import os
import random

import cocotb
import numpy as np
from accel_program import Epilogue, Geometry, Program, assemble, beat, matmul
from bench_util import bursty, param, pauses, start
from cocotb.clock import Clock
from cocotb.triggers import ClockCycles, RisingEdge, with_timeout
from cocotbext.axi import (
    AxiLiteBus,
    AxiLiteMaster,
    AxiStreamBus,
    AxiStreamFrame,
    AxiStreamSink,
    AxiStreamSource,
)

from accel.contract import epilogue as golden
from accel.overlays.spec import load_spec

SPEC = load_spec(os.environ.get("ACCEL_SPEC", "z2_default"))
GEO = Geometry.from_params(SPEC, param)
L = GEO.lanes
CTRL = SPEC.reg("CTRL")
STATUS = SPEC.reg("STATUS")


# accel_top (clk, rst) or the accel_ip wrapper (aclk, aresetn)
IS_IP = os.environ.get("COCOTB_TOPLEVEL", "") == "accel_ip"


def clk_of(dut):
    return dut.aclk if IS_IP else dut.clk


class TB:
    def __init__(self, dut):
        self.dut = dut
        clk = clk_of(dut)
        rst = dut.aresetn if IS_IP else dut.rst
        kw = {"reset_active_level": not IS_IP}
        self.axil = AxiLiteMaster(AxiLiteBus.from_prefix(dut, "s_axil"), clk, rst, **kw)
        self.src = AxiStreamSource(AxiStreamBus.from_prefix(dut, "s_axis"), clk, rst, **kw)
        self.snk = AxiStreamSink(AxiStreamBus.from_prefix(dut, "m_axis"), clk, rst, **kw)

    def set_pauses(self, seed: int, p_in: float, p_out: float, burst: bool = False):
        if burst:
            self.src.set_pause_generator(bursty(seed))
            self.snk.set_pause_generator(bursty(seed + 1000))
            return
        # (a generator that never pauses, not None: cocotbext-axi keeps the last pause state
        # when its pause generator is removed mid-pause)
        self.src.set_pause_generator(pauses(seed, p_in))
        self.snk.set_pause_generator(pauses(seed + 1000, p_out))

    def dump(self):
        """Log internal state (hang diagnosis)."""
        d = self.dut.accel_inst if IS_IP else self.dut
        names = ["seq_inst.state_reg", "seq_inst.bytes_left_reg", "seq_inst.cmd_cnt_reg", "unpack_inst.busy_reg",
                 "unpack_inst.cnt_reg", "unpack_inst.row_reg", "unpack_inst.rem_reg", "drain_inst.active_reg",
                 "drain_inst.gv_reg", "drain_inst.out_tvalid_reg", "drain_inst.flush_reg", "mac_busy",
                 "in_tvalid", "in_tready", "s_axis_tvalid", "s_axis_tready", "m_axis_tvalid", "m_axis_tready"]
        for n in names:
            obj = d
            try:
                for part in n.split("."):
                    obj = getattr(obj, part)
                d._log.error("%s = %s", n, obj.value)
            except AttributeError:
                d._log.error("%s: not found", n)

    async def rd(self, name: str) -> int:
        return await self.axil.read_dword(SPEC.reg(name).offset)

    async def ctrl(self, *bits: str, irq_en: bool = False):
        value = sum(CTRL.mask(b) for b in bits) | (CTRL.mask("IRQ_EN") if irq_en else 0)
        await self.axil.write_dword(CTRL.offset, value)

    async def counters(self) -> dict[str, int]:
        await self.ctrl("SNAPSHOT")
        out = {}
        for name, off in SPEC.counters.items():
            lo = await self.axil.read_dword(off)
            hi = await self.axil.read_dword(off + 4)
            out[name] = (hi << 32) | lo
        return out

    async def status(self) -> dict[str, bool]:
        v = await self.rd("STATUS")
        return {f: bool(v & STATUS.mask(f)) for f in STATUS.fields}

    async def wait_idle(self, limit: int = 200000):
        for _ in range(limit // 20):
            st = await self.status()
            if st["IDLE"] or st["ERROR"]:
                return st
            await ClockCycles(clk_of(self.dut), 20)
        raise AssertionError("accelerator never went idle")

    async def run(self, prog: Program, timeout_us: float = 2000) -> list[bytes]:
        for p in prog.packets:
            await self.src.send(AxiStreamFrame(p))
        frames = []
        for _ in prog.drains:
            try:
                rx = await with_timeout(self.snk.recv(), timeout_us, "us")
            except Exception:
                self.dump()
                raise
            assert rx.tkeep is None or all(rx.tkeep), "sink kept a hole"
            frames.append(bytes(rx.tdata))
        return frames

    async def matmul(self, m, n, k, rng, **kw):
        a = rng.integers(-128, 128, size=(m, k), dtype=np.int8)
        b = rng.integers(-128, 128, size=(k, n), dtype=np.int8)
        prog = matmul(SPEC, GEO, a, b, **kw)
        frames = await self.run(prog)
        c = assemble(prog, frames, m, n)
        ref = a.astype(np.int32) @ b.astype(np.int32)
        assert np.array_equal(c, ref), f"mismatch for {m}x{n}x{k} {kw}: {np.argwhere(c != ref)[:4]}"
        return prog


async def setup(dut) -> TB:
    if IS_IP:
        cocotb.start_soon(Clock(dut.aclk, 10, unit="ns").start())
        dut.aresetn.value = 0
        await ClockCycles(dut.aclk, 4)
        dut.aresetn.value = 1
    else:
        await start(dut)
    tb = TB(dut)
    await ClockCycles(clk_of(dut), 4)
    return tb


def shapes():
    r, lanes = GEO.rows, L
    out = [
        (1, 1, 1, {}),
        (r, lanes, lanes, {}),
        (r + 1, lanes + 1, 2 * lanes + 3, {}),
        (3, 5, 1, {}),
        (2 * r + 3, 3 * lanes - 1, 7, {}),
        (5, 2 * lanes + 5, 3 * lanes + 1, {"kchunk": lanes}),                 # K split, accumulate=1
        (r, 3 * lanes + 2, 2 * lanes, {"nchunk": lanes}),                    # N windows
        (r + 2, 2 * lanes + 3, 3 * lanes, {"kchunk": lanes, "nchunk": lanes}),  # both
        (1, 4 * lanes, 5, {}),
        (r, 1, 2 * lanes + 1, {}),
    ]
    if GEO.kmax < 3 * lanes + 8:
        out.append((r + 1, lanes + 3, GEO.kmax + lanes + 2, {}))  # K beyond KMAX: split at KMAX
    if GEO.nmax < 4 * lanes:
        out.append((2, GEO.nmax + lanes + 1, 3, {}))               # N beyond NMAX: windows at NMAX
    return out


@cocotb.test()
async def test_identity(dut):
    """Identity registers, reset values of CTRL/STATUS/ERROR/INSTR_COUNT."""
    tb = await setup(dut)
    expect = {
        "ID": SPEC.id_magic, "VERSION": SPEC.version_word, "SPEC_HASH": param("SPEC_HASH", 0),
        "ROWS": GEO.rows, "LANES": L, "KMAX": GEO.kmax, "NMAX": GEO.nmax, "IFIFO_DEPTH": GEO.ififo_depth,
        "ERROR": 0, "INSTR_COUNT": 0, "CTRL": 0,
    }
    for name, value in expect.items():
        got = await tb.rd(name)
        assert got == value, (name, hex(got), hex(value))
    st = await tb.status()
    assert st["IDLE"] and st["IFIFO_EMPTY"] and not st["ERROR"] and not st["DRAIN_BUSY"], st
    assert await tb.axil.read_dword(0xFFC) == 0  # unmapped


@cocotb.test()
async def test_matmul_shapes(dut):
    """Tile-edge shapes against numpy, with random gaps and back-pressure on both streams."""
    tb = await setup(dut)
    rng = np.random.default_rng(1)

    async def run(m, n, k, kw):
        dut._log.info("matmul %dx%dx%d %s", m, n, k, kw)
        return await tb.matmul(m, n, k, rng, **kw)

    await sweep_shapes(tb, run)


async def sweep_shapes(tb, run):
    """Every tile-edge shape through ``run(m, n, k, kw)`` (one checked program each) under a
    pause pattern on both streams that changes from shape to shape; afterwards the engine is
    idle, without error, and has retired every instruction of every program."""
    total_instr = 0
    for i, (m, n, k, kw) in enumerate(shapes()):
        tb.set_pauses(i, [0.0, 0.3, 0.0, 0.5][i % 4], [0.0, 0.0, 0.6, 0.3][i % 4], burst=i % 5 == 4)
        prog = await run(m, n, k, kw)
        total_instr += prog.instructions
    st = await tb.wait_idle()
    assert st["IDLE"] and not st["ERROR"], st
    assert await tb.rd("INSTR_COUNT") == total_instr


@cocotb.test()
async def test_split_command_packets(dut):
    """Several command packets (FIFO refilled when empty) with a deep instruction stream."""
    tb = await setup(dut)
    tb.set_pauses(5, 0.2, 0.4)
    rng = np.random.default_rng(2)
    await tb.matmul(3 * GEO.rows + 1, 2 * L + 1, 3 * L, rng, kchunk=L, nchunk=L, cmd_split=5)
    await tb.matmul(GEO.rows, L, L, rng, cmd_split=1)


@cocotb.test()
async def test_counters_exact(dut):
    """MACS == M*N*K, BYTES_IN/BYTES_OUT exact, BUSY = consumed chunks, stalls counted."""
    tb = await setup(dut)
    rng = np.random.default_rng(3)
    for i, (m, n, k, kw) in enumerate([(GEO.rows + 3, 2 * L + 3, L + 5, {}), (7, 3 * L, 2 * L, {"kchunk": L})]):
        tb.set_pauses(i, 0.3, 0.5)
        await tb.ctrl("CLEAR_COUNTERS")
        a = rng.integers(-128, 128, size=(m, k), dtype=np.int8)
        b = rng.integers(-128, 128, size=(k, n), dtype=np.int8)
        prog = matmul(SPEC, GEO, a, b, **kw)
        frames = await tb.run(prog)
        assert np.array_equal(assemble(prog, frames, m, n), a.astype(np.int32) @ b.astype(np.int32))
        await tb.wait_idle()
        cnt = await tb.counters()
        assert cnt["MACS"] == m * n * k, (cnt["MACS"], m * n * k)
        assert cnt["BYTES_IN"] == sum(len(p) for p in prog.packets), cnt
        assert cnt["BYTES_OUT"] == m * n * 4, cnt
        assert cnt["BUSY"] == prog.chunks, (cnt["BUSY"], prog.chunks)
        assert cnt["IN_STALL"] > 0 and cnt["OUT_STALL"] > 0, cnt
        assert cnt["CYCLES"] > cnt["BUSY"] > 0, cnt
    # snapshot holds still while counting continues; CLEAR zeroes the snapshot
    first = await tb.counters()
    await ClockCycles(clk_of(dut), 50)
    assert await tb.axil.read_dword(SPEC.counter("CYCLES")) == first["CYCLES"] & 0xFFFFFFFF
    await tb.ctrl("CLEAR_COUNTERS")
    assert await tb.axil.read_dword(SPEC.counter("MACS")) == 0
    again = await tb.counters()
    assert again["MACS"] == 0 and 0 < again["CYCLES"] < 200, again


async def watch_span(dut, state):
    """Record the cycle of the first s_axis beat and of the last m_axis TLAST beat."""
    while not state["done"]:
        await RisingEdge(clk_of(dut))
        state["cycle"] += 1
        if state["first_in"] is None and int(dut.s_axis_tvalid.value) and int(dut.s_axis_tready.value):
            state["first_in"] = state["cycle"]
        if int(dut.m_axis_tvalid.value) and int(dut.m_axis_tready.value) and int(dut.m_axis_tlast.value):
            state["last_out"] = state["cycle"]


@cocotb.test()
async def test_performance(dut):
    """Full-rate streams: cycle counts for square matmuls (reported), utilisation checks."""
    tb = await setup(dut)
    tb.set_pauses(0, 0.0, 0.0)
    rng = np.random.default_rng(4)
    report = []
    for size in (16, 64):
        m = n = k = size
        a = rng.integers(-128, 128, size=(m, k), dtype=np.int8)
        b = rng.integers(-128, 128, size=(k, n), dtype=np.int8)
        prog = matmul(SPEC, GEO, a, b)
        await tb.ctrl("CLEAR_COUNTERS")
        state = {"cycle": 0, "first_in": None, "last_out": None, "done": False}
        cocotb.start_soon(watch_span(dut, state))
        frames = await tb.run(prog)
        state["done"] = True
        first_in, last_out = state["first_in"], state["last_out"]
        assert np.array_equal(assemble(prog, frames, m, n), a.astype(np.int32) @ b.astype(np.int32))
        cnt = await tb.counters()
        beats_in = sum(-(-len(p) // L) for p in prog.packets)
        beats_out = -(-m * n * 4 // L)
        span = last_out - first_in + 1
        line = (f"PERF {m}x{n}x{k} rows={GEO.rows} lanes={L}: stream span {span} cycles "
                f"(first s_axis beat .. last m_axis beat), CYCLES counter {cnt['CYCLES']} "
                f"(clear .. snapshot), BUSY {cnt['BUSY']}, MACS {cnt['MACS']}, beats in {beats_in}, "
                f"beats out {beats_out}, IN_STALL {cnt['IN_STALL']}, OUT_STALL {cnt['OUT_STALL']}")
        assert cnt["MACS"] == m * n * k
        # aligned rows: every B beat is one chunk (BUSY == B beats)
        assert cnt["BUSY"] == prog.chunks == (-(-m // GEO.rows)) * k * n // L, (cnt["BUSY"], prog.chunks)
        # two-stage pipeline bound: panel i's input follows panel i-1's; its drain starts when
        # both its input and the previous drain are done (double buffering)
        t_in = t_out = -(-len(prog.packets[0]) // L)   # the command packet
        for (_, mr, _, nc), nbytes in zip(prog.drains, prog.panel_bytes, strict=True):
            t_in += -(-nbytes // L)
            t_out = max(t_in, t_out) + -(-mr * nc * 4 // L)
        assert span <= t_out + 4 * prog.instructions + 20, (span, t_out, prog.instructions)
        line += f", ideal two-stage pipeline {t_out}"
        dut._log.info(line)
        report.append(line)
    out = os.environ.get("ACCEL_PERF_FILE")
    if out:
        with open(out, "a") as fh:
            fh.write("\n".join(report) + "\n")


# ------------------------------------------------------------------ errors
async def expect_error(tb: TB, packets: list[bytes], code: str, irq: bool = False):
    dut = tb.dut
    await tb.ctrl("SOFT_RESET")   # A banks forget their panels (STREAM_B of an unloaded bank)
    if irq:
        await tb.ctrl(irq_en=True)
    for p in packets:
        await tb.src.send(AxiStreamFrame(p))
    await with_timeout(tb.src.wait(), 500, "us")   # everything is accepted (sunk)
    st = await tb.wait_idle(limit=20000)
    assert st["ERROR"] and not st["IDLE"], st
    got = await tb.rd("ERROR")
    assert got == SPEC.errors[code], (code, SPEC.error_name(got))
    # more input after the error is sunk too, and nothing comes out
    await tb.src.send(AxiStreamFrame(bytes(range(3 * L + 3))))
    await with_timeout(tb.src.wait(), 100, "us")
    await ClockCycles(clk_of(dut), 20)
    assert tb.snk.empty(), "output after an error"
    assert int(dut.irq.value) == int(irq)
    await tb.ctrl("SOFT_RESET")
    await ClockCycles(clk_of(dut), 4)
    st = await tb.status()
    assert st["IDLE"] and not st["ERROR"], st
    assert await tb.rd("ERROR") == 0
    assert await tb.rd("INSTR_COUNT") == 0
    assert int(dut.irq.value) == 0
    await tb.ctrl()  # IRQ_EN off


def cmd(*instrs: bytes) -> bytes:
    return b"".join(instrs)


@cocotb.test()
async def test_errors_and_soft_reset(dut):
    """Every error code is raised, input is sunk, nothing is emitted, SOFT_RESET recovers."""
    tb = await setup(dut)
    tb.set_pauses(9, 0.2, 0.2)
    rng = np.random.default_rng(5)
    r, kmax, nmax = GEO.rows, GEO.kmax, GEO.nmax

    def b(op, **f):
        return beat(SPEC, L, op, **f)

    load = b("LOAD_A", abuf=0, rows=2, row_len=2 * L, win_lo=0, win_cnt=2 * L)
    data = bytes(range(256)) * 8
    good = data[: 4 * L]
    cases = [
        ([cmd((0).to_bytes(8, "little") + bytes(L - 8))], "BAD_OPCODE"),
        ([cmd(b("LOAD_A", rows=1, row_len=4, win_lo=0, win_cnt=4).replace(b"\x01", b"\x0f", 1))], "BAD_OPCODE"),
        ([cmd(b("LOAD_A", rows=0, row_len=L, win_lo=0, win_cnt=L)), good], "BAD_FIELD"),
        ([cmd(b("LOAD_A", rows=r + 1, row_len=L, win_lo=0, win_cnt=L)), good], "BAD_FIELD"),
        ([cmd(b("LOAD_A", rows=1, row_len=L, win_lo=0, win_cnt=0))], "BAD_FIELD"),
        ([cmd(b("LOAD_A", rows=1, row_len=L, win_lo=0, win_cnt=L + 1))], "BAD_FIELD"),
        ([cmd(b("LOAD_A", rows=1, row_len=kmax + L, win_lo=0, win_cnt=kmax + 1))], "BAD_FIELD"),
        ([cmd(b("LOAD_A", rows=1, row_len=2 * L, win_lo=L, win_cnt=L + 1))], "BAD_FIELD"),
        ([cmd(b("STREAM_B", abuf=1, acc=0, row_len=L, win_lo=0, win_cnt=L))], "BAD_FIELD"),  # bank never loaded
        ([cmd(load, b("STREAM_B", abuf=0, acc=0, row_len=nmax + L, win_lo=0, win_cnt=nmax + 1)), good],
         "BAD_FIELD"),
        ([cmd(b("DRAIN", acc=0, rows=0, win_cnt=1))], "BAD_FIELD"),
        ([cmd(b("DRAIN", acc=1, rows=1, win_cnt=nmax + 1))], "BAD_FIELD"),
        ([cmd(b("LOAD_A", rows=1, row_len=2 * L, win_lo=1, win_cnt=L))], "UNALIGNED"),
        ([cmd(load, b("STREAM_B", abuf=0, acc=0, row_len=3 * L, win_lo=L // 2, win_cnt=L)), good],
         "UNALIGNED"),
        ([cmd(load), good[: 3 * L]], "EARLY_TLAST"),                 # one beat short
        ([cmd(load), good[: 4 * L - 1]], "EARLY_TLAST"),             # last beat's TKEEP short by a byte
        ([cmd(load, load), good[:L], good], "EARLY_TLAST"),          # a one-beat packet
        ([cmd(load), good + good[:L]], "MISSING_TLAST"),             # one beat long
        ([cmd(load), good + good[:1]], "MISSING_TLAST"),
        ([cmd(*[b("DRAIN", acc=0, rows=1, win_cnt=1)] * (GEO.ififo_depth + 1))], "IFIFO_OVERFLOW"),
    ]
    for i, (packets, code) in enumerate(cases):
        dut._log.info("error case %d: %s", i, code)
        await expect_error(tb, packets, code, irq=i % 3 == 0)
        if i % 4 == 3:  # recovery: a real matmul right after the reset
            await tb.matmul(r + 1, L + 3, L + 1, rng)
    # an exactly full instruction FIFO is fine
    await tb.ctrl("SOFT_RESET")
    depth = GEO.ififo_depth
    await tb.src.send(AxiStreamFrame(cmd(*[b("DRAIN", acc=0, rows=1, win_cnt=1)] * depth)))
    for _ in range(depth):
        rx = await with_timeout(tb.snk.recv(), 200, "us")
        assert len(rx.tdata) == 4
    st = await tb.wait_idle()
    assert st["IDLE"] and not st["ERROR"]
    assert await tb.rd("INSTR_COUNT") == depth
    await tb.matmul(3, 5, 7, rng)


@cocotb.test()
async def test_error_mid_drain(dut):
    """An error while a DRAIN is in flight: that packet still completes; no new output."""
    tb = await setup(dut)
    tb.set_pauses(3, 0.0, 0.9)   # slow sink: the drain is still running when the error hits
    rng = np.random.default_rng(6)
    m, n, k = GEO.rows, 4 * L, L
    a = rng.integers(-128, 128, size=(m, k), dtype=np.int8)
    bm = rng.integers(-128, 128, size=(k, n), dtype=np.int8)
    prog = matmul(SPEC, GEO, a, bm)
    prog.packets[0] += (0).to_bytes(8, "little") + bytes(L - 8)   # BAD_OPCODE after the DRAIN
    frames = await tb.run(prog)
    assert np.array_equal(assemble(prog, frames, m, n), a.astype(np.int32) @ bm.astype(np.int32))
    st = await tb.wait_idle()
    assert st["ERROR"] and await tb.rd("ERROR") == SPEC.errors["BAD_OPCODE"]
    await tb.ctrl("SOFT_RESET")
    tb.set_pauses(4, 0.1, 0.1)
    await tb.matmul(2, 3, 4, rng)


@cocotb.test()
async def test_drain_overlap_hazards(dut):
    """Slow output: STREAM_B into a bank being drained waits; DRAIN waits for the engine."""
    tb = await setup(dut)
    rng = np.random.default_rng(7)
    for seed, p_out in ((1, 0.8), (2, 0.95)):
        tb.set_pauses(seed, 0.0, p_out)
        await tb.matmul(4 * GEO.rows, 2 * L, L, rng)
        await tb.matmul(3 * GEO.rows, L, 1, rng, cmd_split=2)
    rand = random.Random(8)
    for _ in range(3):
        tb.set_pauses(rand.randrange(100), rand.random() * 0.5, rand.random() * 0.9)
        await tb.matmul(rand.randint(1, 3 * GEO.rows), rand.randint(1, 3 * L), rand.randint(1, 3 * L), rng)


# ------------------------------------------------------------------ epilogue (DRAIN_Q)
def operand(rng, dtype: str, shape) -> np.ndarray:
    lo, hi = (0, 256) if dtype == "uint8" else (-128, 128)
    return rng.integers(lo, hi, size=shape).astype(dtype)


def epi_case(rng, a, b, *, out_dtype="int8", per_column=True, bias=True, a_zp=0, b_zp=0, zp=None,
             clamp=None) -> Epilogue:
    """Parameters that land most results inside the output range (scale from the accumulators)."""
    n = b.shape[1]
    bias_v = rng.integers(-(2**12), 2**12, size=n).astype(np.int32) if bias else None
    acc = golden.accumulate(a, b, a_zero_point=a_zp, b_zero_point=b_zp, bias=bias_v)
    span = float(np.abs(acc.astype(np.int64)).max()) + 1.0
    base = 100.0 / span
    scale = (base * rng.uniform(0.5, 2.0, size=n) if per_column else np.array(base * rng.uniform(0.5, 2.0)))
    if zp is None:
        zp = int(rng.integers(0, 256)) if out_dtype == "uint8" else int(rng.integers(-128, 128))
    return Epilogue(scale=np.asarray(scale, dtype=np.float32), bias=bias_v, zero_point=zp, a_zero_point=a_zp,
                    b_zero_point=b_zp, clamp=clamp, out_dtype=out_dtype)


def epi_ref(a, b, e: Epilogue) -> np.ndarray:
    return golden.matmul(a, b, bias=e.bias, scale=e.scale, zero_point=e.zero_point, a_zero_point=e.a_zero_point,
                         b_zero_point=e.b_zero_point, clamp=e.clamp, out_dtype=e.out_dtype)


async def epi_matmul(tb: TB, m, n, k, rng, *, a_dtype="int8", b_dtype="int8", **kw) -> Program:
    mm = {key: kw.pop(key) for key in ("kchunk", "nchunk", "cmd_split") if key in kw}
    a = operand(rng, a_dtype, (m, k))
    b = operand(rng, b_dtype, (k, n))
    e = epi_case(rng, a, b, **kw)
    prog = matmul(SPEC, GEO, a, b, epi=e, **mm)
    frames = await tb.run(prog)
    c = assemble(prog, frames, m, n, dtype=e.out_dtype)
    ref = epi_ref(a, b, e)
    assert np.array_equal(c, ref), (f"DRAIN_Q mismatch {m}x{n}x{k} {a_dtype}/{b_dtype} {kw} {mm}: "
                                    f"{np.argwhere(c != ref)[:4]}")
    return prog


def epi_variants(rng):
    """Operand dtypes, zero points, output dtype, clamp, per-column or per-tensor scale."""
    while True:
        a_dtype = str(rng.choice(["int8", "uint8"]))
        b_dtype = str(rng.choice(["int8", "uint8"]))
        out = str(rng.choice(["int8", "uint8"]))
        lo, hi = golden.OUT_RANGES[out]
        a_zp = int(rng.integers(0, 256)) if a_dtype == "uint8" else int(rng.integers(-128, 128))
        b_zp = int(rng.integers(0, 256)) if b_dtype == "uint8" else int(rng.integers(-128, 128))
        zp = int(rng.integers(lo, hi + 1))
        clamp = [None, (zp, hi), (max(lo, zp - 20), min(hi, zp + 40))][int(rng.integers(3))]
        yield {"a_dtype": a_dtype, "b_dtype": b_dtype, "out_dtype": out, "a_zp": a_zp, "b_zp": b_zp, "zp": zp,
               "clamp": clamp, "per_column": bool(rng.integers(2)), "bias": bool(rng.integers(4))}


@cocotb.test()
async def test_epilogue_shapes(dut):
    """DRAIN_Q matmuls (u8 operands, zero points, K split, N windows, size-1 dims) vs the golden model."""
    tb = await setup(dut)
    rng = np.random.default_rng(21)
    variants = epi_variants(rng)

    async def run(m, n, k, kw):
        v = next(variants)
        dut._log.info("epilogue matmul %dx%dx%d %s %s", m, n, k, kw, v)
        return await epi_matmul(tb, m, n, k, rng, **kw, **v)

    await sweep_shapes(tb, run)


@cocotb.test()
async def test_epilogue_mixed_stream(dut):
    """DRAIN and DRAIN_Q programs back to back in one input stream (the engine switches modes
    in order), slow output; counters count 1 byte per DRAIN_Q result."""
    tb = await setup(dut)
    rng = np.random.default_rng(22)
    variants = epi_variants(rng)
    for seed, p_out in ((1, 0.0), (2, 0.7), (3, 0.95)):
        tb.set_pauses(seed, 0.1, p_out)
        await tb.ctrl("CLEAR_COUNTERS")
        progs, refs, bytes_out = [], [], 0
        for j in range(4):
            m, n, k = int(rng.integers(1, 3 * GEO.rows)), int(rng.integers(1, 3 * L)), int(rng.integers(1, 3 * L))
            if j % 2:
                v = next(variants)
                a = operand(rng, v.pop("a_dtype"), (m, k))
                b = operand(rng, v.pop("b_dtype"), (k, n))
                e = epi_case(rng, a, b, **v)
                progs.append(matmul(SPEC, GEO, a, b, epi=e, cmd_split=3))
                refs.append((epi_ref(a, b, e), e.out_dtype))
                bytes_out += m * n
            else:
                a = operand(rng, "int8", (m, k))
                b = operand(rng, "int8", (k, n))
                progs.append(matmul(SPEC, GEO, a, b, cmd_split=3))
                refs.append((a.astype(np.int32) @ b.astype(np.int32), "<i4"))
                bytes_out += 4 * m * n
        for p in progs:
            for pk in p.packets:
                await tb.src.send(AxiStreamFrame(pk))
        for p, (ref, dtype) in zip(progs, refs, strict=True):
            frames = []
            for _ in p.drains:
                rx = await with_timeout(tb.snk.recv(), 2000, "us")
                frames.append(bytes(rx.tdata))
            c = assemble(p, frames, *ref.shape, dtype=dtype)
            assert np.array_equal(c, ref), np.argwhere(c != ref)[:4]
        await tb.wait_idle()
        cnt = await tb.counters()
        assert cnt["BYTES_OUT"] == bytes_out, (cnt["BYTES_OUT"], bytes_out)


@cocotb.test()
async def test_epilogue_errors(dut):
    """LOAD_EPI / DRAIN_Q field and packet-length errors; recovery with an epilogue matmul."""
    tb = await setup(dut)
    tb.set_pauses(9, 0.2, 0.2)
    rng = np.random.default_rng(23)
    nmax = GEO.nmax
    lay = SPEC.epilogue

    def b(op, **f):
        return beat(SPEC, L, op, **f)

    params = bytes(range(256)) * ((lay.packet_bytes(3) + 255) // 256)
    good = params[: lay.packet_bytes(3)]
    epi3 = b("LOAD_EPI", acc=1, win_cnt=3)
    cases = [
        ([cmd(b("LOAD_EPI", acc=0, win_cnt=0))], "BAD_FIELD"),
        ([cmd(b("LOAD_EPI", acc=1, win_cnt=nmax + 1))], "BAD_FIELD"),
        ([cmd(b("DRAIN_Q", acc=0, rows=0, win_cnt=1))], "BAD_FIELD"),
        ([cmd(b("DRAIN_Q", acc=0, rows=GEO.rows + 1, win_cnt=1))], "BAD_FIELD"),
        ([cmd(b("DRAIN_Q", acc=1, rows=1, win_cnt=nmax + 1))], "BAD_FIELD"),
        ([cmd(epi3), good[: lay.packet_bytes(3) - L]], "EARLY_TLAST"),
        ([cmd(epi3), good[:-1]], "EARLY_TLAST"),
        ([cmd(epi3), good + good[:L]], "MISSING_TLAST"),
        ([cmd(epi3), good + good[:1]], "MISSING_TLAST"),
    ]
    for i, (packets, code) in enumerate(cases):
        dut._log.info("epilogue error case %d: %s", i, code)
        await expect_error(tb, packets, code, irq=i % 2 == 0)
        if i % 3 == 2:
            await epi_matmul(tb, GEO.rows + 1, L + 3, L + 1, rng, a_dtype="uint8", b_dtype="uint8", a_zp=3, b_zp=130)


async def timed(tb: TB, prog: Program) -> tuple[list[bytes], int, dict[str, int]]:
    """Run at full rate; the span from the first s_axis beat to the last m_axis TLAST, counters."""
    dut = tb.dut
    await tb.ctrl("CLEAR_COUNTERS")
    state = {"cycle": 0, "first_in": None, "last_out": None, "done": False}
    cocotb.start_soon(watch_span(dut, state))
    frames = await tb.run(prog, timeout_us=20000)
    state["done"] = True
    cnt = await tb.counters()
    return frames, state["last_out"] - state["first_in"] + 1, cnt


@cocotb.test()
async def test_epilogue_performance(dut):
    """int8 (DRAIN_Q) vs int32 (DRAIN) cycles at full rate; M*N output bytes instead of 4*M*N.

    Shapes: 64x64x64 and 256x256x1 (output-bound); 256x256x256 too with ACCEL_PERF_BIG=1."""
    tb = await setup(dut)
    tb.set_pauses(0, 0.0, 0.0)
    rng = np.random.default_rng(24)
    sizes = [(64, 64, 64), (256, 256, 1)]
    if (GEO.rows, GEO.nmax) != (SPEC.rows, SPEC.nmax):   # a small test geometry: a quick check only
        sizes = [(2 * GEO.rows + 1, 3 * L, L)]
    elif os.environ.get("ACCEL_PERF_BIG"):
        sizes.append((256, 256, 256))
    report = []
    for m, n, k in sizes:
        a = operand(rng, "int8", (m, k))
        b = operand(rng, "int8", (k, n))
        e = epi_case(rng, a, b)
        p32 = matmul(SPEC, GEO, a, b)
        frames, span32, cnt32 = await timed(tb, p32)
        assert np.array_equal(assemble(p32, frames, m, n), a.astype(np.int32) @ b.astype(np.int32))
        p8 = matmul(SPEC, GEO, a, b, epi=e)
        frames, span8, cnt8 = await timed(tb, p8)
        assert np.array_equal(assemble(p8, frames, m, n, dtype="int8"), epi_ref(a, b, e))
        assert cnt8["BYTES_OUT"] == m * n and cnt32["BYTES_OUT"] == 4 * m * n
        line = (f"PERF-EPI {m}x{n}x{k} rows={GEO.rows} lanes={L}: int32 span {span32} cycles "
                f"(BYTES_OUT {cnt32['BYTES_OUT']}), int8 span {span8} cycles (BYTES_OUT {cnt8['BYTES_OUT']}, "
                f"BYTES_IN {cnt8['BYTES_IN']} vs {cnt32['BYTES_IN']})")
        dut._log.info(line)
        report.append(line)
    out = os.environ.get("ACCEL_PERF_FILE")
    if out:
        with open(out, "a") as fh:
            fh.write("\n".join(report) + "\n")
