"""Adversarial: what happens to the build caches — a truncated or corrupted simulator library, an
unusable cache directory, a builder killed midway, two estimates of one configuration at once.
Each case heals (rebuild with a warning, private fallback with a warning, stale temporaries
removed, one yosys run) or is a typed error; none crashes the process.

Every damage case works in a private ``ACCEL_CACHE_DIR`` (tmp_path), never in the shared cache.
The real Verilator model is not rebuilt here: the "damaged library is rebuilt" cases copy the
shared cache's z2 entry into tmp_path, damage the copy, and let a stand-in compiler hand back the
known-good library; loading happens in a subprocess (a SIGBUS would kill pytest).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import threading
import time
import warnings
from pathlib import Path

import pytest

from accel.errors import BackendError
from accel.overlays import build, estimate, sim_build, tools
from accel.overlays.spec import load_spec
from accel.overlays.tools import CacheWarning


# ------------------------------------------------------------------ helpers
def _private_tmp(monkeypatch, tmp_path: Path) -> Path:
    """Point tempfile.gettempdir() (the fallback cache's parent) into tmp_path."""
    tmp = tmp_path / "tmp"
    tmp.mkdir(exist_ok=True)
    monkeypatch.setattr("tempfile.tempdir", str(tmp))
    return tmp


def _tiny_build(payload: bytes = b"artifact"):
    """A build that writes one file and counts its runs (in the area root)."""

    def _build(tmp: Path, log: Path) -> dict:
        with open(tmp.parent / "builds.count", "a") as fh:
            fh.write("x")
        (tmp / "out.bin").write_bytes(payload)
        return {"what": "test"}

    return _build


def _run_child(script: str, env: dict[str, str], *args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(script), *args],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=timeout,
    )


# ------------------------------------------------------------------ 7: damaged simulator library
@pytest.fixture(scope="session")
def good_sim_entry() -> Path:
    """The shared cache's z2_default library entry (built once for the whole suite, warm usually)."""
    return sim_build.build_sim("z2_default").parent


