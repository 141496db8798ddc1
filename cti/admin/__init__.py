"""Administrators: change-sets over the hotline's configuration (dry-run, apply, rollback),
the admin API under /api/admin with its OpenAPI document, and the /admin page."""

from cti.admin.service import AdminService, VersionConflict, wanted_for

__all__ = ["AdminService", "VersionConflict", "wanted_for"]
