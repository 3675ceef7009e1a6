"""Fixtures of the simulator tests: a fresh SimModel (real accel_top, cached build) per test."""

from __future__ import annotations

import numpy as np
import pytest
from sim_helpers import Raw

from accel.overlays.sim import SimModel
from accel.overlays.spec import load_spec


@pytest.fixture(scope="session")
def z2_spec():
    return load_spec("z2_default")


@pytest.fixture(scope="session")
def kv260_spec():
    return load_spec("kv260")


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
