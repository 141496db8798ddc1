"""Agents, seats and shift groups."""
