"""Resource estimates for the accelerator from yosys ``synth_xilinx`` (no Vivado needed).

``accel_top`` is synthesised with the spec's parameters (``spec.verilog_params()``) and the
generated ``accel_spec.vh``, for the spec's board family (``xc7`` for the PYNQ-Z2's
XC7Z020, ``xcup`` for the KV260's K26), and the cell counts are turned into LUT / FF / DSP /
BRAM36 / LUTRAM / URAM figures against the part's capacity. yosys is not Vivado: its
numbers are an estimate of the accelerator alone (without the AXI DMA, the SmartConnects and
the reset block the block design adds), good for "does it fit, roughly how full is it";
``report_utilization`` of a Vivado build is the real figure.

Results are cached entries of the project's builder under ``cache_dir("yosys", <key>)``, the key
(``build.content_key``) hashing the RTL, the generated header, the parameters, the family, this
module's synthesis script and the yosys version, so a warm call is instant; concurrent estimates
of one configuration run yosys once. A cold run prints its progress on stderr.

    from accel.overlays.estimate import estimate
    r = estimate("z2_default")            # Estimate(...); r.fits, r.used["DSP"], r.seconds
"""

from __future__ import annotations

import gzip
import json
import os
import re
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from accel.errors import BackendError
from accel.overlays.boards import get_board
from accel.overlays.build import ENTRY_INFO, cached_entry_at, content_key, hdl_files
from accel.overlays.rtl_build import SPEC_HEADER, TOP, rtl_sources, write_spec_header
from accel.overlays.spec import Spec, load_spec
from accel.overlays.tools import cache_dir, yosys_bin, yosys_version

# Bump when the synthesis script or the cell accounting below changes (invalidates caches).
SCRIPT_VERSION = "2"  # 2: the mapped netlist is kept (NETLIST_FILE) for the timing proxy
RESOURCES = ("LUT", "FF", "DSP", "BRAM36", "LUTRAM", "URAM")
RESULT_FILE = "result.json"  # the entry's artifacts (their sha256 is checked on every hit)
# The mapped netlist (yosys ``write_json``), gzip-compressed: tens of MB as text for the KV260.
# The timing proxy (:mod:`accel.overlays.timing`) walks it; keeping it in the estimate's entry
# means one synthesis serves both.
NETLIST_FILE = "netlist.json.gz"
_NETLIST_RAW = "netlist.json"
YOSYS_LOG = "yosys.log"
KEEP_ESTIMATES = 32  # cache entries kept (most recently used first)
PROGRESS_SECONDS = 10.0  # longest silence on stderr while yosys runs
PASS_TAIL_BYTES = 64 * 1024  # how much of the growing yosys log a progress line reads
_PASS = re.compile(r"^(\d+(?:\.\d+)*)\. Executing (\S+) pass", re.MULTILINE)

# LUTs a distributed-RAM / shift-register primitive occupies (UG474 ch. 5, UG574 ch. 5).
LUTRAM_LUTS: dict[str, int] = {
    "RAM32X1S": 1,
    "RAM64X1S": 1,
    "RAM128X1S": 2,
    "RAM256X1S": 4,
    "RAM512X1S": 8,
    "RAM32X1D": 2,
    "RAM64X1D": 2,
    "RAM128X1D": 4,
    "RAM256X1D": 8,
    "RAM32M": 4,
    "RAM64M": 4,
    "RAM32M16": 8,
    "RAM64M8": 8,
    "SRL16E": 1,
    "SRLC16E": 1,
    "SRLC32E": 1,
}
LOGIC_LUTS = ("LUT1", "LUT2", "LUT3", "LUT4", "LUT5", "LUT6")
FLOPS = ("FDRE", "FDSE", "FDCE", "FDPE", "LDCE", "LDPE")
DSPS = ("DSP48E1", "DSP48E2")
BRAM36 = ("RAMB36E1", "RAMB36E2", "FIFO36E1", "FIFO36E2")
BRAM18 = ("RAMB18E1", "RAMB18E2", "FIFO18E1", "FIFO18E2")
URAMS = ("URAM288",)


@dataclass
class Estimate:
    """One configuration's estimate against its part."""

    spec: str
    board: str
    part: str
    family: str
    used: dict[str, float]
    capacity: dict[str, float]
    cells: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0  # yosys wall time when it ran (also reported on cache hits)
    cpu_seconds: float = 0.0  # yosys CPU time (user + system) when it ran
    cached: bool = False
    key: str = ""

    @property
    def util(self) -> dict[str, float]:
        """Fraction of the part used per resource (0 where the part has none and none is used)."""
        out = {}
        for r in RESOURCES:
            cap = self.capacity.get(r, 0)
            used = self.used.get(r, 0)
            out[r] = used / cap if cap else (0.0 if not used else float("inf"))
        return out

    @property
    def over(self) -> list[str]:
        """Resources the accelerator alone already exceeds."""
        return [r for r, u in self.util.items() if u > 1.0]

    @property
    def fits(self) -> bool:
        return not self.over

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["util"] = {k: round(v, 4) for k, v in self.util.items()}
        d["fits"] = self.fits
        d["over"] = self.over
        return d


