"""The simulation library: verilated ``accel_top`` + the C++ harness in one ``.so``, built through :mod:`build`.

``build_sim(spec)`` returns the path of ``libaccelsim.so`` for that spec. The library is the cache
entry ``cache_dir("sim", <key>)`` of :func:`accel.overlays.build.cached_entry`, its key the
:func:`~accel.overlays.build.content_key` of everything that goes into it: the RTL sources (and every
HDL file beside them), the harness sources, the generated headers, the Verilog parameters, the
Verilator and compiler flags and the tool versions. A second build of the same configuration is a
hash and a stat() call (the library's sha256 is checked once per process); concurrent builders
compile a configuration once, and a damaged cached library is rebuilt, never loaded.
"""

from __future__ import annotations

import functools
import os
import platform
import shutil
import subprocess
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from accel.errors import SimulatorBuildError
from accel.overlays import rtl_build
from accel.overlays.build import (
    MAKE_FIXES,
    VerilatedRuntime,
    cached_entry,
    content_key,
    hdl_files,
    param_args,
    run_logged,
    verilator_tools,
)
from accel.overlays.spec import Spec, load_spec
from accel.overlays.tools import RTL_DIR, SIM_DIR, cxx, verilator_bin, verilator_env, verilator_root

BUILD_FORMAT = "accelsim-build-5"
LIB_NAME = "libaccelsim.so"
TOP = rtl_build.TOP  # accel_top and what it instantiates, not the Vivado wrapper
PREFIX = "Vaccel_top"
HARNESS_SOURCES = ("harness.cpp", "harness.h")
JOBS = 2  # a 2-core machine: never more than two compiler processes
KEEP_BUILDS = 16  # cache entries kept (most recently used first); older ones are pruned after a build

VERILATOR_FLAGS = (
    "--cc",
    "-O3",
    "--x-assign", "fast",
    "--x-initial", "fast",
    "--noassert",
    "--no-timing",
    "--threads", "1",
    "-Wno-fatal",  # lint is the RTL's own job; warnings are kept in build.log
    "--top-module", TOP,
    "--prefix", PREFIX,
)  # fmt: skip
MODEL_CFLAGS = ("-fPIC", "-fvisibility=hidden")
OPT = {"OPT_FAST": "-O3", "OPT_SLOW": "-O1", "OPT_GLOBAL": "-O2"}
VM_DEFINES = (
    "-DVERILATOR=1", "-DVM_COVERAGE=0", "-DVM_SC=0", "-DVM_TIMING=0", "-DVM_TRACE=0",
    "-DVM_TRACE_FST=0", "-DVM_TRACE_VCD=0", "-DVM_TRACE_SAIF=0",
)  # fmt: skip
HARNESS_CXXFLAGS = ("-O3", "-fPIC", "-fvisibility=hidden", "-std=gnu++17", "-Wall", "-Wno-unused-function")
LINK_FLAGS = ("-shared", "-Wl,--exclude-libs,ALL", "-Wl,-Bsymbolic", "-pthread", "-latomic")


def generated_headers(spec: Spec) -> dict[str, str]:
    """The headers generated from the spec for this build (file name -> text).

    They are written into the build's include directory (first on the RTL's and the harness's
    include path) and hashed into the key; a new generated header is one more entry here.
    """
    return {rtl_build.SPEC_HEADER: spec.verilog_header(), "accel_spec.h": spec.c_header()}


@functools.cache
def _native_flags() -> tuple[str, ...]:
    """``-march=native`` where the compiler takes it (about +20 % simulation speed here); the CPU's
    identity then goes into the cache key, so a shared cache never hands a library to a CPU that
    cannot run it. ``ACCEL_SIM_NATIVE=0`` turns it off."""
    if os.environ.get("ACCEL_SIM_NATIVE", "1") == "0":
        return ()
    try:
        ok = subprocess.run(
            [cxx(), "-march=native", "-x", "c++", "-E", "-o", os.devnull, os.devnull], capture_output=True
        ).returncode
    except OSError:
        return ()
    return ("-march=native",) if ok == 0 else ()


@functools.cache
def _cpu_identity() -> str:
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return platform.machine() + platform.processor()
    keep = ("model name", "flags", "Features", "CPU part", "CPU implementer", "vendor_id", "cpu family", "model")
    first = text.split("\n\n", 1)[0]
    return "\n".join(ln for ln in first.splitlines() if ln.split(":", 1)[0].strip() in keep)


def _tools() -> dict[str, str]:
    tools = verilator_tools()
    if _native_flags():
        tools["cpu"] = _cpu_identity()
    return tools


def _model_cflags() -> tuple[str, ...]:
    return (*MODEL_CFLAGS, *_native_flags())


def _runtime() -> VerilatedRuntime:
    """The Verilator runtime compiled with this build's model flags (shared by every spec)."""
    return VerilatedRuntime("accelsim-runtime-1", [VERILATOR_FLAGS, _model_cflags(), OPT, MAKE_FIXES])


def _sources(sources: Sequence[Path] | None) -> list[Path]:
    return [Path(s).resolve() for s in (rtl_build.rtl_sources(TOP) if sources is None else sources)]


