"""scripts/sim_speed keeps working (a short run; the real measurement is the script itself)."""

from __future__ import annotations

import importlib.machinery
import importlib.util
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "sim_speed"


def test_sim_speed_short_run():
    loader = importlib.machinery.SourceFileLoader("sim_speed_script", str(SCRIPT))
    module = importlib.util.module_from_spec(importlib.util.spec_from_loader(loader.name, loader))
    loader.exec_module(module)
    r = module.measure("z2_default", 2e5)  # checks one drained tile against numpy itself
    assert r["cycles"] > 2e5 and r["cycles_per_second"] > 0 and r["cycles_per_cpu_second"] > 0
    assert r["stream_b"] >= 2
