"""Shared cocotb helpers for the RTL benches (imported inside the simulator process)."""

from __future__ import annotations

import os
import random
from collections.abc import Iterator

import cocotb
from cocotb.clock import Clock
from cocotb.triggers import ClockCycles, RisingEdge


def param(name: str, default: int) -> int:
    """A Verilog parameter of this build (passed by the runner as PARAM_<name>)."""
    return int(os.environ.get(f"PARAM_{name}", default))


def pauses(seed: int, p: float) -> Iterator[bool]:
    """Random pause generator for cocotbext-axi: pause with probability ``p`` per cycle."""
    rng = random.Random(seed)
    while True:
        yield rng.random() < p


def bursty(seed: int) -> Iterator[bool]:
    """Pause generator with runs: long full-rate bursts and long stalls."""
    rng = random.Random(seed)
    while True:
        state = rng.random() < 0.5
        for _ in range(rng.randint(1, 12)):
            yield state


async def start(dut, rst_name: str = "rst", cycles: int = 4, period_ns: int = 10) -> None:
    """Start the clock and apply a synchronous active-high reset."""
    cocotb.start_soon(Clock(dut.clk, period_ns, unit="ns").start())
    rst = getattr(dut, rst_name)
    rst.value = 1
    await ClockCycles(dut.clk, cycles)
    await RisingEdge(dut.clk)
    rst.value = 0
    await RisingEdge(dut.clk)
