"""Test material shared by the whole suite: small trained + quantized ONNX models (:mod:`.zoo`)
and the ONNX wheel's node tests (:mod:`.node_tests`). Import as ``from models import zoo`` (the
suite's root ``tests/`` is on ``sys.path`` through its root conftest)."""
