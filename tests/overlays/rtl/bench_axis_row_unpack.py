"""cocotb bench: axis_row_unpack (row realignment, windows, tkeep/tuser, throughput)."""

from __future__ import annotations

import random

import cocotb
from bench_util import bursty, param, pauses, start
from cocotb.triggers import FallingEdge, RisingEdge
from cocotbext.axi import AxiStreamBus, AxiStreamFrame, AxiStreamSink, AxiStreamSource

W = param("DATA_WIDTH", 64)
L = W // 8
MASK16 = 0xFFFF


class CycleModel:
    """The unpacker's cycle-level contract, one state update per clock edge.

    A plain transcription of the unregistered reference algorithm (the first version of the
    RTL): each cycle the current chunk needs min(rem, L) bytes; it leaves when they are
    buffered (and the sink takes it, if it is in the window); a beat is taken when at most L
    bytes remain after that. The RTL computes the same decisions from registered next-state
    conditions; the bench checks that every handshake and every output happen in the same
    cycle as here, so the pipelining cannot change a cycle count.
    """

    def __init__(self):
        self.busy = False
        self.buf: list[int] = []
        self.rows = self.row = self.row_len = self.rem = self.chunk = 0
        self.c_lo = self.c_last = self.last_lanes = 0

    def outputs(self, s_valid: bool, m_ready: bool) -> dict[str, int]:
        """This cycle's handshake outputs (and the chunk, when valid)."""
        last_chunk = self.rem <= L
        need = self.rem if last_chunk else L
        have = need <= len(self.buf)
        in_win = self.c_lo <= self.chunk <= self.c_last
        at_c_last = self.chunk == self.c_last
        advance = self.busy and have and (not in_win or m_ready)
        left = len(self.buf) - (need if advance else 0)
        room = left <= L
        lanes = self.last_lanes if at_c_last else L
        return {
            "busy": int(self.busy),
            "s_axis_tready": int(self.busy and room),
            "m_axis_tvalid": int(self.busy and have and in_win),
            "data": int.from_bytes(bytes(self.buf[:lanes]), "little") if have else 0,
            "user": (self.row << 16) | ((self.chunk - self.c_lo) & MASK16),
            "last": int(self.row == self.rows - 1 and at_c_last),
            "lanes": lanes,
            "_advance": int(advance),
            "_need": need,
            "_accept": int(self.busy and room and s_valid),
        }

    def step(self, out: dict[str, int], beat: bytes, cfg: tuple[int, int, int, int] | None) -> None:
        """The clock edge: consume the chunk, append the beat, or start a configuration."""
        if self.busy:
            if out["_advance"]:
                del self.buf[: out["_need"]]
                if self.rem <= L:
                    self.rem, self.chunk, self.row = self.row_len, 0, self.row + 1
                    if self.row == self.rows:
                        self.busy = False
                else:
                    self.rem -= L
                    self.chunk += 1
            if out["_accept"]:
                self.buf.extend(beat)
        elif cfg is not None:
            rows, row_len, win_lo, win_cnt = cfg
            win_end = win_lo + win_cnt - 1
            self.busy, self.buf = True, []
            self.rows, self.row, self.row_len, self.rem, self.chunk = rows, 0, row_len, row_len, 0
            self.c_lo, self.c_last, self.last_lanes = win_lo // L, win_end // L, win_end % L + 1


