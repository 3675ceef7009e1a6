"""The driver-program contract (import name ``accel.contract``): what the compiler emits and the
runtime executes, shared by both and by nothing heavier than numpy.

Pure Python + numpy, no MLIR and no pynq, so the board (which has neither a compiler nor
Verilator) loads it as it is and the host's compiler emits through it:

- :mod:`.program`: the driver-program format and its validation;
- :mod:`.schedule`: a schedule (tiles, stationarity, order, buffering) and its limits;
- :mod:`.lowering`: schedule -> instructions + DMA transfers (the one lowering);
- :mod:`.walker`: the one walk of a program's MM2S packets (command segments, data packets);
- :mod:`.costmodel`: predicted cycles of a program, schedule search;
- :mod:`.hostcost`: host-time projection from counted work and a board's host-CPU profile;
- :mod:`.module`: the compiled-module file (a program per function plus bindings);
- :mod:`.hostops`: the fixed set of host (CPU) operations a model program may contain, their
  attributes, shape inference and cost (implemented in :mod:`.hostexec`, run by ``accel.runtime.hostops``).
"""
