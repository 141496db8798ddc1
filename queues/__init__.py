"""Queue model and administration (to come)."""
