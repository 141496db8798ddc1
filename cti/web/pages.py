"""The agent page and its static files."""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

STATIC_DIR = Path(__file__).parent / "static"
# No inline script or handler may run: a caller-supplied string that slipped into markup
# would still be inert.
_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self' ws: wss:; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)

routes = web.RouteTableDef()


@routes.get("/")
async def root(request: web.Request) -> web.StreamResponse:
    """The agent page is the only page for now."""
    raise web.HTTPFound("/agent")


@routes.get("/agent")
async def agent_page(request: web.Request) -> web.StreamResponse:
    """The second-monitor screen-pop page."""
    return web.FileResponse(
        STATIC_DIR / "agent.html",
        headers={"Content-Security-Policy": _CSP, "Cache-Control": "no-cache"},
    )


def add_static(app: web.Application) -> None:
    """Serve `static/` under `/static/`."""
    app.router.add_static("/static/", STATIC_DIR, append_version=False)
