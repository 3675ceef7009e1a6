"""Adversarial: what users do with buffers — freed, overlapping, from another Accelerator, read
after close. Each case is a typed error (or the right answer), never a crash or a silent wrong
result, and the Accelerator keeps working afterwards."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import warnings

import numpy as np
import pytest

from accel.errors import BufferFreedError, DtypeError, OverlapError, ShapeError
from accel.runtime.accelerator import CopyWarning


def _ab(acc, rng, m=5, k=7, n=3):
    a = acc.allocate((m, k), np.int8)
    b = acc.allocate((k, n), np.int8)
    a[:] = rng.integers(-128, 128, a.shape)
    b[:] = rng.integers(-128, 128, b.shape)
    return a, b


def _ref(a, b):
    return a.astype(np.int32) @ b.astype(np.int32)


def _still_works(acc, rng):
    a, b = _ab(acc, rng, 9, 17, 11)
    np.testing.assert_array_equal(acc.matmul(a, b), _ref(a, b))


def test_freed_output_is_refused_and_nothing_is_written(accel_sim, rng):
    a, b = _ab(accel_sim, rng)
    out = accel_sim.allocate((5, 3), np.int32)
    out.freebuffer()
    other = accel_sim.allocate((5, 3), np.int32)  # reuses the freed block
    other[:] = 42
    with pytest.raises(BufferFreedError, match="freed"):
        accel_sim.matmul(a, b, out=out)
    assert (other == 42).all()  # the live buffer that got the memory is untouched
    _still_works(accel_sim, rng)


def test_freed_input_and_views_of_it_are_refused(accel_sim, rng):
    a, b = _ab(accel_sim, rng)
    view = a[1:4]
    a.freebuffer()
    with pytest.raises(BufferFreedError):
        accel_sim.matmul(a, b)
    with pytest.raises(BufferFreedError):
        accel_sim.matmul(view, b)
    _still_works(accel_sim, rng)


def test_output_overlapping_an_input_is_refused(accel_sim, rng):
    a, b = _ab(accel_sim, rng)
    big = accel_sim.allocate((64,), np.int32)
    a_in_big = big.view(np.int8)[:35].reshape(5, 7)
    a_in_big[:] = a
    with pytest.raises(OverlapError, match="share memory"):
        accel_sim.matmul(a_in_big, b, out=big[:15].reshape(5, 3))
    # disjoint parts of one allocation are fine
    c = big[16:31].reshape(5, 3)
    accel_sim.matmul(a_in_big, b, out=c)
    np.testing.assert_array_equal(c, _ref(a, b))


def test_the_same_input_twice_is_fine(accel_sim, rng):
    a = accel_sim.allocate((8, 8), np.int8)
    a[:] = rng.integers(-128, 128, a.shape)
    np.testing.assert_array_equal(accel_sim.matmul(a, a), _ref(a, a))


def test_bad_allocate_arguments_are_typed(accel_sim):
    with pytest.raises(ShapeError, match="negative"):
        accel_sim.allocate((-1, 5))
    with pytest.raises(ShapeError):
        accel_sim.allocate("big")
    with pytest.raises(DtypeError):
        accel_sim.allocate((4, 4), "int7")


def test_buffer_of_another_accelerator_is_copied_with_the_right_warning(accel_sim, rng):
    from accel.runtime import Accelerator

    a, b = _ab(accel_sim, rng)
    with Accelerator(backend="sim") as other:  # fresh: it warns once per operand name
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            c = other.matmul(a, b)
        msgs = [str(w.message) for w in caught if issubclass(w.category, CopyWarning)]
        assert msgs and all("another Accelerator" in m for m in msgs), msgs
        np.testing.assert_array_equal(c, _ref(a, b))


def _run_script(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True,
                          timeout=600)


def test_buffers_stay_readable_after_close():
    """The notebook pattern: close the Accelerator, then print a result (a segfault before)."""
    proc = _run_script("""
        import numpy as np
        from accel.runtime import Accelerator
        with Accelerator(backend="sim") as acc:
            a = acc.allocate((4, 4), np.int8); a[:] = 1
            c = acc.matmul(a, a)
        print(int(c.sum()), int(a.sum()))
        c[:] = 0  # still writable memory, no longer anyone's DMA target
        print(int(c.sum()))
    """)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.split() == ["64", "16", "0"]


def test_closing_in_opening_order_leaves_a_live_active_device():
    proc = _run_script("""
        import numpy as np, pynq
        from pynq.pl_server.device import Device
        from accel.runtime import Accelerator
        first = Accelerator(backend="sim"); second = Accelerator(backend="sim")
        first.close()
        assert Device.active_device is second.device, Device.active_device
        buf = pynq.allocate((4,), np.int8)  # stock pynq.allocate on the device still open
        assert buf.device is second.device
        second.close()
        print("ok")
    """)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.strip() == "ok"
