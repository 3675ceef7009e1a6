"""Compiler test fixtures: a kv260 simulator next to the suite's z2_default one (``accel_sim``)."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from typing import Any

import pytest


@pytest.fixture(scope="session")
def kv260_sim() -> Iterator[Any]:
    from accel.runtime import Accelerator

    acc = Accelerator(backend="sim", spec="kv260")
    yield acc
    acc.close()


@pytest.fixture(autouse=True)
def _quiet_copies() -> Iterator[None]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield
