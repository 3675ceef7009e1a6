"""The accel passes, one per file, registered by pipeline name (see :mod:`.base`)."""

from .base import REGISTRY, Option, Pass, register
from .emit import AccelEmit
from .lower import AccelLower
from .match import AccelMatch
from .schedule import AccelSchedule

__all__ = ["REGISTRY", "AccelEmit", "AccelLower", "AccelMatch", "AccelSchedule", "Option", "Pass", "register"]
