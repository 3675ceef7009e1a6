"""Shared fixtures for the whole test suite.

Simulator fixtures (session scoped: building/loading the Verilator model costs seconds; with
``pytest -n 2`` each xdist worker gets its own model):

- ``accel_spec``: the default spec (``z2_default``).
- ``sim_model``: one ``accel.overlays.sim.SimModel`` for that spec, closed at session end.
- ``accel_sim``: an ``accel.runtime.Accelerator(backend="sim")`` on ``sim_model``; it is the
  active PYNQ device, so stock ``pynq.allocate`` / ``pynq.MMIO`` work in tests. Tests that
  inject faults must leave it usable (the runtime recovers by itself after every fault).
- ``rng``: a seeded ``numpy.random.Generator`` (fresh per test).

Other rooms' tests may use ``accel_sim`` for end-to-end checks (``acc.matmul``, ``acc.run``).
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest


@pytest.fixture(scope="session")
def accel_spec() -> Any:
    from accel.overlays.spec import load_spec

    return load_spec("z2_default")


@pytest.fixture(scope="session")
def sim_model(accel_spec: Any) -> Iterator[Any]:
    from accel.overlays.sim import SimModel

    sim = SimModel(accel_spec)
    yield sim
    sim.close()


@pytest.fixture(scope="session")
def _accel_sim_session(accel_spec: Any, sim_model: Any) -> Iterator[Any]:
    from accel.runtime import Accelerator

    acc = Accelerator(backend="sim", spec=accel_spec, sim=sim_model)
    yield acc
    acc.close()


@pytest.fixture
def accel_sim(_accel_sim_session: Any) -> Any:
    """The session's z2 Accelerator, made the active PYNQ device for this test (another
    module's Accelerator, e.g. a kv260 one under xdist, may have been activated since)."""
    import pynq

    pynq.Device.active_device = _accel_sim_session.device
    return _accel_sim_session


@pytest.fixture
def rng(request: pytest.FixtureRequest) -> np.random.Generator:
    return np.random.default_rng(zlib.crc32(request.node.nodeid.encode()))