def resources_from_cells(cells: Mapping[str, int]) -> dict[str, float]:
    """Xilinx primitive counts -> LUT (logic + memory, as Vivado's 'Slice/CLB LUTs'), FF, DSP,
    BRAM36 (RAMB18 = 1/2), LUTRAM (LUTs used as memory/SRL), URAM."""
    lutram = sum(LUTRAM_LUTS[c] * n for c, n in cells.items() if c in LUTRAM_LUTS)
    logic = sum(n for c, n in cells.items() if c in LOGIC_LUTS)
    return {
        "LUT": logic + lutram,
        "FF": sum(n for c, n in cells.items() if c in FLOPS),
        "DSP": sum(n for c, n in cells.items() if c in DSPS),
        "BRAM36": sum(n for c, n in cells.items() if c in BRAM36) + 0.5 * sum(
            n for c, n in cells.items() if c in BRAM18
        ),
        "LUTRAM": lutram,
        "URAM": sum(n for c, n in cells.items() if c in URAMS),
    }


def _script(spec: Spec, sources: list[str], family: str) -> str:
    params = " ".join(f"-set {k} {v}" for k, v in spec.verilog_params().items())
    return "\n".join(
        [
            # paths are relative to the work directory: YoWASP's sandbox hides the host /tmp
            f"read_verilog -defer -I inc {' '.join(sources)}",
            f"chparam {params} {TOP}",
            f"synth_xilinx -family {family} -top {TOP} -flatten -noiopad -noclkbuf",
            "tee -q -o stat.json stat -json",
            f"write_json -noscopeinfo {_NETLIST_RAW}",
            "",
        ]
    )


def _run_timed(cmd: list[str], cwd: Path, timeout: float | None) -> tuple[int | None, float, float]:
    """Run ``cmd`` (output to cwd/yosys.out); return (exit code or None on timeout, wall s, CPU s).

    CPU time comes from this child's own rusage (``os.wait4``), so it is meaningful even when
    other processes share the machine, unlike the wall time."""
    import threading

    t0 = time.monotonic()
    with open(cwd / "yosys.out", "wb") as out:
        proc = subprocess.Popen(cmd, cwd=cwd, stdout=out, stderr=subprocess.STDOUT)
    timer = threading.Timer(timeout, proc.kill) if timeout else None
    if timer:
        timer.start()
    try:
        _, status, usage = os.wait4(proc.pid, 0)
    finally:
        if timer:
            timer.cancel()
    proc.returncode = os.waitstatus_to_exitcode(status)
    wall = time.monotonic() - t0
    cpu = usage.ru_utime + usage.ru_stime
    if proc.returncode < 0 and timeout and wall >= timeout:
        return None, wall, cpu
    return proc.returncode, wall, cpu


def cache_key(spec: Spec, family: str) -> str:
    """The estimate's cache key: the RTL of ``TOP``, the header, the parameters, the script, yosys."""
    return content_key(
        f"yosys-estimate-{SCRIPT_VERSION}",
        files=hdl_files(rtl_sources(TOP)),
        texts={SPEC_HEADER: spec.verilog_header()},
        params=spec.verilog_params(),
        flags={"family": family},
        tools={"yosys": yosys_version()},
    )[:32]


def estimate(
    spec: str | Spec, *, use_cache: bool = True, timeout: float | None = 3600, progress: bool = True
) -> Estimate:
    """Synthesise ``accel_top`` for ``spec`` with yosys (or read the cache) and count resources.

    The result is the cache entry ``cache_dir("yosys", <key>)`` of the project's builder
    (:func:`~accel.overlays.build.cached_entry_at`): one lock per configuration, so two estimates
    of one configuration run yosys once and never share a work directory; yosys works in a
    temporary directory renamed into place when it is done; ``result.json`` is checked against
    its recorded sha256 before it is believed (a damaged one is synthesised again). While yosys
    runs, ``progress`` prints the configuration, the step and the elapsed time on stderr.
    """
    spec = load_spec(spec)
    flow = get_board(spec.board)  # the part's family and capacities (overlays/boards.toml)
    family = flow.yosys_family
    key = cache_key(spec, family)
    root = cache_dir("yosys")
    ran: list[dict[str, Any]] = []  # the result when this call ran yosys (not a cache hit)

    with _Progress(spec.name, progress) as bar:

        def build(tmp: Path, log: Path) -> dict[str, Any]:
            doc = _legacy_result(root / key, spec, family) if use_cache else None
            if doc is not None:  # keep its yosys work files too (the log is what one debugs with)
                shutil.copytree(root / key, tmp, dirs_exist_ok=True)
            else:
                doc = _synthesise(spec, family, tmp, log, timeout, bar, key)
                ran.append(doc)
            (tmp / RESULT_FILE).write_text(json.dumps(doc, indent=1, sort_keys=True))
            return {"spec": spec.name, "spec_hash": spec.hash, "family": family}

        bar.step("waiting for the cache entry (another estimate of this configuration may be running)", say=False)
        entry = cached_entry_at(
            root, key, build, keep=KEEP_ESTIMATES, artifacts=(RESULT_FILE, NETLIST_FILE), rebuild=not use_cache
        )
        if ran:
            bar.step("done")
    try:
        doc = json.loads((entry / RESULT_FILE).read_text())
        return _from_doc(spec, flow.capacity, doc, key, cached=not ran)
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise BackendError(
            f"the cached estimate {entry / RESULT_FILE} is unreadable ({exc}); delete {entry} and run again"
        ) from exc


