"""Simulated cycles per second of the Verilator harness, per spec (``accel-run sim-speed``).

Runs a long STREAM_B-heavy matmul (one A panel, many B windows streamed at one beat per cycle)
through direct AXI DMA register writes (the spec's ``[dma.*]`` map, PG021 direct register mode)
and reports the harness's own clock rate (C++ time only), the rate per CPU second and the
end-to-end rate (Python included). Goal: >= 1M cycles/s on a 2-core machine. The runtime is
bypassed on purpose: this measures the simulator, not the driver.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from accel.errors import DMAError, HardwareError
from accel.overlays.sim import SimModel
from accel.overlays.spec import Spec, load_spec

FORMAT = "pynq-accel/sim-speed"
VERSION = 1
DEFAULT_CYCLES = 4e6
DMA_ERROR_BITS = ("INTERR", "SLVERR", "DECERR")


def _start(sim: SimModel, channel: str, phys: int, nbytes: int) -> None:
    """Program one simple-mode transfer: address (low, high), then LENGTH, which starts it."""
    dma, base = sim.spec.dma, sim.spec.dma_base
    sim.write32(base + dma.offset(channel, "ADDR"), phys & 0xFFFFFFFF)
    sim.write32(base + dma.offset(channel, "ADDR_MSB"), phys >> 32)
    sim.write32(base + dma.offset(channel, "LENGTH"), nbytes)


def _wait(sim: SimModel, channel: str) -> None:
    """Check the channel went idle without an error (the harness runs a transfer to completion)."""
    dma = sim.spec.dma
    sr = sim.read32(sim.spec.dma_base + dma.offset(channel, "DMASR"))
    errors = 0
    for bit in DMA_ERROR_BITS:
        errors |= dma.dmasr(bit)
    if not sr & dma.dmasr("IDLE") or sr & errors:
        raise DMAError(f"DMA channel {channel} did not complete: DMASR={sr:#x}")


def _program(spec: Spec, rows: int, k: int, n: int, windows: int) -> list[int]:
    """LOAD_A once, then STREAM_B + DRAIN per window, alternating accumulator banks."""
    nc = spec.nmax
    words = [spec.encode("LOAD_A", abuf=0, rows=rows, row_len=k, win_lo=0, win_cnt=k)]
    for w in range(windows):
        acc = w % 2
        n0 = (w % (n // nc)) * nc
        words.append(spec.encode("STREAM_B", abuf=0, acc=acc, accumulate=0, row_len=n, win_lo=n0, win_cnt=nc))
        words.append(spec.encode("DRAIN", acc=acc, rows=rows, win_cnt=nc))
    return words


def measure(spec_name: str, target_cycles: float = DEFAULT_CYCLES) -> dict[str, Any]:
    """One speed run of about ``target_cycles`` cycles; one drained tile is checked against numpy."""
    spec = load_spec(spec_name)
    t_build = time.monotonic()
    sim = SimModel(spec)
    t_build = time.monotonic() - t_build
    with sim:
        ddr = np.frombuffer(sim.ddr, dtype=np.uint8)
        rows, k, nc = spec.rows, min(spec.kmax, 1024), spec.nmax
        # each STREAM_B streams all k rows of B (row_len n bytes): k * n / lanes beats
        n = nc * 2
        beats_per_window = k * n // spec.lanes
        windows = max(2, int(target_cycles // beats_per_window))
        rng = np.random.default_rng(0)
        a = rng.integers(-128, 128, size=(rows, k), dtype=np.int8)
        b = rng.integers(-128, 128, size=(k, n), dtype=np.int8)
        a_off, b_off = 0, 1 << 20
        c_off = b_off + b.nbytes + 4096
        ddr[a_off : a_off + a.nbytes] = a.view(np.uint8).reshape(-1)
        ddr[b_off : b_off + b.nbytes] = b.view(np.uint8).reshape(-1)
        words = _program(spec, rows, k, n, windows)
        cmd_off = c_off + rows * nc * 4 * 2 + 4096
        cmd = np.zeros((len(words), spec.beat_bytes), dtype=np.uint8)
        for i, word in enumerate(words):
            cmd[i, :8] = np.frombuffer(int(word).to_bytes(8, "little"), dtype=np.uint8)
        ddr[cmd_off : cmd_off + cmd.nbytes] = cmd.reshape(-1)
        base = spec.ddr_base
        for ch in ("mm2s", "s2mm"):
            sim.write32(spec.dma_base + spec.dma.offset(ch, "DMACR"), spec.dma.dmacr("RS"))

        s0, w0 = sim.stats(), time.monotonic()
        group = spec.ififo_depth - spec.ififo_depth % 2
        pos = 1  # words[0] is the LOAD_A
        _start(sim, "mm2s", base + cmd_off, spec.beat_bytes)
        _wait(sim, "mm2s")
        _start(sim, "mm2s", base + a_off, a.nbytes)
        _wait(sim, "mm2s")
        check = None
        while pos < len(words):
            chunk = words[pos : pos + group]
            _start(sim, "mm2s", base + cmd_off + pos * spec.beat_bytes, len(chunk) * spec.beat_bytes)
            _wait(sim, "mm2s")
            for j in range(0, len(chunk), 2):
                w = (pos + j - 1) // 2
                out = c_off + (w % 2) * rows * nc * 4
                _start(sim, "s2mm", base + out, rows * nc * 4)
                _start(sim, "mm2s", base + b_off, b.nbytes)
                _wait(sim, "mm2s")
                _wait(sim, "s2mm")
                if check is None:
                    check = (w, ddr[out : out + rows * nc * 4].view(np.int32).reshape(rows, nc).copy())
            pos += len(chunk)
        s1, w1 = sim.stats(), time.monotonic()
        w, got = check
        n0 = (w % (n // nc)) * nc
        ref = a.astype(np.int32) @ b[:, n0 : n0 + nc].astype(np.int32)
        if not np.array_equal(got, ref):
            raise HardwareError(f"{spec_name}: wrong result in the speed run")
        cycles = s1["cycles"] - s0["cycles"]
        sim_s = s1["sim_seconds"] - s0["sim_seconds"]
        cpu_s = s1["sim_cpu_seconds"] - s0["sim_cpu_seconds"]
        wall = w1 - w0
        return {
            "spec": spec_name,
            "shape": [rows, k, n],
            "stream_b": windows,
            "cycles": cycles,
            "sim_seconds": sim_s,
            "wall_seconds": wall,
            "cycles_per_second": cycles / sim_s,
            "cycles_per_cpu_second": cycles / cpu_s,
            "cycles_per_second_end_to_end": cycles / wall,
            "mmio": (s1["mmio_reads"] + s1["mmio_writes"]) - (s0["mmio_reads"] + s0["mmio_writes"]),
            "build_or_load_seconds": t_build,
        }


def format_line(r: dict[str, Any]) -> str:
    """One human-readable line per spec."""
    return (f"{r['spec']:12s} {r['cycles']:>11,d} cycles  {r['cycles_per_second'] / 1e6:6.2f} M cycles/s "
            f"(wall, in C++)  {r['cycles_per_second_end_to_end'] / 1e6:6.2f} (wall, end to end)  "
            f"{r['cycles_per_cpu_second'] / 1e6:6.2f} (per CPU second)  "
            f"{r['stream_b']} STREAM_B of {r['shape'][1]}x{r['shape'][2]}, {r['mmio']} MMIO")
