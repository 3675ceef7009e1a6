"""The accel passes, one per file, registered by pipeline name (see :mod:`.base`)."""

from .base import REGISTRY, Option, Pass, register
from .emit import AccelEmit
from .lower import AccelLower
from .match import AccelMatch
from .model_emit import AccelModelEmit
from .onnx_partition import AccelOnnxPartition
from .schedule import AccelSchedule

__all__ = [
    "REGISTRY", "AccelEmit", "AccelLower", "AccelMatch", "AccelModelEmit", "AccelOnnxPartition", "AccelSchedule",
    "Option", "Pass", "register",
]
