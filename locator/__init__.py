"""Resident registry and caller-ID matching."""
