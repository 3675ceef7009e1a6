"""The board backend (``accel.runtime.backends.board``), run off-board against a stand-in for PYNQ's
embedded device over the Verilator model (``board_standin.BoardStandIn``): memory-mapped register
windows, the ``.bit`` + ``.hwh`` beside it, the stock ``Overlay`` download path with only the FPGA
manager replaced. Every line of the board backend runs here, for each board: the PYNQ-Z2 where the
installed pynq still supports Zynq-7000 (3.x; PYNQ 4.0 dropped the Z1/Z2 and sets PL clocks from a
Zynq UltraScale+ parameter only), the KV260 everywhere."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pynq
import pytest
from board_standin import BoardStandIn

from accel.errors import BackendError, DeviceTimeoutError, DMAError
from accel.overlays.hwh import fabric_clock_divisors, hwh_path
from accel.overlays.spec import load_spec
from accel.runtime import Accelerator
from accel.runtime.backends import board

PYNQ_MAJOR = int(pynq.__version__.split(".")[0])
SPECS = [
    pytest.param("z2_default", marks=pytest.mark.skipif(
        PYNQ_MAJOR >= 4, reason="pynq 4.0 dropped Zynq-7000 boards: the PYNQ-Z2 runs pynq 3.1")),
    "kv260",
]


@pytest.fixture(scope="module", params=SPECS)
def spec(request):
    return load_spec(request.param)


@pytest.fixture(scope="module")
def board_sim(spec):
    """A model of its own: the stand-in's CMA must not share the DDR with the session's SimDevice."""
    from accel.overlays.sim import SimModel

    sim = SimModel(spec)
    yield sim
    sim.close()


@pytest.fixture(scope="module")
def overlay_dir(spec, tmp_path_factory):
    """``<spec>.bit`` with the checked-in ``<spec>.hwh`` beside it, as the Vivado flow leaves them."""
    folder = tmp_path_factory.mktemp("overlay")
    (folder / f"{spec.name}.bit").write_bytes(b"stand-in bitstream: the FPGA manager of the stand-in only logs it\n")
    (folder / f"{spec.name}.hwh").write_text(hwh_path(spec).read_text(encoding="utf-8"), encoding="utf-8")
    (folder / "fpga0").mkdir()
    (folder / "fpga0" / "firmware").write_text("")
    return folder


@pytest.fixture(scope="module")
def standin(spec, board_sim, overlay_dir):
    return BoardStandIn(board_sim, spec, overlay_dir / "fpga0" / "firmware")


@pytest.fixture
def on_board(standin, overlay_dir, monkeypatch):
    """This test runs "on the board": the stand-in is the active PYNQ device, its FPGA manager exists,
    and pynq's clock code sees the board's CPU (pynq 3.1/4.0 ask the device, 3.0.1 the host)."""
    import pynq.ps

    monkeypatch.setattr(board, "FPGA_MANAGER", standin.fpga_manager)
    monkeypatch.setattr(pynq.ps, "CPU_ARCH", standin.arch)
    monkeypatch.delattr(pynq.ps.Clocks, "_real_instance", raising=False)  # bound to whichever device came first
    standin.activate()
    yield standin
    standin.deactivate()
    if hasattr(pynq.ps.Clocks, "_real_instance"):
        del pynq.ps.Clocks._real_instance
    pynq.ps.Clocks.device = None


@pytest.fixture
def acc(on_board, spec, overlay_dir):
    with Accelerator(backend="board", spec=spec, bitfile=overlay_dir / f"{spec.name}.bit", timeout_s=0.5) as a:
        yield a


def test_overlay_loads_through_the_stock_download_path(acc, on_board, spec, overlay_dir):
    import pynq.ps

    bit = overlay_dir / f"{spec.name}.bit"
    assert acc.backend == "board" and acc.device is on_board
    assert on_board.fpga_manager.read_text() == str(bit)  # what the FPGA manager was given
    assert acc.info()["bitfile"] == str(bit)
    # pynq programmed PL clock 0 from the .hwh (pynq 3.x: its divisors; 4.0: its achieved frequency)
    d0, d1, _ = fabric_clock_divisors(on_board.board, spec.fabric_mhz)
    got = on_board.pl_clock0()
    assert got[0] * got[1] == d0 * d1
    assert pynq.ps.Clocks.fclk0_mhz == pytest.approx(spec.fabric_mhz, rel=1e-4)  # the PLL model: 50 / 33.333 MHz refs
    if spec.board == "pynq-z2":  # 1000 MHz IO PLL / (10 x 1), exactly
        assert (got, pynq.ps.Clocks.fclk0_mhz) == ((10, 1), 100.0)
    # registers go through /dev/mem-style mappings, counted by the backend's proxies
    assert on_board.has_capability("MEMORY_MAPPED") and not on_board.has_capability("REGISTER_RW")
    assert isinstance(acc.accel.mmio, board.CountingMMIO) and acc.accel.mmio.base_addr == spec.accel_base
    assert acc.dma.sendchannel._mmio is acc.dma.mmio is acc.dma.recvchannel._mmio
    # the .hwh lists the registers the IP package declares, as a board's would
    assert acc.accel.register_map.CTRL.address == spec.reg("CTRL").offset


@pytest.mark.parametrize(("m", "k", "n"), [(16, 8, 8), (37, 45, 29), (100, 120, 90)])
def test_matmuls_match_numpy_and_every_access_is_counted(acc, on_board, m, k, n):
    rng = np.random.default_rng(m * 10_000 + k * 100 + n)
    a = acc.allocate((m, k), np.int8)
    b = acc.allocate((k, n), np.int8)
    a[:] = rng.integers(-128, 128, a.shape)
    b[:] = rng.integers(-128, 128, b.shape)
    before = on_board.window_reads + on_board.window_writes
    c = acc.matmul(a, b)
    accesses = on_board.window_reads + on_board.window_writes - before
    np.testing.assert_array_equal(c, a.astype(np.int32) @ b.astype(np.int32))
    assert acc.last.backend == "board" and acc.last.cycles > 0 and acc.last.sim_cycles is None
    assert acc.last.mmio_ops == accesses > 0  # the counting proxies see every register access


def _matmul_ok(acc) -> None:
    a = acc.allocate((20, 24), np.int8)
    b = acc.allocate((24, 16), np.int8)
    a[:] = 3
    b[:] = -2
    np.testing.assert_array_equal(acc.matmul(a, b), np.full((20, 16), 3 * -2 * 24, np.int32))


def test_dma_fault_then_recovery(acc, board_sim):
    _matmul_ok(acc)
    board_sim.inject("dma_slverr", "mm2s")
    with pytest.raises(DMAError, match="DMASlvErr"):
        _matmul_ok(acc)
    _matmul_ok(acc)  # the runtime reset the DMA and the accelerator


def test_hang_times_out_on_the_wall_clock_then_recovers(acc, board_sim):
    board_sim.inject("accel_hang")
    with pytest.raises(DeviceTimeoutError, match=r"did not complete within 0\.5 s"):
        _matmul_ok(acc)
    _matmul_ok(acc)


def test_auto_picks_the_board_when_present(on_board, spec, overlay_dir):
    bit = overlay_dir / f"{spec.name}.bit"
    assert board.BoardBackend.available(spec, bit)
    with Accelerator(backend="auto", spec=spec, bitfile=bit) as acc:
        assert acc.backend == "board"
        _matmul_ok(acc)


def test_default_bitfile_is_in_the_package(spec):
    import accel.overlays

    assert board.default_bitfile(spec) == Path(accel.overlays.__file__).resolve().parent / f"{spec.name}.bit"


def test_no_fpga_manager_means_no_board(on_board, spec, overlay_dir, monkeypatch, tmp_path):
    monkeypatch.setattr(board, "FPGA_MANAGER", tmp_path / "no" / "fpga0" / "firmware")
    bit = overlay_dir / f"{spec.name}.bit"
    assert not board.BoardBackend.available(spec, bit)
    with pytest.raises(BackendError, match="no PYNQ board here"):
        Accelerator(backend="board", spec=spec, bitfile=bit)


def test_missing_overlay_files_are_named(on_board, spec, tmp_path):
    bit = tmp_path / f"{spec.name}.bit"
    bit.write_bytes(b"bitstream without its .hwh\n")
    assert not board.BoardBackend.available(spec, bit)
    with pytest.raises(BackendError, match=rf"overlay files missing: need .*{spec.name}\.hwh"):
        Accelerator(backend="board", spec=spec, bitfile=bit)


def test_driver_needs_no_register_map(on_board, spec, tmp_path):
    """The runtime reads every register offset from the spec: with the accelerator's registers
    stripped from the .hwh (an IP packaged without ipx registers) it runs the same."""
    import xml.etree.ElementTree as ET

    text = hwh_path(spec).read_text(encoding="utf-8")
    header, body = text.split("\n", 2)[:2], text.split("\n", 2)[2]
    root = ET.fromstring(body)
    acc_module = next(m for m in root.iter("MODULE") if m.get("INSTANCE") == spec.ip_name)
    for block in acc_module.iter("ADDRESSBLOCK"):
        block.remove(block.find("REGISTERS"))
    (tmp_path / f"{spec.name}.hwh").write_text("\n".join(header) + "\n" + ET.tostring(root, encoding="unicode"))
    bit = tmp_path / f"{spec.name}.bit"
    bit.write_bytes(b"stand-in bitstream\n")
    with Accelerator(backend="board", spec=spec, bitfile=bit, timeout_s=0.5) as acc:
        assert not acc.overlay.ip_dict[spec.ip_name]["registers"]
        _matmul_ok(acc)
