"""ModelProgram.random_inputs: the one definition of "inputs for trying a model without data"
(the CLI's ``run`` and ``bench-models`` both use it)."""

from __future__ import annotations

import numpy as np

from accel.contract.model import ModelProgram


def _program(*inputs: tuple[str, str, list[int]]) -> ModelProgram:
    return ModelProgram(spec_name="z2_default", spec_hash="0" * 64, source="test.onnx",
                        inputs=[{"name": n, "dtype": d, "shape": s} for n, d, s in inputs],
                        outputs=[], tensors=[], arena={"bytes": 0}, weights={}, steps=[])


def test_random_inputs_cover_each_dtypes_domain_and_are_reproducible() -> None:
    mp = _program(("x", "float32", [3, 1]), ("q", "uint8", [64, 64]), ("s", "int8", [64, 64]),
                  ("i", "int64", [1, 4096]), ("b", "bool", [7]))
    a, b, c = mp.random_inputs(1), mp.random_inputs(1), mp.random_inputs(2)
    for name, arr in a.items():
        assert arr.dtype == np.dtype(next(e["dtype"] for e in mp.inputs if e["name"] == name))
        assert list(arr.shape) == next(e["shape"] for e in mp.inputs if e["name"] == name)
        np.testing.assert_array_equal(arr, b[name])
    assert not np.array_equal(a["q"], c["q"])
    # the whole 8-bit domains, both ends (a uint8 activation may sit at 255)
    assert (a["q"].min(), a["q"].max()) == (0, 255)
    assert (a["s"].min(), a["s"].max()) == (-128, 127)
    assert a["i"].min() >= -128 and a["i"].max() <= 255 and a["i"].max() > 127
    assert set(np.unique(a["b"])) <= {False, True}
