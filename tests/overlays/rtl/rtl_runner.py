"""Build-and-run helper for the cocotb RTL benches: cocotb's own runner, the project's builder.

cocotb 2.x's Verilator runner builds and runs each bench; :mod:`accel.overlays.build` supplies
what the simulator build uses too: the content-hash key, the lock-safe cache entry
(``cache_dir("cocotb", <toplevel>-<key>)``, built once even under ``pytest -n 2``, so a warm run
does not rebuild), the tool lookup, the ``-G`` literals, the ``verilated.mk`` workaround and the
Verilator runtime objects compiled once per toolchain and copied into every new model.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from accel.overlays.build import (
    MAKE_FIXES,
    VerilatedRuntime,
    build_failure,
    cached_entry,
    content_key,
    hdl_files,
    param_literal,
    verilator_tools,
)
from accel.overlays.rtl_build import SPEC_HEADER, rtl_sources, write_spec_header
from accel.overlays.spec import load_spec
from accel.overlays.tools import verilator_bin, verilator_env

HERE = Path(__file__).resolve().parent
AREA = "cocotb"
KEEP_BUILDS = 64  # more than the benches' configurations (a default run builds about twenty)
KEY_FORMAT = "cocotb-bench-1"
# one compile unit (no precompiled headers) at -O1: the cheapest build for these models
BUILD_ARGS = ("-Wno-fatal", "--output-split", "0", "-CFLAGS", "-O1")
TIMESCALE = ("1ns", "1ps")


def _tools() -> dict[str, str]:
    import cocotb

    return {**verilator_tools(), "cocotb": cocotb.__version__}


def _runtime() -> VerilatedRuntime:
    """The runtime objects of cocotb's Verilator builds (VPI included), shared by every bench."""
    import cocotb

    return VerilatedRuntime("cocotb-runtime-1", [BUILD_ARGS, MAKE_FIXES, cocotb.__version__])


def _runner(seed: list[str] | None) -> Any:
    """cocotb's Verilator runner with the project's verilator, the runtime seed and the make fix."""
    from cocotb_tools.runner import Verilator

    class CachedVerilator(Verilator):
        def _simulator_in_path_build_only(self) -> None:
            self.executable = verilator_bin()

        def _set_env_build(self) -> None:
            super()._set_env_build()
            self.env = verilator_env(self.env)

        def _build_command(self) -> list[list[str]]:
            verilate, make, *rest = super()._build_command()
            return [verilate, *([seed] if seed else []), [*make, *MAKE_FIXES], *rest]

    return CachedVerilator()


def build(
    toplevel: str,
    params: Mapping[str, int] | None = None,
    *,
    spec: str = "z2_default",
    extra_sources: Sequence[str | Path] = (),
) -> Path:
    """Build (or reuse) the Verilator model of ``toplevel``; return its build directory."""
    params = dict(params or {})
    sources = [*rtl_sources(), *(HERE / p for p in extra_sources)]
    header = load_spec(spec).verilog_header()
    key = content_key(
        KEY_FORMAT,
        files=hdl_files(sources),
        texts={SPEC_HEADER: header},
        params=params,
        flags={"toplevel": toplevel, "sources": [s.name for s in sources], "args": BUILD_ARGS, "ts": TIMESCALE},
        tools=_tools(),
    )

    def _build(tmp: Path, log: Path) -> dict[str, Any]:
        inc = write_spec_header(load_spec(spec), tmp / "include").parent
        with _runtime().provide(tmp) as seed:
            try:
                _runner(seed).build(
                    sources=sources,
                    includes=[inc],
                    hdl_toplevel=toplevel,
                    parameters={k: param_literal(v) for k, v in params.items()},
                    build_dir=tmp,
                    build_args=list(BUILD_ARGS),
                    timescale=TIMESCALE,
                    always=False,
                    log_file=log,
                )
            except RuntimeError as exc:  # cocotb's runner: "Command failed with return code: N"
                raise build_failure(f"the Verilator build of {toplevel} failed ({exc})", log) from exc
        return {"toplevel": toplevel, "params": params, "spec": spec}

    return cached_entry(AREA, f"{toplevel}-{key[:16]}", _build, keep=KEEP_BUILDS)


def run(
    toplevel: str,
    test_module: str,
    params: Mapping[str, int] | None = None,
    *,
    test_dir: Path,
    spec: str = "z2_default",
    extra_sources: Sequence[str | Path] = (),
    testcase: str | None = None,
    extra_env: Mapping[str, str] | None = None,
    seed: int | None = 1,
) -> Path:
    """Build if needed, then run the cocotb tests of ``test_module`` against ``toplevel``."""
    from cocotb_tools.runner import get_runner

    build_dir = build(toplevel, params, spec=spec, extra_sources=extra_sources)
    env = {"ACCEL_SPEC": spec, **{f"PARAM_{k}": str(v) for k, v in dict(params or {}).items()}}
    env.update(extra_env or {})
    runner = get_runner("verilator")
    return runner.test(
        hdl_toplevel=toplevel,
        hdl_toplevel_lang="verilog",
        test_module=test_module,
        build_dir=build_dir,
        test_dir=test_dir,
        testcase=testcase,
        extra_env=env,
        seed=seed,
    )
