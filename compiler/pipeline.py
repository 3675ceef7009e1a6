"""Pipeline strings mixing accel passes and upstream MLIR passes, run like ``mlir-opt``.

``builtin.module(accel-match,accel-schedule{spec=kv260 tile-k=64},canonicalize,func.func(cse))``:
top-level elements naming a registered accel pass become Python passes
(``PassManager.add(callable, name)``); everything else is handed to MLIR's own pipeline
parser (``PassManager.add(text)``), so upstream passes run in the same pass manager. A bare
comma-separated list is taken as ``builtin.module(...)``.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from accel.errors import CompileError

from . import irutil
from .irutil import ir, passmanager
from .passes import REGISTRY, Pass

DEFAULT_PIPELINE = "builtin.module(accel-match,accel-schedule,accel-lower,accel-emit)"


@dataclass
class Element:
    text: str
    name: str
    options: dict[str, str] = field(default_factory=dict)
    nested: str | None = None

    @property
    def is_accel(self) -> bool:
        return self.name in REGISTRY


def _split_top(text: str) -> list[str]:
    """Split at commas not nested in (), {} or quotes."""
    out, depth, cur, quote = [], 0, [], None
    for ch in text:
        if quote:
            cur.append(ch)
            if ch == quote:
                quote = None
            continue
        if ch in "\"'":
            quote = ch
        elif ch in "({[":
            depth += 1
        elif ch in ")}]":
            depth -= 1
            if depth < 0:
                raise CompileError(f"pass pipeline {text!r}: unbalanced brackets")
        if ch == "," and depth == 0:
            out.append("".join(cur).strip())
            cur = []
        else:
            cur.append(ch)
    if depth != 0 or quote:
        raise CompileError(f"pass pipeline {text!r}: unbalanced brackets or quotes")
    tail = "".join(cur).strip()
    if tail:
        out.append(tail)
    return [e for e in out if e]


def _parse_options(name: str, text: str) -> dict[str, str]:
    opts: dict[str, str] = {}
    for tok in re.findall(r'[^\s=]+\s*=\s*(?:"[^"]*"|\'[^\']*\'|\{[^}]*\}|[^\s]+)|[^\s]+', text):
        if "=" not in tok:
            opts[tok.strip()] = "true"
            continue
        key, value = tok.split("=", 1)
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
            value = value[1:-1]
        opts[key.strip()] = value
    return opts


def parse_pipeline(text: str) -> list[Element]:
    """Top-level elements of a module pipeline."""
    src = text.strip()
    m = re.fullmatch(r"builtin\.module\s*\((.*)\)", src, re.S)
    body = m.group(1) if m else src
    elements = []
    for item in _split_top(body):
        em = re.fullmatch(r"([A-Za-z0-9_.\-]+)\s*(?:\{(.*)\}|\((.*)\))?", item, re.S)
        if not em:
            raise CompileError(f"cannot parse pass pipeline element {item!r}")
        name = em.group(1)
        if em.group(3) is not None:
            inner = parse_nested_accel(em.group(3))
            if inner:
                raise CompileError(f"{inner} runs on builtin.module: put it at the top level of the pipeline, "
                                   f"not inside {name}(...)")
        elements.append(Element(item, name, _parse_options(name, em.group(2) or ""), em.group(3)))
    return elements


def parse_nested_accel(text: str) -> str | None:
    for item in _split_top(text):
        name = re.match(r"[A-Za-z0-9_.\-]+", item)
        if name and name.group(0) in REGISTRY:
            return name.group(0)
    return None


@dataclass
class PipelineResult:
    passes: list[Pass]
    remarks: list[str]

    @property
    def emitted(self) -> Any:
        for p in reversed(self.passes):
            result = getattr(p, "result", None)
            if result is not None:
                return result
        return None


def build_passes(elements: list[Element], defaults: dict[str, Any] | None = None) -> list[Pass | str]:
    """Pass objects for accel elements (pass-level ``defaults`` such as spec applied where the
    pass has the option and the pipeline does not set it), upstream text for the rest."""
    out: list[Pass | str] = []
    for el in elements:
        if not el.is_accel:
            out.append(el.text)
            continue
        cls = REGISTRY[el.name]
        names = {o.name for o in cls.options} | {o.name.replace("-", "_") for o in cls.options}
        opts: dict[str, Any] = {k: v for k, v in (defaults or {}).items() if k in names and v is not None}
        opts.update(el.options)
        out.append(cls(**opts))
    return out


def run_pipeline(
    module: ir.Module,
    pipeline: str = DEFAULT_PIPELINE,
    *,
    defaults: dict[str, Any] | None = None,
    print_ir_after_all: bool = False,
    text_name: str = irutil.TEXT_INPUT_NAME,
    source: str = "",
    remark_sink: Callable[[str], None] | None = None,
) -> PipelineResult:
    """Run a pipeline on ``module`` (in its context); returns the pass objects and remarks."""
    elements = parse_pipeline(pipeline)
    items = build_passes(elements, defaults)
    ctx = module.context
    passes: list[Pass] = []
    with ctx:
        pm = passmanager.PassManager("builtin.module")
        for item in items:
            if isinstance(item, Pass):
                item.text_name = text_name
                item.remark_sink = remark_sink
                if hasattr(item, "source"):
                    item.source = source
                passes.append(item)
                pm.add(item, item.name, item.name, item.summary)
            else:
                try:
                    pm.add(item)
                except ValueError as exc:
                    detail = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
                    detail = detail.split("error: ", 1)[-1]
                    raise CompileError(f"unknown or malformed pass {item!r}: {detail} (accel passes: "
                                       f"{', '.join(sorted(REGISTRY))})") from None
        if print_ir_after_all:
            ctx.enable_multithreading(False)  # MLIR requires it for IR printing
            pm.enable_ir_printing(print_after_all=True, print_module_scope=True)
        try:
            pm.run(module.operation)
        except ir.MLIRError as exc:
            diags = list(getattr(exc, "error_diagnostics", []) or [])
            if diags:
                d = diags[0]
                raise CompileError(f"pass failed: {d.message}",
                                   location=irutil.format_location(d.location, text_name)) from None
            raise CompileError(f"pass pipeline failed: {exc}") from None
        finally:
            if print_ir_after_all:
                sys.stderr.flush()
    remarks = [r for p in passes for r in p.remarks]
    return PipelineResult(passes, remarks)
