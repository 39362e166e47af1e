"""The shared persona fixtures (tests/conftest.py) for this app's tests."""

from tests.conftest import loaded_protocol, login, personas  # noqa: F401
