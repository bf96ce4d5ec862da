"""Shared test helpers; the fixture modules among them are plugins listed in conftest.py."""
