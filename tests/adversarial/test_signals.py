"""Adversarial: a user interrupts a run (Ctrl-C in a notebook) or kills the process."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap


def test_ctrl_c_mid_run_leaves_a_working_accelerator():
    code = textwrap.dedent("""
        import os, signal, threading
        import numpy as np
        from accel.runtime import Accelerator
        # Ctrl-C raises KeyboardInterrupt, as in a terminal or a notebook kernel, even when this
        # process was started with SIGINT ignored (a background job of a non-interactive shell)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        acc = Accelerator(backend="sim")
        rng = np.random.default_rng(3)
        a = acc.allocate((512, 512), np.int8); b = acc.allocate((512, 512), np.int8)
        a[:] = rng.integers(-128, 128, a.shape); b[:] = rng.integers(-128, 128, b.shape)
        interrupted = 0
        for delay in (0.01, 0.05, 0.2):
            threading.Timer(delay, lambda: os.kill(os.getpid(), signal.SIGINT)).start()
            try:
                acc.matmul(a, b)
            except KeyboardInterrupt:
                interrupted += 1
            small_a, small_b = a[:33, :40], b[:40, :17]
            c = acc.matmul(np.ascontiguousarray(small_a), np.ascontiguousarray(small_b))
            assert np.array_equal(c, small_a.astype(np.int32) @ small_b.astype(np.int32))
        c = acc.matmul(a, b)
        assert np.array_equal(c, a.astype(np.int32) @ b.astype(np.int32))
        acc.close()
        print("ok", interrupted)
    """)
    proc = subprocess.run([sys.executable, "-W", "ignore", "-c", code], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    ok, interrupted = proc.stdout.split()
    assert ok == "ok" and int(interrupted) >= 1  # at least one run was really cut short


def test_killed_process_leaves_no_file_in_dev_shm():
    """SIGKILL runs no finalizer: the DDR file must already be gone while the model runs."""
    code = (
        "import sys; from accel.overlays.sim import SimModel; s = SimModel('z2_default'); "
        "print(s.shm_path, flush=True); sys.stdin.read()"
    )
    proc = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        path = proc.stdout.readline().strip()
        assert path.endswith(".ddr")
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        proc.kill()
    assert not os.path.exists(path)
