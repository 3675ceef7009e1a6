"""Every typed error, and every harness fault: the right error within the timeout, then a correct matmul."""

from __future__ import annotations

import time

import numpy as np
import pytest

from accel.contract.lowering import build_program
from accel.contract.schedule import Schedule, default_schedule
from accel.errors import (
    AcceleratorError,
    AllocationError,
    DeviceTimeoutError,
    DMAError,
    DtypeError,
    LayoutError,
    OverlayMismatchError,
    ProgramError,
    ShapeError,
    TransferTooLargeError,
)
from accel.overlays.spec import SPECS_DIR, load_spec
from accel.runtime import Accelerator


def _ab(acc, rng, m=24, k=20, n=16):
    a = acc.allocate((m, k), np.int8)
    b = acc.allocate((k, n), np.int8)
    a[:] = rng.integers(-128, 128, size=(m, k), dtype=np.int8)
    b[:] = rng.integers(-128, 128, size=(k, n), dtype=np.int8)
    return a, b


def _assert_correct(acc, a, b) -> None:
    np.testing.assert_array_equal(acc.matmul(a, b), a.astype(np.int32) @ b.astype(np.int32))


# ----------------------------------------------------------------- user input
def test_dtype_errors(accel_sim, rng) -> None:
    a, b = _ab(accel_sim, rng)
    with pytest.raises(DtypeError, match="int8"):
        accel_sim.matmul(a.astype(np.float32), b)
    with pytest.raises(DtypeError, match="int8"):
        accel_sim.matmul(a, b.astype(np.int16))
    with pytest.raises(DtypeError, match="int32"):
        accel_sim.matmul(a, b, out=np.zeros((a.shape[0], b.shape[1]), np.float64))
    with pytest.raises(DtypeError):
        accel_sim.matmul([[1]], b)


def test_shape_errors(accel_sim, rng) -> None:
    a, b = _ab(accel_sim, rng)
    with pytest.raises(ShapeError, match="inner dimensions"):
        accel_sim.matmul(a, a)
    with pytest.raises(ShapeError, match="2-D"):
        accel_sim.matmul(a.reshape(-1), b)
    with pytest.raises(ShapeError, match="expected"):
        accel_sim.matmul(a, b, out=accel_sim.allocate((3, 3), np.int32))
    with pytest.raises(ShapeError, match=">= 1"):
        accel_sim.matmul(np.zeros((0, 4), np.int8), np.zeros((4, 4), np.int8))
    with pytest.raises(ShapeError, match="schedule is for"):
        accel_sim.matmul(a, b, schedule=Schedule(8, 8, 8, tile_m=8, tile_n=8, tile_k=8))


def test_layout_errors(accel_sim, rng) -> None:
    a, b = _ab(accel_sim, rng, 16, 16, 16)
    with pytest.raises(LayoutError, match="C-contiguous"):
        accel_sim.matmul(a.T, b)  # a transposed CMA view
    with pytest.raises(LayoutError, match="ascontiguousarray"):
        accel_sim.matmul(a, np.asfortranarray(np.asarray(b)))  # a plain numpy array in column-major order


def test_transfer_too_large(accel_sim, rng, monkeypatch) -> None:
    """An overlay whose DMA was built with Vivado's default 14-bit LENGTH (16 KiB - 1)."""
    monkeypatch.setattr(accel_sim.dma, "buffer_max_size", (1 << 14) - 1)
    a, b = _ab(accel_sim, rng, 32, 200, 200)  # B stream of one panel: 40000 bytes
    with pytest.raises(TransferTooLargeError, match="c_sg_length_width"):
        accel_sim.matmul(a, b)
    monkeypatch.undo()
    _assert_correct(accel_sim, a, b)


def test_transfer_too_large_at_build(accel_spec) -> None:
    from dataclasses import replace

    narrow = replace(accel_spec, dma_length_width=14)  # a spec whose DMA moves at most 16 KiB - 1
    with pytest.raises(TransferTooLargeError, match="LENGTH"):
        build_program(narrow, default_schedule(narrow, 16, 4096, 4096))


def test_cma_exhausted(accel_sim) -> None:
    with pytest.raises(AllocationError, match="requested") as ei:
        accel_sim.allocate((accel_sim.spec.ddr_size + 4096,), np.uint8)  # more than the whole simulated CMA
    assert "free" in str(ei.value) and "freebuffer" in str(ei.value)


# ----------------------------------------------------------------- overlay / program mismatch
def test_overlay_spec_mismatch(accel_sim, sim_model, rng, tmp_path) -> None:
    with pytest.raises(OverlayMismatchError, match="SPEC_HASH"):
        accel_sim.accel.check_identity(load_spec("kv260"))
    toml = (SPECS_DIR / "z2_default.toml").read_text().replace("kmax = 4096", "kmax = 2048")
    other = tmp_path / "z2_small_k.toml"
    other.write_text(toml.replace('name = "z2_default"', 'name = "z2_small_k"'))
    with pytest.raises(OverlayMismatchError, match="KMAX"):
        Accelerator(backend="sim", spec=other, sim=sim_model)
    a, b = _ab(accel_sim, rng)
    _assert_correct(accel_sim, a, b)  # the session accelerator is untouched


def test_program_from_another_spec_refused(accel_sim, rng) -> None:
    kv = load_spec("kv260")
    prog = build_program(kv, default_schedule(kv, 8, 8, 8))
    a, b = _ab(accel_sim, rng, 8, 8, 8)
    with pytest.raises(ProgramError, match="recompile"):
        accel_sim.run(prog, a=a, b=b, c=accel_sim.allocate((8, 8), np.int32))


