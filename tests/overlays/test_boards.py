"""One board table (overlays/boards.toml) drives the spec's part, the .hwh, the Vivado parameters,
the resource estimate and the host-time projection; a new board is one entry."""

from __future__ import annotations

import gzip
import json
import xml.etree.ElementTree as ET

import pytest

from accel.contract import hostcost
from accel.errors import SpecError
from accel.overlays import boards, estimate, hwh
from accel.overlays.spec import SPECS_DIR, available_specs, load_spec
from accel.overlays.vivado_params import render_params, tcl_params

NEW = "zcu104"
NEW_PART = "xczu7ev-ffvc1156-2-e"
NEW_INSTANCE = "zynq_ultra_ps_e_7"


def test_every_spec_names_a_board_of_the_table():
    for name in available_specs():
        spec = load_spec(name)
        board = boards.get_board(spec.board)
        assert spec.part == board.part
        assert set(board.capacity) == set(boards.RESOURCES)
        assert board.ps_vlnv.startswith(board.ps_vlnv_prefix + ":")


def test_unknown_board_is_named():
    with pytest.raises(SpecError, match=r"no board 'zcu999'.*known boards: kv260, pynq-z2"):
        boards.get_board("zcu999")


@pytest.fixture
def third_board(monkeypatch, tmp_path):
    """The table plus one entry (a copy of the KV260's with another part, PS instance and DSP
    count), and a configuration on it: nothing else is added anywhere."""
    text = boards.BOARDS_FILE.read_text()
    entry = text[text.index('["kv260"]'):].replace('["kv260"', f'["{NEW}"')
    for old, new in (('part = "xck26-sfvc784-2LV-c"', f'part = "{NEW_PART}"'), ("DSP = 1_248", "DSP = 1_728"),
                     ('instance = "zynq_ultra_ps_e_0"', f'instance = "{NEW_INSTANCE}"'),
                     ('host_profiles = { native = "a53-native", pynq = "a53-pynq" }',
                      'host_profiles = { native = "a53-native", pynq = "a9-pynq" }')):
        assert old in entry
        entry = entry.replace(old, new)
    table = tmp_path / "boards.toml"
    table.write_text(text + "\n" + entry)
    monkeypatch.setattr(boards, "load_boards", lambda: boards.read_board_table(table))
    config = tmp_path / "zcu_test.toml"
    config.write_text((SPECS_DIR / "kv260.toml").read_text().replace('name = "kv260"', 'name = "zcu_test"')
                      .replace('board = "kv260"', f'board = "{NEW}"'))
    return load_spec(config)


def test_a_third_board_is_one_entry_for_the_spec(third_board):
    assert third_board.board == NEW and third_board.part == NEW_PART
    assert NEW in boards.BOARDS


def test_board_table_drives_the_hwh(third_board):
    root = ET.fromstring(hwh.generate_hwh(third_board).split("\n", 2)[2])
    ps = next(m for m in root.iter("MODULE") if m.get("INSTANCE") == NEW_INSTANCE)
    assert ps.get("VLNV") == boards.get_board(NEW).ps_vlnv
    assert root.find("SYSTEMINFO").get("DEVICE") == "xczu7ev"


def test_board_table_drives_the_vivado_params(third_board, tmp_path):
    params = tcl_params(third_board, tmp_path)
    assert (params["PART"], params["PS_INSTANCE"]) == (NEW_PART, NEW_INSTANCE)
    assert f"set PS_INSTANCE {{{NEW_INSTANCE}}}" in render_params(third_board, params)


def test_board_table_drives_the_estimate(third_board, monkeypatch, tmp_path):
    monkeypatch.setattr(estimate, "cache_key", lambda spec, family: f"test-{family}")
    monkeypatch.setattr(estimate, "cache_dir", lambda *parts: tmp_path.joinpath(*parts))
    (tmp_path / "yosys" / "test-xcup").mkdir(parents=True)
    doc = {"cells": {"DSP48E2": 512}, "seconds": 1.0, "family": "xcup"}
    (tmp_path / "yosys" / "test-xcup" / "result.json").write_text(json.dumps(doc))
    (tmp_path / "yosys" / "test-xcup" / estimate.NETLIST_FILE).write_bytes(gzip.compress(b"{}"))
    est = estimate.estimate(third_board)
    assert est.cached and est.capacity["DSP"] == 1_728 and est.part == NEW_PART


def test_board_table_drives_the_host_projection(third_board):
    native, py = hostcost.profiles_for(third_board.board)
    assert (native.name, py.name) == ("a53-native", "a9-pynq")
    assert [p.name for p in hostcost.profiles_for("pynq-z2")] == ["a9-native", "a9-pynq"]
    assert [p.name for p in hostcost.profiles_for("kv260")] == ["a53-native", "a53-pynq"]
    with pytest.raises(SpecError, match="no board"):
        hostcost.profiles_for("zcu999")


def _ps_clock(spec) -> tuple[int, int, float]:
    """PL clock 0's divisors and frequency as the generated .hwh gives them to pynq."""
    board = boards.get_board(spec.board)
    root = ET.fromstring(hwh.generate_hwh(spec).split("\n", 2)[2])
    ps = next(m for m in root.iter("MODULE") if m.get("INSTANCE") == board.ps_instance)
    p = {e.get("NAME"): e.get("VALUE") for e in ps.find("PARAMETERS")}
    if board.ps_kind == "ps7":
        keys = ("PCW_FCLK0_PERIPHERAL_DIVISOR0", "PCW_FCLK0_PERIPHERAL_DIVISOR1", "PCW_ACT_FPGA0_PERIPHERAL_FREQMHZ")
    else:
        keys = ("PSU__CRL_APB__PL0_REF_CTRL__DIVISOR0", "PSU__CRL_APB__PL0_REF_CTRL__DIVISOR1",
                "PSU__CRL_APB__PL0_REF_CTRL__ACT_FREQMHZ")
    return int(p[keys[0]]), int(p[keys[1]]), float(p[keys[2]])


@pytest.mark.parametrize("name", available_specs())
def test_hwh_divisors_make_the_fabric_clock_from_the_presets_pll(name):
    """pynq writes the .hwh's PL clock divisors into the PS when the overlay loads: from the board
    preset's PLL they must give exactly the spec's fabric clock."""
    spec = load_spec(name)
    board = boards.get_board(spec.board)
    d0, d1, act = _ps_clock(spec)
    assert board.pll_mhz / (d0 * d1) == spec.fabric_mhz == act
    assert 1 <= d0 < 64 and 1 <= d1 < 64


def test_pynq_z2_fabric_clock_is_the_1000_mhz_io_pll_over_10():
    """The PYNQ-Z2 preset's IO PLL runs at 1000 MHz (a 1600 MHz assumption gave divisors 16 x 1:
    62.5 MHz on the board)."""
    assert boards.get_board("pynq-z2").pll_mhz == 1000.0
    assert _ps_clock(load_spec("z2_default")) == (10, 1, 100.0)


def test_a_clock_the_pll_cannot_make_is_refused():
    board = boards.get_board("pynq-z2")
    assert hwh.fabric_clock_divisors(board, 125.0) == (8, 1, 125.0)
    with pytest.raises(SpecError, match=r"not an integer division of board pynq-z2's 1000 MHz PLL"):
        hwh.fabric_clock_divisors(board, 130.0)
