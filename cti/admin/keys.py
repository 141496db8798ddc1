"""The admin service's app key (kept apart from `cti.admin.http` so the login route can
reach the service without importing the admin routes)."""

from __future__ import annotations

from aiohttp import web

from cti.admin.service import AdminService

ADMIN = web.AppKey("admin", AdminService)
