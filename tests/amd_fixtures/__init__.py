"""Synthetic call audio for the AMD tests, generated at test time (no recordings)."""
