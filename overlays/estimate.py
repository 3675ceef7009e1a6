"""Resource estimates for the accelerator from yosys ``synth_xilinx`` (no Vivado needed).

``accel_top`` is synthesised with the spec's parameters (``spec.verilog_params()``) and the
generated ``accel_spec.vh``, for the spec's board family (``xc7`` for the PYNQ-Z2's
XC7Z020, ``xcup`` for the KV260's K26), and the cell counts are turned into LUT / FF / DSP /
BRAM36 / LUTRAM / URAM figures against the part's capacity. yosys is not Vivado: its
numbers are an estimate of the accelerator alone (without the AXI DMA, the SmartConnects and
the reset block the block design adds), good for "does it fit, roughly how full is it";
``report_utilization`` of a Vivado build is the real figure.

Results are cached under ``cache_dir("yosys", <key>)``, the key (``build.content_key``) hashing
the RTL, the generated header, the parameters, the family, this module's synthesis script and
the yosys version, so a warm call is instant.

    from accel.overlays.estimate import estimate
    r = estimate("z2_default")            # Estimate(...); r.fits, r.used["DSP"], r.seconds
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from accel.errors import BackendError
from accel.overlays.boards import get_board
from accel.overlays.build import content_key, hdl_files
from accel.overlays.rtl_build import SPEC_HEADER, TOP, rtl_sources, write_spec_header
from accel.overlays.spec import Spec, available_specs, load_spec
from accel.overlays.tools import cache_dir, yosys_bin, yosys_version

# Bump when the synthesis script or the cell accounting below changes (invalidates caches).
SCRIPT_VERSION = "1"
RESOURCES = ("LUT", "FF", "DSP", "BRAM36", "LUTRAM", "URAM")

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


def estimate(spec: str | Spec, *, use_cache: bool = True, timeout: float | None = 3600) -> Estimate:
    """Synthesise ``accel_top`` for ``spec`` with yosys (or read the cache) and count resources."""
    spec = load_spec(spec)
    flow = get_board(spec.board)  # the part's family and capacities (overlays/boards.toml)
    family = flow.yosys_family
    key = cache_key(spec, family)
    work = cache_dir("yosys", key)
    result_file = work / "result.json"
    if use_cache and result_file.is_file():
        try:
            doc = json.loads(result_file.read_text())
            return _from_doc(spec, flow.capacity, doc, key, cached=True)
        except (ValueError, KeyError):
            pass  # a damaged cache entry: synthesise again

    sources = rtl_sources(TOP)
    if not sources or sources[-1].stem != TOP:
        raise BackendError(f"the RTL for {TOP} is incomplete (found {[p.name for p in sources]})")
    rtl = work / "rtl"
    rtl.mkdir(exist_ok=True)
    names = []
    for src in sources:
        shutil.copyfile(src, rtl / src.name)
        names.append(f"rtl/{src.name}")
    write_spec_header(spec, work / "inc")
    (work / "synth.ys").write_text(_script(spec, names, family))
    (work / "stat.json").unlink(missing_ok=True)

    cmd = [yosys_bin(), "-q", "-l", "yosys.log", "synth.ys"]
    returncode, seconds, cpu = _run_timed(cmd, work, timeout)
    if returncode is None:
        raise BackendError(f"yosys did not finish synthesising {spec.name} within {timeout:.0f} s")
    if returncode != 0 or not (work / "stat.json").is_file():
        out = (work / "yosys.out").read_text(errors="replace")
        tail = "\n".join(out.strip().splitlines()[-15:])
        raise BackendError(f"yosys synth_xilinx failed for {spec.name} (log: {work / 'yosys.log'}):\n{tail}")
    stat = json.loads((work / "stat.json").read_text())
    cells = {k: int(v) for k, v in stat["design"]["num_cells_by_type"].items() if not k.startswith("$")}
    doc = {"cells": cells, "seconds": round(seconds, 1), "cpu_seconds": round(cpu, 1), "family": family,
           "spec_hash": spec.hash}
    tmp = result_file.with_suffix(".tmp")
    tmp.write_text(json.dumps(doc, indent=1, sort_keys=True))
    tmp.replace(result_file)
    return _from_doc(spec, flow.capacity, doc, key, cached=False)


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


def main(argv: list[str] | None = None) -> int:
    """``scripts/estimate_resources [--spec NAME ...|--all] [--json] [--no-cache]``.

    Exit 0 when every estimated config fits its part, 1 when one does not, 2 on errors.
    """
    import argparse

    from accel.errors import AccelError

    ap = argparse.ArgumentParser(prog="estimate_resources", description="yosys resource estimate per spec")
    ap.add_argument("--spec", action="append", help="spec name (repeatable); default z2_default")
    ap.add_argument("--all", action="store_true", help="every spec in overlays/specs")
    ap.add_argument("--json", action="store_true", help="print JSON instead of a table")
    ap.add_argument("--no-cache", action="store_true", help="synthesise even when a cached result exists")
    args = ap.parse_args(argv)
    names = available_specs() if args.all else (args.spec or ["z2_default"])
    try:
        results = estimate_many(names, use_cache=not args.no_cache)
    except AccelError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps({"results": [r.to_dict() for r in results]}, indent=2))
    else:
        print(format_table(results))
    bad = [r for r in results if not r.fits]
    for r in bad:
        print(f"error: {r.spec} does not fit {r.part}: {', '.join(r.over)} over capacity", file=sys.stderr)
    return 1 if bad else 0


if __name__ == "__main__":
    raise SystemExit(main())
