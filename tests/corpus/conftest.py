"""The tiny real-layout checkpoints of tests/real, shared with the corpus tests."""

from tests.real.conftest import tiny_models  # noqa: F401 (a session fixture)
