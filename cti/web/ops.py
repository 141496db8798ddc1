"""`GET /health` and `GET /metrics` for whoever runs the service."""

from __future__ import annotations

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from cti.web.keys import AMI, BUS, HUB, LEASE, METRICS, SEATS, SETTINGS

routes = web.RouteTableDef()


@routes.get("/health")
async def health(request: web.Request) -> web.Response:
    """200 while the server can see and drive Asterisk; 503 with the reasons when not.

    `reasons` names each fault in words an operator can act on: `ami: down since …:
    connection refused`, `ami: down since …: permission denied for CoreShowChannels (needs
    reporting)`, `redis: unreachable (ConnectionError)`. A load balancer or a monitor only
    needs the status code.
    """
    app = request.app
    reasons = []
    if AMI in app and not app[AMI].link.live:
        reasons.append(app[AMI].link.describe())
    bus_problem = await app[BUS].problem()
    if bus_problem:
        reasons.append(bus_problem)
    body: dict[str, object] = {
        "status": "unavailable" if reasons else "ok",
        "reasons": reasons,
        "node": app[SETTINGS].node_id,
        "agent_sockets": app[HUB].count(),
        "seats_occupied": len(app[SEATS].occupied()),
    }
    if LEASE in app:
        body["acting"] = app[LEASE].held
        body["acting_node"] = app[LEASE].holder
    return web.json_response(body, status=503 if reasons else 200)


@routes.get("/metrics")
async def metrics(request: web.Request) -> web.Response:
    """Prometheus text exposition of this app's metrics."""
    body = generate_latest(request.app[METRICS].registry)
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})
