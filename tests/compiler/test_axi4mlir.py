"""AXI4MLIR attribute parsing: opcode maps, flows, stationarity and tile constraints."""

from __future__ import annotations

import pytest

from accel.compiler import axi4mlir
from accel.overlays.spec import load_spec

Z2 = load_spec("z2_default")


# --------------------------------------------------------------------------- AXI4MLIR
def test_opcode_map_grammar() -> None:
    m = axi4mlir.parse_opcode_map(
        'opcode_map<s0=[op_send_literal(0x22), op_send(0)], "s 1"=[op_send_dim(1), op_send(1)], r=[op_recv(2)]>'
    )
    assert m == {"s0": [("op_send_literal", "0x22"), ("op_send", "0")],
                 "s 1": [("op_send_dim", "1"), ("op_send", "1")], "r": [("op_recv", "2")]}
    bad_maps = ("opcode_map<>", "map<s=[op_send(0)]>", "opcode_map<s=[op_send()]>",
                "opcode_map<s=[op_send_literal(x)]>", "opcode_map<s=[op_send(0)], s=[op_recv(2)]>")
    for bad in bad_maps:
        with pytest.raises(ValueError):
            axi4mlir.parse_opcode_map(bad)


@pytest.mark.parametrize(
    "opmap, flow, name",
    [
        ("opcode_map<s=[op_send(0), op_send(1)], r=[op_recv(2)]>", "(s r)", "Ns"),
        ("opcode_map<s0=[op_send(0)], s1c=[op_send(1)], r=[op_recv(2)]>", "(s0 (s1c r))", "As"),
        ("opcode_map<s=[op_send(0), op_send(1)], r=[op_recv(2)]>", "((s) r)", "Cs"),
        ("opcode_map<s1=[op_send(1)], s0c=[op_send(0)], r=[op_recv(2)]>", "(s1 (s0c r))", "Bs"),
        ("opcode_map<sA=[op_send(0)], sB=[op_send(1)], sC=[op_send(2)], rC=[op_recv(2)]>", "(sA (sB sC rC))", "As"),
    ],
)
def test_flow_stationarity(opmap: str, flow: str, name: str) -> None:
    got, _notes = axi4mlir.flow_stationarity(axi4mlir.parse_opcode_map(opmap), axi4mlir.parse_flow(flow))
    assert got == name


def test_flow_errors() -> None:
    opmap = axi4mlir.parse_opcode_map("opcode_map<s=[op_send(0), op_send(1)], r=[op_recv(2)]>")
    for flow, msg in (("(s x)", "does not define"), ("(s r", "unbalanced"), ("s r", "outside parentheses")):
        with pytest.raises(ValueError, match=msg):
            axi4mlir.flow_stationarity(opmap, axi4mlir.parse_flow(flow))


def test_constraints() -> None:
    attrs = {"accel_accel_tile_size": 4, "accel_loop_permutation": [1, 0, 2]}
    c = axi4mlir.constraints_from_attrs(attrs, Z2, 20, 20, 20)
    assert (c.tile_m, c.tile_n, c.tile_k, c.order) == (4, 8, 8, "nm") and c.remarks
    c = axi4mlir.constraints_from_attrs(
        {"accel_opcode_map_str": "opcode_map<s0=[op_send(0)], s1=[op_send(1)], r=[op_recv(2)]>",
         "accel_opcode_flow_str": "(s0 (s1 r))"}, Z2, 16, 16, 5000)
    assert c.stationarity == "C" and any("KMAX" in r for r in c.remarks)  # As impossible with K > KMAX
