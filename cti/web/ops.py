"""`GET /health` and `GET /metrics` for whoever runs the service."""

from __future__ import annotations

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from cti.web.keys import HUB, METRICS, SEATS, SETTINGS

routes = web.RouteTableDef()


@routes.get("/health")
async def health(request: web.Request) -> web.Response:
    """200 with a small status document while the app is serving."""
    app = request.app
    return web.json_response(
        {
            "status": "ok",
            "node": app[SETTINGS].node_id,
            "agent_sockets": app[HUB].count(),
            "seats_occupied": len(app[SEATS].occupied()),
        }
    )


@routes.get("/metrics")
async def metrics(request: web.Request) -> web.Response:
    """Prometheus text exposition of this app's metrics."""
    body = generate_latest(request.app[METRICS].registry)
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})
