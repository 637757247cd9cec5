"""Functional interpreters and the timing simulator."""
