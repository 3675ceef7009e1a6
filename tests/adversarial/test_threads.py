"""Adversarial: one Accelerator shared by several threads (a notebook with a background worker,
a web demo). Every call must be correct or a typed error; here, with the lock, all are correct."""

from __future__ import annotations

import threading
import warnings

import numpy as np


def test_two_threads_share_one_accelerator(accel_sim):
    wrong: list[tuple[int, int]] = []
    errors: list[str] = []

    def work(seed: int) -> None:
        rng = np.random.default_rng(seed)
        for i in range(40):
            m, k, n = (int(x) for x in rng.integers(1, 40, 3))
            a = accel_sim.allocate((m, k), np.int8)
            b = accel_sim.allocate((k, n), np.int8)
            a[:] = rng.integers(-128, 128, a.shape)
            b[:] = rng.integers(-128, 128, b.shape)
            try:
                c = accel_sim.matmul(a, b)
                if not np.array_equal(c, a.astype(np.int32) @ b.astype(np.int32)):
                    wrong.append((seed, i))
            except Exception as exc:  # any error at all is a failure of this test
                errors.append(repr(exc))

    threads = [threading.Thread(target=work, args=(s,)) for s in (11, 12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    assert not any(t.is_alive() for t in threads), "a thread hung"
    assert errors == [] and wrong == []


def test_threads_with_plain_numpy_operands(accel_sim):
    """Plain numpy operands go through per-operand staging buffers, shared state of the Accelerator."""
    results: list[bool] = []

    def work(seed: int) -> None:
        rng = np.random.default_rng(seed)
        for _ in range(20):
            a = rng.integers(-128, 128, (9, 11)).astype(np.int8)
            b = rng.integers(-128, 128, (11, 6)).astype(np.int8)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                c = accel_sim.matmul(a, b)
            results.append(np.array_equal(c, a.astype(np.int32) @ b.astype(np.int32)))

    threads = [threading.Thread(target=work, args=(s,)) for s in (21, 22)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    assert len(results) == 40 and all(results)
