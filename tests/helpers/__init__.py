"""Shared test fixtures and helpers (imported explicitly by the test modules that use them)."""
