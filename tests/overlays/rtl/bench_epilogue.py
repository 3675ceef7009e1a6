"""cocotb bench: epilogue (the requantization lanes) against the golden model, bit for bit.

Every group is checked against ``accel.contract.epilogue.requantize`` applied to
``acc + bias - bzp * rowsum`` (int32, wrapping). Corners: ties (x.5 of both parities), one ulp
of the scale either side of a tie, |x| > 2^24 (where float32(x) rounds), x = +-2^31 limits,
scales below 2^-20 and above 1, subnormal scales (taken as 0), products whose mantissa rounds
up into the next power of two, products that saturate at both ends, zero points, clamps (ReLU,
ReLU6-like, full range), int8 and uint8 outputs. A wide clamp (int16 bounds) exposes the
rounding of every result in its low 8 bits. Input gaps and output back-pressure are random;
the side band (a sequence number) checks order and count.
"""

from __future__ import annotations

import random

import cocotb
import numpy as np
from bench_util import param, start
from cocotb.triggers import FallingEdge, ReadOnly, Timer

from accel.contract.epilogue import requantize

LANES = param("LANES", 2)
UW = param("USER_WIDTH", 16)
I32 = 2**31
LATENCY = 9     # stages: an accepted group is on m_valid this many cycles later
DEPTH = 10      # groups in flight (stages + output buffer) at which s_ready drops


def wrap32(x: int) -> int:
    return (x + I32) % 2**32 - I32


def f32(x: float) -> np.float32:
    return np.float32(x)


def bits(s: np.float32) -> int:
    return int(np.asarray(s, dtype=np.float32).view(np.uint32))


class Group:
    """One input group: per-lane (x, bias, scale), per-group (rowsum, bzp, zp, lo, hi)."""

    def __init__(self, rng: random.Random, xs: list[int], scales: list[np.float32], zp: int, lo: int, hi: int,
                 dtype: str):
        self.bzp = rng.randint(-128, 127) if rng.random() < 0.7 else 0
        self.rowsum = rng.randint(-(2**23), 2**23) if rng.random() < 0.8 else rng.randint(-I32, I32 - 1)
        self.bias = [rng.randint(-I32, I32 - 1) if rng.random() < 0.7 else 0 for _ in xs]
        corr = wrap32(self.bzp * self.rowsum)
        # acc such that acc + bias - corr == x (wrapping): the corner lands exactly
        self.acc = [wrap32(x - b + corr) for x, b in zip(xs, self.bias, strict=True)]
        self.x = xs
        self.scale = scales
        self.zp, self.lo, self.hi, self.dtype = zp, lo, hi, dtype

    def expect(self) -> bytes:
        x = np.array(self.x, dtype=np.int32)
        s = np.array(self.scale, dtype=np.float32)
        y = requantize(x, s, self.zp, self.dtype, clamp=(self.lo, self.hi))
        return y.view(np.uint8).tobytes()


def corner_x_scale(rng: random.Random) -> tuple[int, np.float32]:
    """One (x, scale) pair from the corner families."""
    kind = rng.randrange(11)
    if kind == 0:   # exact tie k + 0.5 (both parities), scale a power of two
        e = rng.randint(1, 20)
        k = rng.randint(-200, 200)
        return (2 * k + 1) * 2 ** (e - 1), f32(2.0**-e)
    if kind == 1:   # one ulp either side of a tie
        e = rng.randint(1, 20)
        k = rng.randint(-200, 200)
        s = np.nextafter(f32(2.0**-e), f32(rng.choice([0.0, 1.0])), dtype=np.float32)
        return (2 * k + 1) * 2 ** (e - 1), s
    if kind == 2:   # |x| > 2^24: float32(x) rounds (ties included: 2^24 + 1, + 3)
        x = rng.choice([2**24 + 1, 2**24 + 3, 2**25 + 2, 2**25 + 6, rng.randint(2**24, I32 - 1)])
        x = x if rng.random() < 0.5 else -x
        return x, f32(rng.uniform(1, 2) * 2.0 ** rng.randint(-24, -16))
    if kind == 3:   # int32 limits
        return rng.choice([I32 - 1, -I32, -I32 + 1, I32 - 2]), f32(rng.uniform(1, 2) * 2.0 ** rng.randint(-31, -20))
    if kind == 4:   # scale < 2^-20
        return rng.randint(-I32, I32 - 1), f32(rng.uniform(1, 2) * 2.0 ** rng.randint(-40, -21))
    if kind == 5:   # scale > 1
        return rng.randint(-3000, 3000), f32(rng.uniform(1, 2) * 2.0 ** rng.randint(0, 12))
    if kind == 6:   # saturation at both ends (huge products, float overflow included)
        s = rng.choice([f32(1e10), f32(3.4e38), f32(2.0**31), f32(1.0)])
        return rng.choice([I32 - 1, -I32, rng.randint(-I32, -2), rng.randint(2, I32 - 1)]), s
    if kind == 7:   # subnormal and minimum normal scales, zero x
        s = rng.choice([np.float32(1e-40), np.finfo(np.float32).tiny, f32(2.0**-126 * 1.5)])
        return rng.choice([0, I32 - 1, -I32]), s
    if kind == 8:   # x = 0
        return 0, f32(rng.uniform(0.001, 100))
    if kind == 9:   # the product's rounding carries out of its 24-bit mantissa:
        # (2^23 + k)(2^24 - 2k) = 2^47 - 2k^2 rounds up to 2^47
        k = rng.randint(1, 6)
        x = (2**23 + k) << rng.randint(0, 7)
        s = f32((2**24 - 2 * k) * 2.0 ** (rng.randint(-30, -6) - 23))
        return (x if rng.random() < 0.5 else -x), s
    # random: log-uniform scale
    return rng.randint(-I32, I32 - 1), f32(2.0 ** rng.uniform(-34, 4))