def _synthesise(
    spec: Spec, family: str, work: Path, log: Path, timeout: float | None, bar: _Progress, key: str
) -> dict[str, Any]:
    """Run yosys ``synth_xilinx`` in ``work`` (a fresh temporary); return the result document.

    ``key`` is the cache key the entry is filed under, computed before waiting for the entry's
    lock; the RTL is checked against it once copied, so an edit made meanwhile cannot file one
    design's netlist under another design's key."""
    sources = rtl_sources(TOP)
    if not sources or sources[-1].stem != TOP:
        raise BackendError(f"the RTL for {TOP} is incomplete (found {[p.name for p in sources]})")
    bar.step("copying the RTL")
    rtl = work / "rtl"
    rtl.mkdir()
    names = []
    for src in sources:
        shutil.copyfile(src, rtl / src.name)
        names.append(f"rtl/{src.name}")
    if cache_key(spec, family) != key:
        raise BackendError(f"the RTL of {TOP} changed while this estimate of {spec.name} waited for its cache "
                           "entry; run it again (it synthesises the RTL as it is now)")
    write_spec_header(spec, work / "inc")
    (work / "synth.ys").write_text(_script(spec, names, family))

    cmd = [yosys_bin(), "-q", "-l", YOSYS_LOG, "synth.ys"]
    bar.step("yosys synth_xilinx", log=work / YOSYS_LOG)
    returncode, seconds, cpu = _run_timed(cmd, work, timeout)
    if returncode is None or returncode != 0 or not (work / "stat.json").is_file():
        _append(log, work / "yosys.out", work / YOSYS_LOG)  # the temporary goes; the build log stays
        if returncode is None:
            raise BackendError(f"yosys did not finish synthesising {spec.name} within {timeout:.0f} s (log: {log})")
        out = (work / "yosys.out").read_text(errors="replace") if (work / "yosys.out").is_file() else ""
        tail = "\n".join(out.strip().splitlines()[-15:])
        raise BackendError(f"yosys synth_xilinx failed for {spec.name} (log: {log}):\n{tail}")
    bar.step("compressing the netlist")
    _gzip(work / _NETLIST_RAW, work / NETLIST_FILE)
    bar.step("reading stats")
    stats = json.loads((work / "stat.json").read_text())
    cells = {k: int(v) for k, v in stats["design"]["num_cells_by_type"].items() if not k.startswith("$")}
    return {
        "cells": cells,
        "seconds": round(seconds, 1),
        "cpu_seconds": round(cpu, 1),
        "family": family,
        "spec_hash": spec.hash,
    }


def _gzip(src: Path, dst: Path) -> None:
    """Compress ``src`` into ``dst`` and remove ``src`` (the raw netlist is not kept twice)."""
    if not src.is_file():
        raise BackendError(f"yosys did not write the netlist {src.name}")
    with open(src, "rb") as fin, gzip.open(dst, "wb", compresslevel=6) as fout:
        shutil.copyfileobj(fin, fout, 1 << 20)
    src.unlink()


def netlist_path(spec: str | Spec, *, use_cache: bool = True, progress: bool = True) -> Path:
    """The mapped netlist of ``spec`` (gzip'd yosys JSON) in its estimate's cache entry, synthesising
    first if needed; the path stays valid while the entry is in the cache."""
    est = estimate(spec, use_cache=use_cache, progress=progress)
    return cache_dir("yosys") / est.key / NETLIST_FILE


def _append(log: Path, *files: Path) -> None:
    with log.open("a") as out:
        for f in files:
            if f.is_file():
                out.write(f"\n--- {f.name}\n")
                out.write(f.read_text(errors="replace"))


