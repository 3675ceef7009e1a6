"""The DDR model: one shared-memory file mapped by Python and by the C++ DMA model (zero-copy)."""

from __future__ import annotations

import gc

import numpy as np
from sim_helpers import MM2S, S2MM, Raw

from accel.overlays.sim import SimModel


def test_ddr_view_shape_and_file(sim):
    s = sim.spec
    assert isinstance(sim.ddr, memoryview) and not sim.ddr.readonly
    assert sim.ddr.nbytes == s.ddr_size
    path = sim.shm_path
    # mapped by Python and by the C++ model, then unlinked: nothing on disk to leak
    assert path is not None and not path.exists()
    with open("/proc/self/maps") as fh:
        maps = [line for line in fh if path.name in line]
    assert maps and all("(deleted)" in line for line in maps)
    assert len(maps) >= 2  # Python's mapping and the C++ model's


def test_zero_copy_round_trip_through_the_accelerator(raw):
    """Bytes written through .ddr are what MM2S streams; S2MM results land in .ddr in place.

    A = identity, so C = B: B goes DDR -> MM2S -> accelerator -> S2MM -> DDR unchanged (as int32).
    """
    s = raw.spec
    m = k = s.rows
    n = 3 * s.lanes + 5
    a_off = raw.alloc(m * k)
    b_off = raw.alloc(k * n)
    a = np.frombuffer(raw.sim.ddr, dtype=np.int8, count=m * k, offset=a_off).reshape(m, k)
    b = np.frombuffer(raw.sim.ddr, dtype=np.int8, count=k * n, offset=b_off).reshape(k, n)
    a[:] = np.eye(m, k, dtype=np.int8)  # written in place: no copy into the simulator anywhere
    b[:] = np.arange(k * n).reshape(k, n) % 251 - 125
    c_off = raw.alloc(m * n * 4)
    c = np.frombuffer(raw.sim.ddr, dtype=np.int32, count=m * n, offset=c_off).reshape(m, n)
    c[:] = -1
    words = [
        s.encode("LOAD_A", abuf=0, rows=m, row_len=k, win_lo=0, win_cnt=k),
        s.encode("STREAM_B", abuf=0, acc=0, accumulate=0, row_len=n, win_lo=0, win_cnt=n),
        s.encode("DRAIN", acc=0, rows=m, win_cnt=n),
    ]
    cmd, nbytes = raw.cmd_packet(words)
    raw.s2mm(c_off, m * n * 4)
    for off, size in ((cmd, nbytes), (a_off, m * k), (b_off, k * n)):
        raw.mm2s(off, size)
        raw.wait(MM2S)
    raw.wait(S2MM)
    np.testing.assert_array_equal(c, b.astype(np.int32))  # the view sees the DMA's writes


def test_close_is_idempotent_and_keeps_views_valid(z2_spec):
    sim = SimModel(z2_spec)
    path = sim.shm_path
    view = np.frombuffer(sim.ddr, dtype=np.uint8)  # an outstanding export of the mapping
    view[:4] = 7
    sim.close()
    assert not path.exists() and sim.closed
    assert view[0] == 7  # still valid memory after close
    sim.close()
    del view


def test_gc_releases_the_model(z2_spec):
    import weakref

    sim = SimModel(z2_spec)
    path = sim.shm_path
    ref = weakref.ref(sim)
    del sim
    gc.collect()
    assert ref() is None and not path.exists()


def test_two_models_are_independent(z2_spec):
    with SimModel(z2_spec) as s1, SimModel(z2_spec) as s2:
        s1.ddr[0:4] = b"abcd"
        assert bytes(s2.ddr[0:4]) == b"\0\0\0\0"
        s1.run(1000)
        assert s2.cycles < s1.cycles
        r1, r2 = Raw(s1), Raw(s2)
        r1.dma_start()
        assert r2.dma(0x04) & 1  # s2's DMA is still halted
