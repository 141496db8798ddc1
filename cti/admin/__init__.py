"""Administrators: change-sets over the hotline's configuration (dry-run, apply, rollback),
the admin API under /api/admin with its OpenAPI document, and the /admin page."""

from cti.admin.service import AdminService, VersionConflict, wanted_at, wanted_for
from cti.admin.shift_change import run_shift_changes
from cti.admin.store import MemoryVersionStore, SqlVersionStore, VersionStore, latest_version

__all__ = [
    "AdminService",
    "MemoryVersionStore",
    "SqlVersionStore",
    "VersionConflict",
    "VersionStore",
    "latest_version",
    "run_shift_changes",
    "wanted_at",
    "wanted_for",
]
