"""The one Alembic environment of the CTI server (see `cti.db`)."""
