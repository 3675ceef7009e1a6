"""The benchmark's epilogue rows (accel.bench.epilogue): one row per variant and shape, with the
cost model's prediction and the measured run where the overlay can run it, checked against the
golden model."""

from __future__ import annotations

from accel.bench.epilogue import VARIANTS, epilogue_rows, markdown
from accel.contract.epilogue import supported


def test_rows_per_variant(accel_sim) -> None:
    shapes = ((33, 20, 5), (17, 9, 1))
    rows = epilogue_rows(accel_sim, accel_sim.spec, 7, shapes)
    assert [(r["shape_str"], r["variant"]) for r in rows] == [
        (f"{m}x{n}x{k}", v) for m, n, k in shapes for v in VARIANTS]
    for r in rows:
        m, n, _k = r["shape"]
        assert r["dma_bytes_out"] == m * n * (4 if r["out_dtype"] == "int32" else 1)
        assert r["predicted_cycles"] > 0
        runs = supported(accel_sim.spec) or r["variant"] == "int32"
        assert r["measured"] == runs
        if runs:
            assert r["correct"] is True and r["bytes_out"] == r["dma_bytes_out"]
            assert abs(r["prediction_error"]) <= 0.02
    table = markdown(rows)
    assert len([line for line in table if line.startswith("| z2_default")]) == len(rows)
