"""Test material: the ONNX wheel's node tests (:mod:`.node_tests`). Import as
``from models import node_tests`` (the suite's root ``tests/`` is on ``sys.path`` through its root
conftest). The trained model zoo is :mod:`accel.bench.zoo` (``accel-run bench-models`` uses it
too)."""