def build_key(spec: Spec | str, sources: Sequence[Path] | None = None) -> str:
    """The cache key of the simulation library for ``spec`` (sha256 hex)."""
    return _key(load_spec(spec), _sources(sources))


def _key(spec: Spec, srcs: Sequence[Path]) -> str:
    flags = {
        "sources": [s.name for s in srcs],
        "verilator": VERILATOR_FLAGS,
        "G": param_args(spec.verilog_params()),
        "model": [_model_cflags(), OPT, VM_DEFINES, MAKE_FIXES],
        "harness": [HARNESS_CXXFLAGS, _native_flags(), spec.axil_addr_width, LINK_FLAGS],
    }
    return content_key(
        BUILD_FORMAT,
        files=[*hdl_files(srcs), *(SIM_DIR / name for name in HARNESS_SOURCES)],
        texts=generated_headers(spec),
        params=spec.verilog_params(),
        flags=flags,
        tools=_tools(),
    )


def build_sim(spec: Spec | str, *, sources: Sequence[Path] | None = None, verbose: bool = False) -> Path:
    """Build (or find in the cache) the simulation library for ``spec``; returns the ``.so`` path.

    ``sources`` overrides the RTL source list (default: ``rtl_build.rtl_sources(TOP)``, the real
    ``accel_top``); it exists to test the harness against other tops. Raises
    :class:`accel.errors.SimulatorBuildError` with the tool's error text on failure.
    """
    spec = load_spec(spec)
    srcs = _sources(sources)
    # The library's size and sha256 are checked before it is returned (a damaged one is rebuilt):
    # ctypes loading a truncated or corrupted .so crashes the process instead of raising.
    entry = cached_entry(
        "sim",
        _key(spec, srcs),
        lambda tmp, log: _build(spec, srcs, tmp, log, verbose),
        keep=KEEP_BUILDS,
        artifacts=(LIB_NAME,),
    )
    return entry / LIB_NAME


def _build(spec: Spec, srcs: list[Path], tmp: Path, log: Path, verbose: bool) -> Mapping[str, Any]:
    """Verilate ``srcs``, compile the model, link it with the harness into ``tmp/libaccelsim.so``."""
    t0 = time.monotonic()
    env = verilator_env()
    env.pop("MAKEFLAGS", None)
    env.pop("MFLAGS", None)
    gen = tmp / "gen"
    obj = tmp / "obj"
    gen.mkdir()
    for name, text in generated_headers(spec).items():
        (gen / name).write_text(text)
    for s in srcs:
        if not s.is_file():
            raise SimulatorBuildError(f"RTL source {s} does not exist")
    incdirs = [gen, *sorted({s.parent for s in srcs}), RTL_DIR]
    vroot = verilator_root()
    verilate = [
        verilator_bin(),
        *VERILATOR_FLAGS,
        "-Mdir", str(obj),
        *[f"-I{d}" for d in incdirs],
        *param_args(spec.verilog_params()),
        "-CFLAGS", " ".join(_model_cflags()),
        *[str(s) for s in srcs],
    ]  # fmt: skip
    make = [
        "make", "-f", f"{PREFIX}.mk", f"-j{JOBS}", "VM_PARALLEL_BUILDS=1", *MAKE_FIXES,
        *[f"{k}={v}" for k, v in OPT.items()],
        f"lib{PREFIX}.a", "libverilated.a",
    ]  # fmt: skip
    with _runtime().provide(obj) as seed:
        run_logged(verilate, tmp, log, "verilator", env)
        t_verilate = time.monotonic() - t0
        if seed:
            run_logged(seed, tmp, log, "copy of the cached Verilator runtime", env)
        run_logged(make, obj, log, "C++ compile of the verilated model", env)
    t_model = time.monotonic() - t0 - t_verilate

    out = tmp / LIB_NAME
    link = [
        cxx(),
        *HARNESS_CXXFLAGS,
        *_native_flags(),
        f"-DSIM_AXIL_ADDR_WIDTH={spec.axil_addr_width}",
        *VM_DEFINES,
        f"-I{gen}", f"-I{SIM_DIR}",
        # Verilator's own headers are not ours to warn about
        "-isystem", str(obj), "-isystem", str(vroot / "include"), "-isystem", str(vroot / "include" / "vltstd"),
        str(SIM_DIR / "harness.cpp"),
        str(obj / f"lib{PREFIX}.a"),
        str(obj / "libverilated.a"),
        *LINK_FLAGS,
        "-o", str(out),
    ]  # fmt: skip
    run_logged(link, tmp, log, "C++ compile/link of the harness", env)
    # Keep the cache entry small: the .so, the generated headers and the log are all that is needed.
    shutil.rmtree(obj, ignore_errors=True)
    t_total = time.monotonic() - t0
    if verbose:
        print(f"accelsim: built {out} in {t_total:.1f} s")
    return {
        "spec": spec.name,
        "spec_hash": spec.hash,
        "sources": [str(s) for s in srcs],
        "params": spec.verilog_params(),
        "verilator": verilator_tools()["verilator"],
        "seconds": {"verilate": t_verilate, "model": t_model, "total": t_total},
    }

