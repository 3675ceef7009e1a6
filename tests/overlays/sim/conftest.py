"""Fixtures of the simulator tests: a fresh SimModel (real accel_top, cached build) per test."""

from __future__ import annotations

import numpy as np
import pytest
from sim_helpers import Raw

from accel.overlays.sim import SimModel
from accel.overlays.spec import load_spec


# The Raw helpers drive the DMA's direct-register (simple) mode; test_sim_sg.py drives the
# configurations as their specs build them (scatter-gather).
@pytest.fixture(scope="session")
def z2_spec():
    return load_spec("z2_default").with_dma_mode("simple")


@pytest.fixture(scope="session")
def kv260_spec():
    return load_spec("kv260").with_dma_mode("simple")


@pytest.fixture(scope="session")
def z2_sg_spec():
    return load_spec("z2_default").with_dma_mode("sg")


@pytest.fixture
def sim(z2_spec):
    with SimModel(z2_spec) as model:
        yield model


@pytest.fixture
def raw(sim):
    r = Raw(sim)
    r.dma_start()
    return r


@pytest.fixture
def rng():
    return np.random.default_rng(1234)