def clamp_case(rng: random.Random) -> tuple[int, int, int, str]:
    """(zp, lo, hi, dtype): wide (int16 bounds: every result's low 8 bits), int8, uint8, ReLU."""
    kind = rng.randrange(5)
    if kind == 0:
        return rng.randint(-50, 50), -32768, 32767, "int8"
    if kind == 1:
        return rng.randint(-128, 127), -128, 127, "int8"
    if kind == 2:
        return rng.randint(0, 255), 0, 255, "uint8"
    if kind == 3:   # ReLU: lo = zp
        zp = rng.randint(-128, 127)
        return zp, zp, 127, "int8"
    zp = rng.randint(0, 100)    # ReLU6-like on uint8
    return zp, zp, min(255, zp + rng.randint(1, 150)), "uint8"


def make_groups(rng: random.Random, n: int) -> list[Group]:
    out = []
    for _ in range(n):
        zp, lo, hi, dtype = clamp_case(rng)
        pairs = [corner_x_scale(rng) for _ in range(LANES)]
        # results inside the clamp window exercise the rounding: rescale most to |y| < 300
        xs, ss = [p[0] for p in pairs], [p[1] for p in pairs]
        out.append(Group(rng, xs, ss, zp, lo, hi, dtype))
    return out


def drive(dut, g: Group | None, seq: int) -> None:
    if g is None:
        dut.s_valid.value = 0
        return
    acc = bias = scale = 0
    for lane in range(LANES):
        acc |= (g.acc[lane] & 0xFFFFFFFF) << (32 * lane)
        bias |= (g.bias[lane] & 0xFFFFFFFF) << (32 * lane)
        scale |= bits(g.scale[lane]) << (32 * lane)
    dut.s_acc.value = acc
    dut.s_bias.value = bias
    dut.s_scale.value = scale
    dut.s_rowsum.value = g.rowsum & 0xFFFFFFFF
    dut.s_bzp.value = g.bzp & 0xFFFF
    dut.s_zp.value = g.zp & 0xFFFF
    dut.s_lo.value = g.lo & 0xFFFF
    dut.s_hi.value = g.hi & 0xFFFF
    dut.s_user.value = seq % (1 << UW)
    dut.s_valid.value = 1