def _truncate(lib: Path) -> None:
    data = lib.read_bytes()
    lib.write_bytes(data[: len(data) // 2])


def _flip_bits(lib: Path) -> None:
    data = bytearray(lib.read_bytes())
    for i in range(len(data) // 3, len(data) // 3 + 4096, 97):
        data[i] ^= 0xFF
    lib.write_bytes(bytes(data))


def _empty(lib: Path) -> None:
    lib.write_bytes(b"")


def _delete(lib: Path) -> None:
    lib.unlink()


OPEN_SIM = """
    import shutil, sys, warnings
    from pathlib import Path
    from accel.overlays import sim_build
    from accel.overlays.sim import SimModel

    good = Path(sys.argv[1])

    def compiler(spec, srcs, tmp, log, verbose):  # stands in for verilator + g++: the known-good library
        with open(tmp.parent / "builds.count", "a") as fh:
            fh.write("x")
        shutil.copyfile(good, tmp / sim_build.LIB_NAME)
        return {"spec": spec.name, "seconds": {}}

    sim_build._build = compiler
    warnings.simplefilter("always")
    sim = SimModel("z2_default")
    spec = sim.spec
    print("ID-OK" if sim.read32(spec.accel_base + spec.reg("ID").offset) == spec.id_magic else "ID-BAD")
    sim.close()
"""


@pytest.mark.parametrize("damage", [_truncate, _flip_bits, _empty, _delete], ids=lambda f: f.__name__[1:])
def test_damaged_library_is_rebuilt_not_loaded(damage, good_sim_entry, tmp_path):
    cache = tmp_path / "cache"
    entry = cache / "sim" / good_sim_entry.name
    shutil.copytree(good_sim_entry, entry)
    good = tmp_path / "good.so"
    shutil.copyfile(good_sim_entry / sim_build.LIB_NAME, good)
    damage(entry / sim_build.LIB_NAME)

    proc = _run_child(OPEN_SIM, {"ACCEL_CACHE_DIR": str(cache)}, str(good))

    assert proc.returncode == 0, f"exit {proc.returncode}\n{proc.stderr[-3000:]}"
    assert "ID-OK" in proc.stdout
    assert "is damaged" in proc.stderr and "rebuilding it" in proc.stderr and "libaccelsim.so" in proc.stderr
    assert (cache / "sim" / "builds.count").read_text() == "x"  # rebuilt once
    assert build.entry_problem(entry) is None
    assert (entry / sim_build.LIB_NAME).read_bytes() == good.read_bytes()


def test_intact_library_is_not_rebuilt(good_sim_entry, tmp_path):
    cache = tmp_path / "cache"
    shutil.copytree(good_sim_entry, cache / "sim" / good_sim_entry.name)
    proc = _run_child(OPEN_SIM, {"ACCEL_CACHE_DIR": str(cache)}, str(good_sim_entry / sim_build.LIB_NAME))
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "ID-OK" in proc.stdout and "damaged" not in proc.stderr
    assert not (cache / "sim" / "builds.count").exists()


def test_build_json_records_the_library(good_sim_entry):
    info = json.loads((good_sim_entry / build.ENTRY_INFO).read_text())
    record = info[build.ARTIFACTS][sim_build.LIB_NAME]
    lib = good_sim_entry / sim_build.LIB_NAME
    assert record["size"] == lib.stat().st_size and len(record["sha256"]) == 64


@pytest.mark.parametrize(
    ("damage", "warns"),
    [
        (lambda e: (e / build.ENTRY_INFO).write_text("{not json"), True),
        (lambda e: (e / build.ENTRY_INFO).write_text(json.dumps({"key": e.name})), False),  # older format: no record
        (lambda e: (e / "out.bin").write_bytes(b"artifacT"), True),  # same size, other bytes
        (lambda e: (e / "out.bin").write_bytes(b"art"), True),
        (lambda e: (e / "out.bin").unlink(), True),
    ],
    ids=["unreadable-build-json", "no-record", "flipped", "truncated", "missing"],
)
def test_any_damaged_entry_is_rebuilt(damage, warns, tmp_path, monkeypatch):
    monkeypatch.setenv("ACCEL_CACHE_DIR", str(tmp_path / "cache"))
    entry = build.cached_entry("t", "k", _tiny_build(), keep=4)
    damage(entry)
    build._verified.clear()  # as a fresh process would
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        again = build.cached_entry("t", "k", _tiny_build(), keep=4)
    damaged = [w for w in caught if issubclass(w.category, CacheWarning) and "is damaged" in str(w.message)]
    assert len(damaged) == (1 if warns else 0), [str(w.message) for w in caught]
    assert again == entry and (entry / "out.bin").read_bytes() == b"artifact"
    assert (tmp_path / "cache" / "t" / "builds.count").read_text() == "xx"
    assert build.entry_problem(entry) is None


def test_hash_is_checked_once_per_process(tmp_path, monkeypatch):
    """The hot path: after the first check of a file, a cache hit is a stat() (size, mtime, inode)."""
    monkeypatch.setenv("ACCEL_CACHE_DIR", str(tmp_path / "cache"))
    entry = build.cached_entry("t", "k", _tiny_build(), keep=4)
    build._verified.clear()
    calls = []
    real = build._sha256
    monkeypatch.setattr(build, "_sha256", lambda p: calls.append(p) or real(p))
    for _ in range(5):
        assert build.cached_entry("t", "k", _tiny_build(), keep=4) == entry
    assert len(calls) == 1
    (entry / "out.bin").write_bytes(b"ARTIFACT")  # rewritten: new mtime, so hashed again, and found damaged
    with pytest.warns(CacheWarning, match="sha256 differs"):
        build.cached_entry("t", "k", _tiny_build(), keep=4)


# ------------------------------------------------------------------ 7: unusable cache directory
def test_cache_dir_that_is_a_file_falls_back(tmp_path, monkeypatch):
    tmp = _private_tmp(monkeypatch, tmp_path)
    bad = tmp_path / "cache-file"
    bad.write_text("not a directory")
    monkeypatch.setenv("ACCEL_CACHE_DIR", str(bad))
    with pytest.warns(CacheWarning, match=r"is a file.*ACCEL_CACHE_DIR") as rec:
        entry = build.cached_entry("t", "k", _tiny_build(), keep=4)
    assert str(bad) in str(rec[0].message)
    assert entry.is_relative_to(tmp / f"pynq-accel-cache-{os.getuid()}")
    assert (entry / "out.bin").read_bytes() == b"artifact"


def test_cache_dir_under_a_file_falls_back(tmp_path, monkeypatch):
    tmp = _private_tmp(monkeypatch, tmp_path)
    (tmp_path / "plain").write_text("x")
    monkeypatch.setenv("ACCEL_CACHE_DIR", str(tmp_path / "plain" / "cache"))
    with pytest.warns(CacheWarning, match="cannot be created"):
        path = tools.cache_dir("sim")
    assert path == tmp / f"pynq-accel-cache-{os.getuid()}" / "sim" and path.is_dir()


def test_simulator_build_survives_a_bad_cache_dir(tmp_path, monkeypatch):
    tmp = _private_tmp(monkeypatch, tmp_path)
    (tmp_path / "cache-file").write_text("x")
    monkeypatch.setenv("ACCEL_CACHE_DIR", str(tmp_path / "cache-file"))

    def compiler(spec, srcs, t, log, verbose):
        (t / sim_build.LIB_NAME).write_bytes(b"so")
        return {}

    monkeypatch.setattr(sim_build, "_build", compiler)
    with pytest.warns(CacheWarning, match="cache-file"):
        lib = sim_build.build_sim("z2_default")
    assert lib.is_relative_to(tmp) and lib.read_bytes() == b"so"


def test_read_only_cache_dir_falls_back(tmp_path, monkeypatch):
    tmp = _private_tmp(monkeypatch, tmp_path)
    ro = tmp_path / "ro"
    ro.mkdir()
    if os.geteuid() == 0:  # root writes through permission bits: make access() say what a read-only mount says
        real = os.access
        monkeypatch.setattr(os, "access", lambda p, mode: False if Path(p).is_relative_to(ro) else real(p, mode))
    else:
        ro.chmod(0o555)
    monkeypatch.setenv("ACCEL_CACHE_DIR", str(ro))
    try:
        with pytest.warns(CacheWarning, match=f"{ro} (is not writable|cannot be created)"):
            entry = build.cached_entry("t", "k", _tiny_build(), keep=4)
    finally:
        ro.chmod(0o755)
    assert entry.is_relative_to(tmp) and (entry / "out.bin").is_file()


def test_no_usable_cache_is_a_typed_error(tmp_path, monkeypatch):
    (tmp_path / "cache-file").write_text("x")
    (tmp_path / "tmp-file").write_text("x")
    monkeypatch.setenv("ACCEL_CACHE_DIR", str(tmp_path / "cache-file"))
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path / "tmp-file"))
    with pytest.raises(BackendError, match=r"no usable build cache.*cache-file.*tmp-file.*ACCEL_CACHE_DIR"):
        build.cached_entry("t", "k", _tiny_build(), keep=4)


def test_fallback_is_not_someone_elses_directory(tmp_path, monkeypatch):
    """The fallback lives in a shared temp dir: a symlink planted under its name is refused."""
    tmp = _private_tmp(monkeypatch, tmp_path)
    (tmp_path / "elsewhere").mkdir()
    (tmp / f"pynq-accel-cache-{os.getuid()}").symlink_to(tmp_path / "elsewhere")
    (tmp_path / "cache-file").write_text("x")
    monkeypatch.setenv("ACCEL_CACHE_DIR", str(tmp_path / "cache-file"))
    with pytest.raises(BackendError, match="not a directory"):
        tools.cache_dir("sim")
    assert not list((tmp_path / "elsewhere").iterdir())


# ------------------------------------------------------------------ 7: builder killed midway
KILLED_BUILDER = """
    import sys, time
    from accel.overlays import build

    def slow(tmp, log):
        (tmp / "half.o").write_bytes(b"half")
        print("BUILDING", flush=True)
        time.sleep(120)
        return {}

    build.cached_entry("t", sys.argv[1], slow, keep=4)
"""


def test_temporaries_of_killed_builders_are_removed(tmp_path, monkeypatch):
    cache = tmp_path / "cache"
    monkeypatch.setenv("ACCEL_CACHE_DIR", str(cache))
    child = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(KILLED_BUILDER), "victim"],
        env={**os.environ, "ACCEL_CACHE_DIR": str(cache)},
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout.readline().strip() == "BUILDING"
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(30)
        child.stdout.close()
    left = cache / "t" / f"victim.tmp{child.pid}"
    assert left.is_dir()  # what the kill leaves behind

    build.cached_entry("t", "other", _tiny_build(), keep=4)  # any later build cleans up
    assert not left.exists()
    entry = build.cached_entry("t", "victim", _tiny_build(), keep=4)  # and the victim's key builds fine
    assert not [p for p in (cache / "t").iterdir() if ".tmp" in p.name or ".old" in p.name]
    assert build.entry_problem(entry) is None


