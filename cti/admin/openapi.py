"""The OpenAPI 3.1 document, generated from the route declarations and pydantic's JSON
Schema of the very models the handlers validate with (nothing written by hand)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import JsonSchemaMode, models_json_schema

REF = "#/components/schemas/{model}"
ERROR_TEXT = {
    401: "no token, or not a live one",
    403: "a valid token without the administrator role",
    404: "no such thing",
    409: "edited from an older version: reload and edit again",
    422: "invalid input; details.field names it",
    429: "too many failed logins for this account or address; wait Retry-After seconds",
    503: "too many logins at once; try again after Retry-After seconds",
}


@dataclass(frozen=True, slots=True)
class Param:
    """A path or query parameter."""

    name: str
    where: str  # "path" or "query"
    type: str
    format: str | None = None


@dataclass(frozen=True, slots=True)
class Endpoint:
    """One route: method, path, what it takes and gives."""

    method: str
    path: str
    summary: str
    operation_id: str
    body: type[BaseModel] | None
    response: type[BaseModel]
    errors: tuple[int, ...]
    params: tuple[Param, ...]
    auth: bool
    status: int = 200


def _error_schema() -> dict[str, Any]:
    return {
        "type": "object",
        "required": ["error", "message", "details"],
        "properties": {
            "error": {"type": "string", "description": "stable id clients switch on"},
            "message": {"type": "string"},
            "details": {"type": "object"},
        },
    }


def document(endpoints: list[Endpoint], title: str = "Hotline CTI admin API") -> dict[str, Any]:
    """The OpenAPI 3.1 document of `endpoints`."""
    inputs: list[tuple[type[BaseModel], JsonSchemaMode]] = []
    for e in endpoints:
        if e.body is not None:
            inputs.append((e.body, "validation"))
        inputs.append((e.response, "serialization"))
    refs, defs = models_json_schema(list(dict.fromkeys(inputs)), ref_template=REF)
    schemas: dict[str, Any] = dict(defs.get("$defs", {}))
    schemas["Error"] = _error_schema()
    paths: dict[str, dict[str, Any]] = {}
    for e in endpoints:
        op: dict[str, Any] = {
            "summary": e.summary,
            "operationId": e.operation_id,
            "responses": {
                str(e.status): {
                    "description": "OK",
                    "content": {
                        "application/json": {"schema": refs[(e.response, "serialization")]}
                    },
                },
                **{
                    str(code): {
                        "description": ERROR_TEXT.get(code, "error"),
                        "content": {
                            "application/json": {"schema": {"$ref": REF.format(model="Error")}}
                        },
                    }
                    for code in e.errors
                },
            },
        }
        if e.auth:
            op["security"] = [{"bearer": []}]
        if e.body is not None:
            op["requestBody"] = {
                "required": True,
                "content": {"application/json": {"schema": refs[(e.body, "validation")]}},
            }
        if e.params:
            op["parameters"] = [
                {
                    "name": p.name,
                    "in": p.where,
                    "required": p.where == "path",
                    "schema": {"type": p.type, **({"format": p.format} if p.format else {})},
                }
                for p in e.params
            ]
        paths.setdefault(e.path, {})[e.method.lower()] = op
    return {
        "openapi": "3.1.0",
        "info": {"title": title, "version": "1"},
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
    }
