"""The accelerator: RTL, spec, Verilator harness, Vivado flow (import name ``accel.overlays``)."""