def test_live_builders_temporaries_are_kept_old_ones_are_not(tmp_path, monkeypatch):
    monkeypatch.setenv("ACCEL_CACHE_DIR", str(tmp_path / "cache"))
    root = tools.cache_dir("t")
    live = root / f"busy.tmp{os.getppid()}"  # a running process's build in progress
    stale = root / "ancient.tmp1"  # pid 1 is alive, but this is older than any build takes
    for d in (live, stale):
        d.mkdir()
    old = time.time() - build.STALE_TEMP_SECONDS - 60
    os.utime(stale, (old, old))
    build.cached_entry("t", "k", _tiny_build(), keep=4)
    assert live.is_dir() and not stale.exists()


# ------------------------------------------------------------------ 8: the estimate
FAKE_YOSYS_SECONDS = 0.6
CELLS = {"DSP48E1": 130, "LUT6": 1000, "RAMB36E1": 4, "FDRE": 900, "$_AND_": 3}


@pytest.fixture
def fake_yosys(monkeypatch, tmp_path):
    """Stands in for yosys synth_xilinx: writes a growing log and stat.json, counts its runs."""
    monkeypatch.setenv("ACCEL_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(estimate, "yosys_bin", lambda: "yosys-stub")
    runs: list[Path] = []
    lock = threading.Lock()

    def run(cmd, cwd, timeout):
        with lock:
            runs.append(cwd)
        with open(cwd / estimate.YOSYS_LOG, "w") as log:
            for step in ("11.9. Executing DEMINOUT pass (demote inout ports).", "11.49. Executing ABC9 pass."):
                log.write(step + "\n")
                log.flush()
                time.sleep(FAKE_YOSYS_SECONDS / 2)
        (cwd / "stat.json").write_text(json.dumps({"design": {"num_cells_by_type": CELLS}}))
        (cwd / "netlist.json").write_text("{}")  # yosys's write_json, which the timing proxy reads
        return 0, 12.3, 10.1

    monkeypatch.setattr(estimate, "_run_timed", run)
    return runs


def test_two_estimates_of_one_config_run_yosys_once(fake_yosys):
    spec = load_spec("z2_default")
    results: list = [None, None]
    errors: list = []
    start = threading.Barrier(2)

    def one(i: int) -> None:
        try:
            start.wait()
            results[i] = estimate.estimate(spec, progress=False)
        except Exception as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=one, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors, errors
    assert len(fake_yosys) == 1
    a, b = results
    assert (a.used, a.cells, a.seconds, a.cpu_seconds, a.key) == (b.used, b.cells, b.seconds, b.cpu_seconds, b.key)
    assert sorted([a.cached, b.cached]) == [False, True]
    assert a.used["DSP"] == 130 and a.used["BRAM36"] == 4 and "$_AND_" not in a.cells


def test_two_estimate_processes_run_yosys_once(tmp_path, monkeypatch):
    """The same with processes (two ``accel-run estimate`` at once): the lock is per cache entry."""
    script = """
        import json, sys, time
        from accel.overlays import estimate

        def run(cmd, cwd, timeout):
            with open(sys.argv[1], "a") as fh:
                fh.write("x")
            time.sleep(1.0)
            (cwd / "stat.json").write_text(json.dumps({"design": {"num_cells_by_type": {"DSP48E1": 7}}}))
            (cwd / "netlist.json").write_text("{}")
            return 0, 1.0, 1.0

        estimate._run_timed = run
        estimate.yosys_bin = lambda: "yosys-stub"
        print(json.dumps(estimate.estimate("z2_default", progress=False).used))
    """
    count = tmp_path / "runs"
    env = {**os.environ, "ACCEL_CACHE_DIR": str(tmp_path / "cache")}
    procs = [
        subprocess.Popen([sys.executable, "-c", textwrap.dedent(script), str(count)], env=env, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    outs = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], [err[-2000:] for _, err in outs]
    assert outs[0][0] == outs[1][0] and json.loads(outs[0][0])["DSP"] == 7
    assert count.read_text() == "x"


def test_estimate_shows_progress_while_yosys_runs(fake_yosys, monkeypatch, capsys):
    monkeypatch.setattr(estimate, "PROGRESS_SECONDS", 0.05)
    r = estimate.estimate("z2_default")
    err = capsys.readouterr().err
    lines = [ln for ln in err.splitlines() if ln.startswith("estimate z2_default: yosys synth_xilinx")]
    assert len(lines) >= 3, err  # one at the step, then at least one per interval while it runs
    assert any(", pass 11.49 ABC9 (" in ln for ln in lines), err
    assert "reading stats" in err and "estimate z2_default: done" in err
    assert not r.cached
    # a cache hit is instant and says nothing
    monkeypatch.setattr(estimate, "PROGRESS_SECONDS", 10.0)
    again = estimate.estimate("z2_default")
    assert again.cached and again.used == r.used and capsys.readouterr().err == ""


def test_damaged_estimate_is_synthesised_again(fake_yosys):
    spec = load_spec("z2_default")
    first = estimate.estimate(spec, progress=False)
    result = Path(os.environ["ACCEL_CACHE_DIR"]) / "yosys" / first.key / estimate.RESULT_FILE
    result.write_text(result.read_text().replace('"DSP48E1": 130', '"DSP48E1": 131'))  # same size
    build._verified.clear()
    with pytest.warns(CacheWarning, match="result.json"):
        again = estimate.estimate(spec, progress=False)
    assert again.used["DSP"] == 130 and not again.cached and len(fake_yosys) == 2


def test_no_cache_reruns_and_keeps_the_entry_valid(fake_yosys):
    estimate.estimate("z2_default", progress=False)
    r = estimate.estimate("z2_default", use_cache=False, progress=False)
    assert not r.cached and len(fake_yosys) == 2
    entry = Path(os.environ["ACCEL_CACHE_DIR"]) / "yosys" / r.key
    assert build.entry_problem(entry) is None and (entry / estimate.YOSYS_LOG).is_file()


def test_failed_yosys_leaves_no_entry_and_names_the_log(monkeypatch, tmp_path):
    monkeypatch.setenv("ACCEL_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(estimate, "yosys_bin", lambda: "yosys-stub")

    def fail(cmd, cwd, timeout):
        (cwd / "yosys.out").write_text("ERROR: synth_xilinx blew up\n")
        return 1, 0.1, 0.1

    monkeypatch.setattr(estimate, "_run_timed", fail)
    with pytest.raises(BackendError, match="synth_xilinx blew up") as info:
        estimate.estimate("z2_default", progress=False)
    log = Path(str(info.value).split("(log: ", 1)[1].split(")", 1)[0])
    assert log.is_file() and "blew up" in log.read_text()
    root = tmp_path / "cache" / "yosys"
    assert not [p for p in root.iterdir() if p.is_dir()]
