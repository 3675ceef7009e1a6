"""Real matmuls on the verilated accel_top, driven by raw DMA register writes, checked against numpy."""

from __future__ import annotations

import numpy as np
import pytest
from sim_helpers import Raw, random_operands, reference, run_matmul

from accel.overlays.sim import SimModel


@pytest.mark.parametrize(
    "m,k,n",
    [
        (16, 64, 64),  # one full panel, beat-aligned rows
        (37, 45, 29),  # nothing is a multiple of rows or lanes: partial panel, unaligned rows, partial TKEEP
        (5, 8, 600),  # N > nmax: two accumulator windows, alternating banks
    ],
)
def test_matmul_z2(raw, rng, m, k, n):
    a, b = random_operands(rng, m, k, n)
    np.testing.assert_array_equal(run_matmul(raw, a, b), reference(a, b))


def test_matmul_k_split_accumulates(raw, rng):
    """K > kmax: two A loads per tile, the second STREAM_B accumulates."""
    k = raw.spec.kmax + raw.spec.lanes + 3
    a, b = random_operands(rng, 3, k, 11)
    np.testing.assert_array_equal(run_matmul(raw, a, b), reference(a, b))


def test_matmul_extremes_and_small_command_packets(raw):
    """int8 extremes (-128 * -128 summed) and command packets of two instructions each."""
    m, k, n = 17, 96, 24
    a = np.full((m, k), -128, dtype=np.int8)
    b = np.full((k, n), -128, dtype=np.int8)
    b[:, 1::2] = 127
    np.testing.assert_array_equal(run_matmul(raw, a, b, group=2), reference(a, b))


def test_matmul_kv260(kv260_spec, rng):
    with SimModel(kv260_spec) as sim:
        raw = Raw(sim)
        raw.dma_start()
        a, b = random_operands(rng, 45, 70, 37)  # 32-row panels, 16 lanes: all edges partial
        np.testing.assert_array_equal(run_matmul(raw, a, b), reference(a, b))


def test_counters_and_determinism(z2_spec, rng):
    a, b = random_operands(rng, 20, 48, 40)
    results = []
    for _ in range(2):
        with SimModel(z2_spec) as sim:
            raw = Raw(sim)
            raw.dma_start()
            c = run_matmul(raw, a, b)
            raw.snapshot()
            results.append((c, sim.cycles, raw.counter("MACS"), raw.counter("BYTES_OUT")))
    (c0, cyc0, macs0, out0), (c1, cyc1, macs1, _) = results
    np.testing.assert_array_equal(c0, c1)
    assert cyc0 == cyc1  # the cycle count does not depend on the host
    assert macs0 == macs1 == 20 * 48 * 40
    assert out0 == 20 * 40 * 4