def _legacy_result(entry: Path, spec: Spec, family: str) -> dict[str, Any] | None:
    """A ``result.json`` that earlier versions wrote straight into the entry (no ``build.json``).

    Adopted when well-formed and for this configuration, so an upgrade does not re-run minutes
    of yosys; never when the entry has a ``build.json`` (then its record found it damaged).
    """
    if (entry / ENTRY_INFO).exists() or not (entry / NETLIST_FILE).is_file():
        return None
    try:
        doc = json.loads((entry / RESULT_FILE).read_text())
        _from_doc(spec, {}, doc, "", cached=True)  # raises on a malformed document
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None
    if doc.get("family") != family or doc.get("spec_hash", spec.hash) != spec.hash:
        return None
    return doc


class _Progress:
    """Progress of one estimate on stderr: the configuration, the step, the seconds since it began.

    A line at each announced step and, from a thread, at least every :data:`PROGRESS_SECONDS`
    while a step runs (yosys takes minutes; during it the line names the yosys pass its log
    has reached). Silent when disabled, and nothing at all for a quick cache hit.
    """

    def __init__(self, label: str, enabled: bool) -> None:
        self.label = label
        self.enabled = enabled
        self.t0 = time.monotonic()
        self.name = ""
        self.log: Path | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def __enter__(self) -> _Progress:
        if self.enabled:
            self._thread = threading.Thread(target=self._beat, name=f"estimate-progress-{self.label}", daemon=True)
            self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()

    def step(self, name: str, *, log: Path | None = None, say: bool = True) -> None:
        """Enter step ``name`` (``log``: a yosys log to report the pass of); announce it unless ``say`` is false."""
        self.name, self.log = name, log
        if say:
            self._say()

    def _beat(self) -> None:
        while not self._stop.wait(PROGRESS_SECONDS):
            self._say()

    def _say(self) -> None:
        if not self.enabled:
            return
        detail = _yosys_pass(self.log) if self.log is not None else ""
        elapsed = time.monotonic() - self.t0
        print(f"estimate {self.label}: {self.name}{detail} ({elapsed:.0f} s)", file=sys.stderr, flush=True)


def _yosys_pass(log: Path) -> str:
    """``", pass 11.49 ABC9"``: the last pass yosys's log has reached (its tail only), else ""."""
    try:
        with open(log, "rb") as fh:
            fh.seek(max(0, fh.seek(0, os.SEEK_END) - PASS_TAIL_BYTES))
            tail = fh.read().decode(errors="replace")
    except OSError:
        return ""
    found = _PASS.findall(tail)
    if not found:
        return ""
    number, name = found[-1]
    return f", pass {number} {name}"


def _from_doc(spec: Spec, capacity: Mapping[str, float], doc: Mapping[str, Any], key: str, cached: bool) -> Estimate:
    cells = {k: int(v) for k, v in doc["cells"].items()}
    return Estimate(
        spec=spec.name,
        board=spec.board,
        part=spec.part,
        family=str(doc["family"]),
        used=resources_from_cells(cells),
        capacity=dict(capacity),
        cells=cells,
        seconds=float(doc["seconds"]),
        cpu_seconds=float(doc.get("cpu_seconds", 0.0)),
        cached=cached,
        key=key,
    )


def estimate_many(names: Iterable[str], *, use_cache: bool = True, jobs: int | None = None) -> list[Estimate]:
    """Estimate several specs, in parallel processes of yosys (one per core by default)."""
    names = list(names)
    jobs = max(1, min(len(names), jobs or os.cpu_count() or 1))
    if jobs == 1:
        return [estimate(n, use_cache=use_cache) for n in names]
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=jobs) as pool:
        return list(pool.map(lambda n: estimate(n, use_cache=use_cache), names))


def _fmt(x: float) -> str:
    return f"{x:,.1f}" if x != int(x) else f"{int(x):,}"


def format_table(results: Iterable[Estimate]) -> str:
    """A plain-text table: used / capacity (percent) per resource and config."""
    rows = [["config", "part", *RESOURCES, "fits", "yosys"]]
    for r in results:
        cols = []
        for res in RESOURCES:
            cap = r.capacity.get(res, 0)
            used = r.used.get(res, 0)
            if not cap:
                cols.append("-" if not used else f"{_fmt(used)}/0")
            else:
                cols.append(f"{_fmt(used)}/{_fmt(cap)} ({100 * used / cap:.0f}%)")
        src = "cached" if r.cached else "ran"
        timing = f"{r.seconds:.0f}s wall/{r.cpu_seconds:.0f}s cpu {src}"
        rows.append([r.spec, r.part, *cols, "yes" if r.fits else "NO: " + ",".join(r.over), timing])
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=False)).rstrip() for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    lines.append(
        "accel_top alone (yosys synth_xilinx estimate); the block design adds the AXI DMA, two "
        "SmartConnects and a reset block."
    )
    return "\n".join(lines)
