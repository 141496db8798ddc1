"""FastAGI language menu (to come)."""
