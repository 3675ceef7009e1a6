"""Register-level helpers for the simulator tests: raw AXI DMA programming and a matmul driver.

Everything goes through ``SimModel.read32``/``write32`` with offsets from PG021 (DMA) and from the
spec (accelerator), the way a driver on the board would do it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from accel.overlays.sim import SimModel

# AXI DMA 7.1 (PG021) simple-mode offsets and bits, written from the datasheet on purpose: an oracle
# independent of the spec's [dma.*] map, which the harness and runtime are generated from.
MM2S, S2MM = 0x00, 0x30
DMACR, DMASR, ADDR, ADDR_MSB, LENGTH = 0x00, 0x04, 0x18, 0x1C, 0x28
RS, RESET, IOC_IRQEN, ERR_IRQEN = 1 << 0, 1 << 2, 1 << 12, 1 << 14
HALTED, IDLE, SGINCLD, INTERR, SLVERR, DECERR = 1 << 0, 1 << 1, 1 << 3, 1 << 4, 1 << 5, 1 << 6
IOC_IRQ, ERR_IRQ = 1 << 12, 1 << 14
ERROR_BITS = INTERR | SLVERR | DECERR


class Raw:
    """Raw register access to the simulated overlay plus a bump allocator over the DDR."""

    def __init__(self, sim: SimModel) -> None:
        self.sim = sim
        self.spec = sim.spec
        self.ddr = np.frombuffer(sim.ddr, dtype=np.uint8)
        self._next = 0

    # -------------------------------------------------------------- memory
    def alloc(self, nbytes: int, align: int = 64) -> int:
        """Offset of a fresh DDR region (never reused within a test)."""
        off = -(-self._next // align) * align
        self._next = off + max(int(nbytes), 1)
        assert self._next <= self.spec.ddr_size
        return off

    def put(self, array: np.ndarray) -> int:
        data = np.ascontiguousarray(array).view(np.uint8).reshape(-1)
        off = self.alloc(data.nbytes)
        self.ddr[off : off + data.nbytes] = data
        return off

    def phys(self, off: int) -> int:
        return self.spec.ddr_base + off

    # -------------------------------------------------------------- DMA
    def dma(self, reg: int) -> int:
        return self.sim.read32(self.spec.dma_base + reg)

    def dma_w(self, reg: int, value: int) -> None:
        self.sim.write32(self.spec.dma_base + reg, value)

    def dma_start(self, irq: bool = False) -> None:
        cr = RS | (IOC_IRQEN | ERR_IRQEN if irq else 0)
        self.dma_w(MM2S + DMACR, cr)
        self.dma_w(S2MM + DMACR, cr)

    def dma_reset(self) -> None:
        self.dma_w(MM2S + DMACR, RESET)
        assert self.dma(MM2S + DMASR) & HALTED
        assert self.dma(S2MM + DMASR) & HALTED

    def start(self, ch: int, phys: int, nbytes: int) -> None:
        self.dma_w(ch + ADDR, phys & 0xFFFFFFFF)
        self.dma_w(ch + ADDR_MSB, phys >> 32)
        self.dma_w(ch + LENGTH, nbytes)

    def mm2s(self, off: int, nbytes: int) -> None:
        self.start(MM2S, self.phys(off), nbytes)

    def s2mm(self, off: int, nbytes: int) -> None:
        self.start(S2MM, self.phys(off), nbytes)

    def status(self, ch: int) -> int:
        """DMASR of a channel: one read (which runs the clock while the channel is busy)."""
        return self.dma(ch + DMASR)

    def halts(self, ch: int) -> bool:
        """After an error: DMASR.Halted follows once the engine has shut down (PG021)."""
        self.sim.run(64)
        return bool(self.dma(ch + DMASR) & HALTED)

    def wait(self, ch: int) -> int:
        """Wait like a driver: the channel must end idle with no error bits; returns DMASR."""
        sr = self.status(ch)
        assert sr & IDLE and not sr & ERROR_BITS, f"DMA channel {ch:#x} did not complete: DMASR={sr:#x}"
        return sr

    # -------------------------------------------------------------- accelerator
    def reg(self, name: str) -> int:
        return self.sim.read32(self.spec.accel_base + self.spec.reg(name).offset)

    def reg_w(self, name: str, value: int) -> None:
        self.sim.write32(self.spec.accel_base + self.spec.reg(name).offset, value)

    def soft_reset(self) -> None:
        self.reg_w("CTRL", self.spec.reg("CTRL").mask("SOFT_RESET"))

    def counter(self, name: str) -> int:
        base = self.spec.accel_base + self.spec.counter(name)
        return self.sim.read32(base) | self.sim.read32(base + 4) << 32

    def snapshot(self) -> None:
        self.reg_w("CTRL", self.spec.reg("CTRL").mask("SNAPSHOT"))

    def recover(self) -> None:
        """What a runtime does after a fault: reset the DMA and the accelerator, restart the DMA."""
        self.dma_reset()
        self.soft_reset()
        self.dma_start()

    # -------------------------------------------------------------- instructions
    def cmd_packet(self, words: list[int]) -> tuple[int, int]:
        """Write a command packet (one instruction per beat, low 64 bits) into DDR: (offset, bytes)."""
        beat = self.spec.beat_bytes
        buf = np.zeros((len(words), beat), dtype=np.uint8)
        for i, w in enumerate(words):
            buf[i, :8] = np.frombuffer(int(w).to_bytes(8, "little"), dtype=np.uint8)
        off = self.put(buf)
        return off, buf.nbytes


@dataclass
class Step:
    kind: str  # "LOAD_A" | "STREAM_B" | "DRAIN"
    word: int
    off: int = 0  # DDR offset of the data packet (LOAD_A/STREAM_B) or of the drain buffer (DRAIN)
    nbytes: int = 0
    dest: tuple[int, int, int, int] = (0, 0, 0, 0)  # DRAIN: (row0, rows, col0, cols) of C


def plan_matmul(raw: Raw, a_off: int, b_off: int, m: int, k: int, n: int) -> list[Step]:
    """Instructions for C = A @ B: panels of spec.rows rows of A, K chunks of spec.kmax, N windows of
    spec.nmax. A and B are read in place (row-major), each drain goes to its own DDR buffer."""
    s = raw.spec
    steps: list[Step] = []
    tile = 0
    for p, m0 in enumerate(range(0, m, s.rows)):
        rows = min(s.rows, m - m0)
        for n0 in range(0, n, s.nmax):
            nc = min(s.nmax, n - n0)
            acc = tile % 2
            tile += 1
            for c, k0 in enumerate(range(0, k, s.kmax)):
                kc = min(s.kmax, k - k0)
                abuf = (p + c) % 2
                steps.append(
                    Step(
                        "LOAD_A",
                        s.encode("LOAD_A", abuf=abuf, rows=rows, row_len=k, win_lo=k0, win_cnt=kc),
                        a_off + m0 * k,
                        rows * k,
                    )
                )
                steps.append(
                    Step(
                        "STREAM_B",
                        s.encode(
                            "STREAM_B", abuf=abuf, acc=acc, accumulate=int(c > 0), row_len=n, win_lo=n0, win_cnt=nc
                        ),
                        b_off + k0 * n,
                        kc * n,
                    )
                )
            nbytes = rows * nc * 4
            word = s.encode("DRAIN", acc=acc, rows=rows, win_cnt=nc)
            steps.append(Step("DRAIN", word, raw.alloc(nbytes), nbytes, (m0, rows, n0, nc)))
    return steps


def run_matmul(raw: Raw, a: np.ndarray, b: np.ndarray, *, group: int | None = None) -> np.ndarray:
    """Run C = A @ B (int8 x int8 -> int32) through raw DMA transfers; returns C.

    Command packets hold up to ``group`` instructions (default: the instruction FIFO depth); data
    packets follow in instruction order, and S2MM is armed for each DRAIN before the next packet.
    """
    m, k = a.shape
    k2, n = b.shape
    assert k == k2
    a_off, b_off = raw.put(a.astype(np.int8)), raw.put(b.astype(np.int8))
    steps = plan_matmul(raw, a_off, b_off, m, k, n)
    group = group or raw.spec.ififo_depth
    c = np.zeros((m, n), dtype=np.int32)
    for g in range(0, len(steps), group):
        chunk = steps[g : g + group]
        off, nbytes = raw.cmd_packet([st.word for st in chunk])
        raw.mm2s(off, nbytes)
        raw.wait(MM2S)
        for st in chunk:
            if st.kind == "DRAIN":
                raw.s2mm(st.off, st.nbytes)
                raw.wait(S2MM)
                assert raw.dma(S2MM + LENGTH) == st.nbytes
                r0, rows, c0, cols = st.dest
                block = raw.ddr[st.off : st.off + st.nbytes].view(np.int32).reshape(rows, cols)
                c[r0 : r0 + rows, c0 : c0 + cols] = block
            else:
                raw.mm2s(st.off, st.nbytes)
                raw.wait(MM2S)
    return c


def reference(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return a.astype(np.int32) @ b.astype(np.int32)


def random_operands(rng: np.random.Generator, m: int, k: int, n: int) -> tuple[np.ndarray, np.ndarray]:
    a = rng.integers(-128, 128, size=(m, k), dtype=np.int8)
    b = rng.integers(-128, 128, size=(k, n), dtype=np.int8)
    return a, b
