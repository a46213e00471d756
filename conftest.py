"""The tests' shared fixtures live in one plugin, kehu/tests/fixtures.py."""

pytest_plugins = ["kehu.tests.fixtures"]
