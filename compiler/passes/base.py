"""Pass base class and registry: every accel pass is a small class with a ``name`` (its
pipeline argument), typed ``options`` and ``run(module)``, registered so that a pipeline
string (``builtin.module(accel-match,accel-schedule{spec=kv260},canonicalize)``) can name it
next to upstream MLIR passes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

from accel.errors import CompileError

from .. import irutil


@dataclass(frozen=True)
class Option:
    """One pass option: ``name=value`` in a pipeline string, ``name=value`` keyword in Python."""

    name: str
    type: type
    default: Any
    help: str
    choices: tuple[Any, ...] | None = None


class Pass:
    """Base of the accel passes. Subclasses set ``name``, ``summary``, ``options`` and ``run``."""

    name: ClassVar[str] = ""
    summary: ClassVar[str] = ""
    options: ClassVar[tuple[Option, ...]] = ()

    def __init__(self, **options: Any) -> None:
        known = {o.name.replace("-", "_"): o for o in self.options}
        self.opts: dict[str, Any] = {k: o.default for k, o in known.items()}
        for key, value in options.items():
            k = key.replace("-", "_")
            if k not in known:
                names = ", ".join(o.name for o in self.options) or "none"
                raise CompileError(f"pass {self.name} has no option {key!r} (options: {names})")
            self.opts[k] = _convert(self.name, known[k], value)
        self.remarks: list[str] = []
        self.text_name = irutil.TEXT_INPUT_NAME  # how text input is named in locations
        self.remark_sink: Callable[[str], None] | None = None

    # -------------------------------------------------------------- helpers
    def opt(self, name: str) -> Any:
        return self.opts[name.replace("-", "_")]

    def loc(self, op: Any) -> str:
        return irutil.op_location(op, self.text_name)

    def error(self, message: str, op: Any) -> CompileError:
        o = op.operation if hasattr(op, "operation") else op
        return CompileError(message, op=o.name, location=self.loc(o))

    def remark(self, message: str, op: Any | None = None, *, attach: bool = True) -> None:
        text = f"{self.loc(op)}: remark: {message}" if op is not None else f"remark: {message}"
        self.remarks.append(text)
        if self.remark_sink is not None:
            self.remark_sink(text)
        if op is not None and attach:  # remarks travel with the IR to the emitted module
            o = op.operation if hasattr(op, "operation") else op
            prev = irutil.from_attr(o.attributes["accel.remarks"]) if "accel.remarks" in o.attributes else []
            irutil.set_attr(o, "accel.remarks", [*prev, message])

    def run(self, module: Any) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def __call__(self, op: Any, pass_: Any = None) -> None:
        """The callable registered with ``PassManager.add``."""
        self.run(op)

    def describe(self) -> str:
        opts = " ".join(f"{o.name}={self.opts[o.name.replace('-', '_')]}" for o in self.options)
        return f"{self.name}{{{opts}}}" if opts else self.name


def _convert(pass_name: str, o: Option, value: Any) -> Any:
    try:
        if o.type is bool:
            if isinstance(value, str):
                low = value.strip().lower()
                if low not in ("1", "0", "true", "false", "yes", "no", "on", "off"):
                    raise ValueError(value)
                value = low in ("1", "true", "yes", "on")
            else:
                value = bool(value)
        elif value is None or (isinstance(value, str) and value == "" and o.default is None):
            value = None
        else:
            value = o.type(value)
    except (TypeError, ValueError):
        raise CompileError(f"pass {pass_name}: option {o.name}={value!r} must be {o.type.__name__}") from None
    if o.choices is not None and value is not None and value not in o.choices:
        choices = ", ".join(map(str, o.choices))
        raise CompileError(f"pass {pass_name}: option {o.name}={value!r} must be one of {choices}")
    return value


REGISTRY: dict[str, type[Pass]] = {}


def register(cls: type[Pass]) -> type[Pass]:
    if not cls.name:
        raise ValueError(f"{cls.__name__} has no pass name")
    REGISTRY[cls.name] = cls
    return cls
