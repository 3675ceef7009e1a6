"""The documents that quote measured numbers are renderings of their templates and the stamped
result files, and those result files describe the tree as it is (specs, RTL, harness)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from accel.bench import docs as D
from accel.bench import provenance as P
from accel.errors import InputError

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("name", D.RESULT_FILES)
def test_result_file_stamp_is_current(name: str) -> None:
    path = ROOT / D.RESULTS_DIR / name
    doc = P.read_result(path)
    stamp = doc["stamp"]
    assert set(P.STAMP_KEYS) <= set(stamp), f"{path}: stamp lacks {set(P.STAMP_KEYS) - set(stamp)}"
    assert stamp["kind"] == Path(name).stem
    assert set(stamp["tools"]) >= {"python", *P.TOOL_DISTS}
    problems = P.stamp_problems(doc, path.relative_to(ROOT))
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("doc", sorted(D.DOCUMENTS))
def test_rendered_docs_are_current(doc: str) -> None:
    rendered = D.render_all(ROOT)[ROOT / doc]
    assert (ROOT / doc).read_text() == rendered, (
        f"{doc} differs from docs/templates/{D.DOCUMENTS[doc]} + docs/results/*.json: run `accel-run docs --write` "
        "(edit the template, never the rendered file)"
    )


def test_placeholders() -> None:
    vals = {"costmodel.max_error_pct": "1.13", "bench.z2_default.1x1x1.baseline.cycles": "604"}
    text = "within {costmodel.max_error_pct}% ({bench.z2_default.1x1x1.baseline.cycles}); {not: a placeholder} {x}"
    assert D.render_text(text, vals) == "within 1.13% (604); {not: a placeholder} {x}"
    with pytest.raises(InputError, match=r"unknown placeholder\(s\) \{costmodel.nope\}"):
        D.render_text("{costmodel.nope}", vals, "t.md.in")


def test_stamp_catches_a_stale_result(tmp_path: Path) -> None:
    stamp = P.make_stamp("sim_speed", ["z2_default"], "accel-run sim-speed --json x.json")
    path = P.write_result(tmp_path / "x.json", {"results": []}, stamp)
    doc = json.loads(path.read_text())
    assert doc["stamp"]["specs"] == {"z2_default": P.load_spec("z2_default").hash}
    assert doc["stamp"]["git"].keys() == {"commit", "dirty"}
    assert P.stamp_problems(doc, path) == []

    doc["stamp"]["rtl_hash"] = "0" * 64
    (problem,) = P.stamp_problems(doc, path)
    assert "RTL or the Verilator harness changed" in problem
    assert f"re-run `accel-run sim-speed --json x.json` to refresh {path}" in problem

    doc["stamp"]["rtl_hash"] = P.rtl_harness_hash()
    doc["stamp"]["specs"]["z2_default"] = "f" * 64
    (problem,) = P.stamp_problems(doc, path)
    assert "spec z2_default changed" in problem and "re-run" in problem

    del doc["stamp"]["date"]
    assert P.stamp_problems(doc, path) == [f"{path}: stamp lacks date"]


def test_missing_result_file_names_the_fix(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="make results"):
        P.read_result(tmp_path / "nope.json")
    (tmp_path / "old.json").write_text('{"rows": []}')
    with pytest.raises(InputError, match="no provenance stamp"):
        P.read_result(tmp_path / "old.json")