class Bench:
    def __init__(self, dut):
        self.dut = dut
        self.src = AxiStreamSource(AxiStreamBus.from_prefix(dut, "s_axis"), dut.clk, dut.rst)
        self.snk = AxiStreamSink(AxiStreamBus.from_prefix(dut, "m_axis"), dut.clk, dut.rst)
        self.errors: list[str] = []
        self.model = CycleModel()
        self.cycles = 0
        dut.cfg_start.value = 0
        cocotb.start_soon(self.monitor())
        cocotb.start_soon(self.cycle_check())

    async def cycle_check(self):
        """Every cycle, the RTL's handshakes and chunk equal the reference model's."""
        dut = self.dut
        while True:
            await FallingEdge(dut.clk)
            s_valid = bool(int(dut.s_axis_tvalid.value))
            m_ready = bool(int(dut.m_axis_tready.value))
            want = self.model.outputs(s_valid, m_ready)
            got = {
                "busy": int(dut.busy.value),
                "s_axis_tready": int(dut.s_axis_tready.value),
                "m_axis_tvalid": int(dut.m_axis_tvalid.value),
            }
            if want["m_axis_tvalid"]:
                got |= {
                    "data": int(dut.m_axis_tdata.value),
                    "user": int(dut.m_axis_tuser.value),
                    "last": int(dut.m_axis_tlast.value),
                    "lanes": int(dut.m_axis_lanes.value),
                }
            bad = {k: (v, want[k]) for k, v in got.items() if v != want[k]}
            if bad and len(self.errors) < 8:
                self.errors.append(f"cycle {self.cycles}: (rtl, model) {bad}")
            cfg = None
            if int(dut.cfg_start.value):
                cfg = tuple(int(getattr(dut, f"cfg_{n}").value) for n in ("rows", "row_len", "win_lo", "win_cnt"))
            beat = int(dut.s_axis_tdata.value).to_bytes(L, "little") if want["_accept"] else b""
            self.model.step(want, beat, cfg)
            self.cycles += 1

    async def monitor(self):
        """m_axis_lanes agrees with tkeep; lanes past the window carry zeros."""
        dut = self.dut
        while True:
            await RisingEdge(dut.clk)
            if int(dut.m_axis_tvalid.value) and int(dut.m_axis_tready.value):
                keep = int(dut.m_axis_tkeep.value)
                lanes = int(dut.m_axis_lanes.value)
                data = int(dut.m_axis_tdata.value)
                if keep != (1 << lanes) - 1:
                    self.errors.append(f"tkeep {keep:#x} vs lanes {lanes}")
                if data >> (8 * lanes):
                    self.errors.append(f"nonzero data past lane {lanes}")

    async def packet(self, rows, row_len, win_lo, win_cnt, rng):
        dut = self.dut
        while int(dut.busy.value):
            await RisingEdge(dut.clk)
        dut.cfg_rows.value = rows
        dut.cfg_row_len.value = row_len
        dut.cfg_win_lo.value = win_lo
        dut.cfg_win_cnt.value = win_cnt
        dut.cfg_start.value = 1
        await RisingEdge(dut.clk)
        dut.cfg_start.value = 0
        data = [bytes(rng.randrange(256) for _ in range(row_len)) for _ in range(rows)]
        payload = b"".join(data)
        pad = (-len(payload)) % L
        payload += bytes(rng.randrange(256) for _ in range(pad))  # tail bytes must be ignored
        await self.src.send(AxiStreamFrame(payload))
        rx = await self.snk.recv()
        expect = b"".join(r[win_lo : win_lo + win_cnt] for r in data)
        assert bytes(rx.tdata) == expect, (rows, row_len, win_lo, win_cnt)
        # cocotbext-axi keeps tuser per kept byte: {row, chunk} for every column of the window
        user = [(r << 16) | (c // L) for r in range(rows) for c in range(win_cnt)]
        got = rx.tuser if isinstance(rx.tuser, list) else [rx.tuser] * len(user)
        assert list(got) == user, (rows, row_len, win_lo, win_cnt, got[:8], user[:8])
        await self.src.wait()
        assert not self.errors, self.errors[:4]


def shapes(rng, n):
    yield (1, 1, 0, 1)
    yield (3, L, 0, L)
    yield (5, L + 1, 0, L + 1)
    yield (4, 2 * L - 1, L, L - 1)
    yield (7, 3, 0, 2)
    yield (2, 3 * L + 5, 2 * L, 5)
    for _ in range(n):
        row_len = rng.randint(1, 4 * L + 3)
        win_lo = rng.randrange(0, row_len, L) if row_len > L else 0
        win_cnt = rng.randint(1, row_len - win_lo)
        yield (rng.randint(1, 9), row_len, win_lo, win_cnt)


@cocotb.test()
async def test_shapes_with_backpressure(dut):
    """Random row lengths and windows, with random gaps on the input and stalls on the output."""
    await start(dut)
    tb = Bench(dut)
    rng = random.Random(11 + L)
    for i, shape in enumerate(shapes(rng, 40)):
        mode = i % 4
        tb.src.set_pause_generator(pauses(i, [0.0, 0.4, 0.0, 0.0][mode]) if mode < 3 else bursty(i))
        tb.snk.set_pause_generator(pauses(50 + i, [0.0, 0.0, 0.5, 0.3][mode]) if mode < 3 else bursty(99 + i))
        await tb.packet(*shape, rng)


@cocotb.test()
async def test_full_rate_aligned(dut):
    """Rows that are a multiple of L: one beat in and one chunk out per cycle."""
    await start(dut)
    tb = Bench(dut)
    rows, row_len = 16, 4 * L
    beats = rows * row_len // L
    cycles = 0
    done = False

    async def count():
        nonlocal cycles
        while not done:
            await RisingEdge(dut.clk)
            if int(dut.busy.value):
                cycles += 1

    cocotb.start_soon(count())
    await tb.packet(rows, row_len, 0, row_len, random.Random(3))
    done = True
    assert cycles <= beats + 3, (cycles, beats)