async def run_groups(dut, groups: list[Group], p_in: float, p_out: float, seed: int) -> int:
    """Stream the groups through with random gaps/back-pressure; check every result; cycles."""
    rng = random.Random(seed)
    got: list[tuple[int, bytes]] = []
    i = 0
    cycles = 0
    taken = 0
    current = None
    while len(got) < len(groups):
        await FallingEdge(dut.clk)
        cycles += 1
        assert cycles < 50 * len(groups) + 200, "epilogue stalled"
        if current is None and i < len(groups) and rng.random() >= p_in:
            current = i
            i += 1
        drive(dut, groups[current] if current is not None else None, current or 0)
        dut.m_ready.value = int(rng.random() >= p_out)
        await ReadOnly()
        # busy is exact: high iff a group was taken and has not been emitted yet
        assert int(dut.busy.value) == int(taken > len(got)), (cycles, taken, len(got))
        # credit flow control: at most DEPTH groups in flight
        assert taken - len(got) <= DEPTH, (cycles, taken, len(got))
        if current is not None and int(dut.s_ready.value):
            current = None          # taken at the next rising edge
            taken += 1
        if int(dut.m_valid.value) and int(dut.m_ready.value):
            got.append((int(dut.m_user.value), int(dut.m_data.value).to_bytes(LANES, "little")))
    await FallingEdge(dut.clk)
    dut.s_valid.value = 0
    for n, (seq, data) in enumerate(got):
        assert seq == n % (1 << UW), (seq, n)
        want = groups[n].expect()
        g = groups[n]
        assert data == want, (f"group {n}: x={g.x} scale={[float(s) for s in g.scale]} "
                              f"zp={g.zp} lo={g.lo} hi={g.hi}: got {data.hex()} want {want.hex()}")
    return cycles


@cocotb.test()
async def test_corners(dut):
    """Every corner family under random input gaps and output back-pressure."""
    await start(dut)
    dut.s_valid.value = 0
    dut.m_ready.value = 0
    rng = random.Random(11)
    for k, (p_in, p_out) in enumerate([(0.0, 0.0), (0.3, 0.5), (0.0, 0.8), (0.6, 0.1)]):
        groups = make_groups(rng, 600)
        await run_groups(dut, groups, p_in, p_out, seed=k)


@cocotb.test()
async def test_full_rate(dut):
    """m_ready always high, a group every cycle: one result group per cycle (latency 9)."""
    await start(dut)
    dut.m_ready.value = 1
    groups = make_groups(random.Random(12), 200)
    cycles = await run_groups(dut, groups, 0.0, 0.0, seed=5)
    assert cycles <= len(groups) + LATENCY + 2, cycles


@cocotb.test()
async def test_latency_and_rate(dut):
    """m_ready high: s_ready never drops, the first result is on m_valid exactly LATENCY cycles
    after its group was taken, then one result group every cycle (the DRAIN_Q timing)."""
    await start(dut)
    dut.m_ready.value = 1
    groups = make_groups(random.Random(13), 40)
    valid_at: list[int] = []
    for cyc in range(len(groups) + LATENCY + 3):
        await FallingEdge(dut.clk)
        drive(dut, groups[cyc] if cyc < len(groups) else None, cyc)
        await ReadOnly()
        if cyc < len(groups):
            assert int(dut.s_ready.value), f"s_ready low at cycle {cyc} with m_ready high"
        if int(dut.m_valid.value):
            valid_at.append(cyc)
    assert valid_at == list(range(LATENCY, LATENCY + len(groups))), valid_at


@cocotb.test()
async def test_ready_registered(dut):
    """s_ready is a register (never a function of m_ready in the same cycle); with the output
    blocked the epilogue takes exactly DEPTH groups, then emits them all in order and goes idle."""
    await start(dut)
    dut.m_ready.value = 0
    groups = make_groups(random.Random(14), 3 * DEPTH)
    taken = 0
    for cyc in range(3 * DEPTH):
        await FallingEdge(dut.clk)
        drive(dut, groups[taken], taken)
        dut.m_ready.value = 0
        await Timer(1, unit="ns")
        ready_blocked = int(dut.s_ready.value)
        dut.m_ready.value = 1
        await Timer(1, unit="ns")
        assert int(dut.s_ready.value) == ready_blocked, f"s_ready follows m_ready at cycle {cyc}"
        dut.m_ready.value = 0
        await ReadOnly()
        if int(dut.s_ready.value):
            taken += 1
    assert taken == DEPTH, taken
    assert int(dut.busy.value) == 1
    await FallingEdge(dut.clk)
    dut.s_valid.value = 0
    dut.m_ready.value = 1
    got = []
    for _ in range(DEPTH + 2):
        await ReadOnly()
        if int(dut.m_valid.value):
            got.append((int(dut.m_user.value), int(dut.m_data.value).to_bytes(LANES, "little")))
        await FallingEdge(dut.clk)
    assert [seq for seq, _ in got] == list(range(DEPTH)), got
    assert [data for _, data in got] == [g.expect() for g in groups[:DEPTH]]
    await ReadOnly()
    assert int(dut.busy.value) == 0 and int(dut.m_valid.value) == 0