def test_program_json_path_and_missing_operand(accel_sim, rng, tmp_path) -> None:
    spec = accel_sim.spec
    prog = build_program(spec, default_schedule(spec, 20, 12, 28))
    a, b = _ab(accel_sim, rng, 20, 28, 12)
    ref = a.astype(np.int32) @ b.astype(np.int32)
    path = tmp_path / "prog.json"
    path.write_text(prog.to_json())
    for p in (prog, prog.to_json(), str(path), path, prog.to_dict()):
        c = accel_sim.allocate((20, 12), np.int32)
        r = accel_sim.run(p, a=a, b=b, c=c)
        np.testing.assert_array_equal(c, ref)
        assert r is accel_sim.last and r.cpu_bytes_copied == 0
    with pytest.raises(ProgramError, match="needs operand 'c'"):
        accel_sim.run(prog, a=a, b=b)
    with pytest.raises(ProgramError, match="not valid JSON"):
        accel_sim.run("{nope", a=a, b=b)


# ----------------------------------------------------------------- hardware faults
FAULTS = [
    ("dma_slverr", "mm2s", DMAError, "DMASlvErr"),
    ("dma_slverr", "s2mm", DMAError, "DMASlvErr"),
    ("dma_decerr", "mm2s", DMAError, "DMADecErr"),
    ("dma_decerr", "s2mm", DMAError, "DMADecErr"),
    ("mm2s_stall", None, DeviceTimeoutError, "MM2S"),
    ("s2mm_stall", None, DeviceTimeoutError, "S2MM"),
    ("drop_tlast", "mm2s", AcceleratorError, "TLAST"),
    # S2MM ignores the drain's TLAST, so the next drain's data overruns its LENGTH: DMAIntErr (simple
    # mode); in scatter-gather mode the drain's descriptor fills without an end of packet (RXEOF)
    ("drop_tlast", "s2mm", DMAError, "DMAIntErr|no end of packet"),
    ("accel_hang", None, DeviceTimeoutError, "accelerator"),
]


@pytest.mark.parametrize(("fault", "channel", "error", "text"), FAULTS,
                         ids=[f"{f}-{c}" if c else f for f, c, _, _ in FAULTS])
def test_fault_raises_typed_error_then_recovers(accel_sim, rng, fault, channel, error, text) -> None:
    a, b = _ab(accel_sim, rng, 40, 24, 24)
    accel_sim.sim.inject(fault, channel)
    t0 = time.monotonic()
    with pytest.raises(error, match=text) as ei:
        accel_sim.matmul(a, b)
    assert time.monotonic() - t0 < accel_sim.executor.timeout_s
    assert "reset" in str(ei.value)
    _assert_correct(accel_sim, a, b)
    _assert_correct(accel_sim, a, b)


def test_wall_timeout_on_polling_backend(accel_sim, rng, monkeypatch) -> None:
    """With non-blocking polls (the board's mode) the wall-clock timeout fires and names the channel."""
    monkeypatch.setattr(accel_sim._backend, "blocking_polls", False)
    monkeypatch.setattr(accel_sim.executor, "timeout_s", 0.3)
    a, b = _ab(accel_sim, rng)
    accel_sim.sim.inject("s2mm_stall")
    with pytest.raises(DeviceTimeoutError, match=r"S2MM .* within 0.3 s"):
        accel_sim.matmul(a, b)
    monkeypatch.undo()
    _assert_correct(accel_sim, a, b)


def test_backend_selection(sim_model, accel_sim, rng) -> None:
    from accel.errors import BackendError

    with pytest.raises(BackendError, match="unknown backend"):
        Accelerator(backend="fpga")
    with pytest.raises(BackendError, match="no PYNQ board"):
        Accelerator(backend="board")
    with Accelerator(backend="auto", sim=sim_model) as acc:  # no board here: auto picks the simulator
        assert acc.backend == "sim"
        a, b = _ab(acc, rng, 8, 8, 8)
        _assert_correct(acc, a, b)
    with pytest.raises(BackendError, match="closed"):
        acc.matmul(a, b)
    a, b = _ab(accel_sim, rng)
    _assert_correct(accel_sim, a, b)


def test_accumulate_program(accel_sim, rng) -> None:
    """c_init="accumulate": C += A @ B (C staged, drains added on the CPU: counted copies)."""
    spec = accel_sim.spec
    prog = build_program(spec, default_schedule(spec, 24, 16, 20), c_init="accumulate")
    a, b = _ab(accel_sim, rng, 24, 20, 16)
    c = accel_sim.allocate((24, 16), np.int32)
    c[:] = rng.integers(-1000, 1000, size=c.shape, dtype=np.int32)
    want = c + a.astype(np.int32) @ b.astype(np.int32)
    r = accel_sim.run(prog, a=a, b=b, c=c)
    np.testing.assert_array_equal(c, want)
    assert r.cpu_bytes_copied == c.nbytes


def test_dropped_output_tlast_single_drain_times_out(accel_sim, rng) -> None:
    """One drain and no TLAST: S2MM never completes (PYNQ issue #846's hang) -> typed timeout, then recovery."""
    a, b = _ab(accel_sim, rng, 8, 24, 24)
    accel_sim.sim.inject("drop_tlast", "s2mm")
    # scatter-gather: the drain's descriptor completes full but without RXEOF, caught at once
    with pytest.raises(DMAError if accel_sim.executor.sg else DeviceTimeoutError, match="S2MM"):
        accel_sim.matmul(a, b)
    _assert_correct(accel_sim, a, b)
