"""README.md and docs/BENCHMARKS.md, rendered from templates and the stamped result files.

A measured number in a document is only right for the tree it was measured on, so the documents
that quote numbers are not edited by hand: each is rendered whole from a template in
``docs/templates/`` whose placeholders (``{costmodel.max_error_pct}``: a dotted lower-case name in
braces) are filled from the values :mod:`accel.bench.docs_values` derives from the result files in
``docs/results/``. ``accel-run docs --write`` renders; ``--check`` (and a test) fails when a
document differs from its rendering or a result file no longer matches the specs, RTL or harness.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path

from accel.errors import InputError

from .provenance import REPO, read_result, stamp_problems

TEMPLATES_DIR = Path("docs") / "templates"
RESULTS_DIR = Path("docs") / "results"
# rendered document -> its template (both relative to the checkout)
DOCUMENTS: dict[str, str] = {
    "README.md": "README.md.in",
    "docs/BENCHMARKS.md": "BENCHMARKS.md.in",
}
# the result files the documents quote (`make results` writes them; each stamp names its command)
RESULT_FILES: tuple[str, ...] = ("bench.json", "costmodel.json", "sim_speed.json", "estimate.json", "timing.json",
                                  "models.json")
PLACEHOLDER = re.compile(r"\{([a-z][a-z0-9_]*(?:\.[A-Za-z0-9_]+)+)\}")


def render_text(template: str, values: Mapping[str, str], name: str = "<template>") -> str:
    """``template`` with every placeholder replaced by its value; an unknown name is an error."""
    unknown = sorted({m.group(1) for m in PLACEHOLDER.finditer(template)} - set(values))
    if unknown:
        raise InputError(f"{name}: unknown placeholder(s) {', '.join('{' + u + '}' for u in unknown)}; "
                         "the names are those of accel.bench.docs_values.values()")
    return PLACEHOLDER.sub(lambda m: values[m.group(1)], template)


def load_results(root: Path = REPO) -> dict[str, dict]:
    """Every result file of :data:`RESULT_FILES`, by file name (stamp included)."""
    return {name: read_result(root / RESULTS_DIR / name) for name in RESULT_FILES}


def render_all(root: Path = REPO) -> dict[Path, str]:
    """Each document's rendered text, by path."""
    from .docs_values import values

    vals = values(load_results(root))
    out = {}
    for doc, template in DOCUMENTS.items():
        path = root / TEMPLATES_DIR / template
        out[root / doc] = render_text(path.read_text(), vals, str(path))
    return out


def write_docs(root: Path = REPO) -> list[Path]:
    """Render and write every document; return their paths."""
    written = []
    for path, text in render_all(root).items():
        path.write_text(text)
        written.append(path)
    return written


def check_docs(root: Path = REPO) -> list[str]:
    """Problems, one line each: stale result files (with the command that refreshes them) and
    documents that differ from their rendering. Empty when everything is current."""
    problems = []
    for name in RESULT_FILES:
        path = root / RESULTS_DIR / name
        try:
            problems += stamp_problems(read_result(path), path.relative_to(root))
        except InputError as exc:
            problems.append(str(exc))
    if problems:
        return problems
    for path, text in render_all(root).items():
        if not path.is_file() or path.read_text() != text:
            problems.append(f"{path.relative_to(root)} differs from its template + results: run `accel-run docs "
                            "--write` (edit docs/templates/, never the rendered file)")
    return problems
