"""Zero-copy PYNQ runtime (import name ``accel.runtime``)."""
