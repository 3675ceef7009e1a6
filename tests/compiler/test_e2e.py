"""End to end: compile MLIR (tensor and memref forms, with and without AXI4MLIR attributes),
run every function on the Verilator model through the runtime, compare with numpy, and check
the cost model's prediction against the cycles the accelerator counted."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from accel.compiler import CompiledModule, compile

from .mlir_gen import attrs_for, const_weight_func, memref_func, tensor_acc_func, tensor_func

PREDICTION_TOLERANCE = 0.10

# (M, N, K) classes: size 1, tiny non-multiples, exact multiples, several panels with ragged
# edges, N > NMAX (N tiles), K > KMAX (K chunks), size-1 dimensions at scale.
SHAPES = {
    "one": (1, 1, 1),
    "tiny": (5, 3, 7),
    "multiples": (32, 64, 16),
    "ragged": (37, 29, 45),
    "wide_n": (20, 600, 24),
    "deep_k": (9, 16, 4100),
    "m1": (1, 256, 256),
    "n1": (256, 1, 256),
    "k1": (64, 256, 1),
}


def check_module(acc: Any, mod: CompiledModule, rng: np.random.Generator) -> list[dict[str, Any]]:
    """Run every function; assert exact results and the prediction tolerance."""
    rows = []
    for fn in mod:
        args = fn.random_args(rng)
        c, res = mod.run(acc, fn.name, *args)
        ref = fn.reference(*args)
        assert c.shape == ref.shape
        assert np.array_equal(c, ref), f"@{fn.name}: result differs from numpy ({fn.program.schedule})"
        pred = fn.program.predicted["cycles"]
        err = abs(pred - res.cycles) / res.cycles
        assert err <= PREDICTION_TOLERANCE, f"@{fn.name}: predicted {pred} vs {res.cycles} cycles ({err:.1%})"
        rows.append({"name": fn.name, "cycles": res.cycles, "predicted": pred, "schedule": fn.program.schedule})
    return rows


@pytest.mark.parametrize("shape", sorted(SHAPES), ids=sorted(SHAPES))
def test_shape_classes_tensor_and_memref(accel_sim: Any, rng: np.random.Generator, shape: str) -> None:
    m, n, k = SHAPES[shape]
    src = tensor_func("t", m, n, k) + memref_func("acc", m, n, k) + memref_func("zero", m, n, k, zero=True)
    mod = compile(src, spec=accel_sim.spec)
    assert set(mod.functions) == {"t", "acc", "zero"}
    assert mod["acc"].program.c_init == "accumulate" and mod["zero"].program.c_init == "zero"
    check_module(accel_sim, mod, rng)


@pytest.mark.parametrize("flow", ["Ns", "As", "Cs", "Bs"])
@pytest.mark.parametrize("shape", ["ragged", "wide_n"])
def test_axi4mlir_flows(accel_sim: Any, rng: np.random.Generator, flow: str, shape: str) -> None:
    m, n, k = SHAPES[shape]
    tile = 16 if flow in ("Ns", "Cs") else None
    src = tensor_func("t", m, n, k, attrs_for(flow, tile)) + memref_func("mr", m, n, k, attrs_for(flow, tile))
    mod = compile(src, spec=accel_sim.spec)
    want = {"Ns": "N", "As": "A", "Cs": "C", "Bs": "A"}[flow]
    for fn in mod:
        s = fn.program.schedule
        assert s["stationarity"] == want
        if tile:
            assert (s["tile_m"], s["tile_n"], s["tile_k"]) == (16, 16, 16)
        if flow == "Bs":
            assert s["order"] == "nm" and any("Bs" in r for r in fn.remarks)
    check_module(accel_sim, mod, rng)


def test_tile_size_attribute_and_accumulate_forms(accel_sim: Any, rng: np.random.Generator) -> None:
    src = (
        tensor_func("tiles", 40, 50, 60, attrs_for(None, [8, 24, 16]))
        + tensor_func("fill7", 12, 20, 8, fill=7)
        + tensor_acc_func("tacc", 18, 9, 30)
        + memref_func("mtile", 33, 17, 65, attrs_for(None, 8))
    )
    mod = compile(src, spec=accel_sim.spec)
    s = mod["tiles"].program.schedule
    assert (s["tile_m"], s["tile_n"], s["tile_k"]) == (8, 24, 16)
    assert mod["fill7"].bindings["c"] == {"alloc": True, "fill": 7}
    assert mod["tacc"].bindings["c"] == {"arg": 2}
    check_module(accel_sim, mod, rng)


def test_constant_weights_travel_with_the_module(accel_sim: Any, rng: np.random.Generator, tmp_path: Path) -> None:
    w = rng.integers(-128, 128, size=(24, 10)).tolist()
    mod = compile(const_weight_func("dense", 7, 10, 24, w), spec=accel_sim.spec)
    fn = mod["dense"]
    assert fn.arg_count == 1 and np.array_equal(fn.constants()["b"], np.array(w, dtype=np.int8))
    path = mod.save(tmp_path / "dense.accel.json")
    loaded = CompiledModule.load(path)
    assert loaded.programs["dense"].to_dict() == fn.program.to_dict()
    rows = check_module(accel_sim, loaded, rng)
    assert rows[0]["predicted"] == fn.program.predicted["cycles"]


def test_kv260(kv260_sim: Any, rng: np.random.Generator) -> None:
    src = (
        tensor_func("small", 5, 3, 7)
        + memref_func("ragged", 70, 1100, 40)
        + tensor_func("cs", 40, 64, 96, attrs_for("Cs", 32))
        + memref_func("deep", 33, 20, 4200, zero=True)
    )
    mod = compile(src, spec="kv260")
    assert mod.spec_name == "kv260"
    check_module(kv260_sim, mod, rng)
