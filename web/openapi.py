"""The OpenAPI 3.1 document, generated from the route table and the pydantic models."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from http import HTTPStatus
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from web.api_route import Route
from web.json_io import MAX_ID
from web.schemas import ErrorOut

_REF = "#/components/schemas/{model}"
# Ids are SQL INTEGER; the routes match digits only, and larger numbers cannot name anything (404).
_ID = {"type": "integer", "minimum": 0, "maximum": MAX_ID - 1}
_UPLOAD_TYPES = {
    "image": ["image/png", "image/jpeg", "image/webp"],
    "video": ["video/mp4", "video/webm"],
}


def _schemas(routes: Sequence[Route]) -> tuple[Mapping[Any, Any], dict[str, Any]]:
    models: list[tuple[type[BaseModel], Any]] = [(ErrorOut, "serialization")]
    for r in routes:
        if r.body is not None:
            models.append((r.body, "validation"))
        if r.response is not None:
            models.append((r.response, "serialization"))
    unique = list(dict.fromkeys(models))
    refs, top = models_json_schema(unique, ref_template=_REF)
    defs: dict[str, Any] = top.get("$defs", {})
    return refs, defs


def _error(status: int, rules: Sequence[str] = ()) -> dict[str, Any]:
    response: dict[str, Any] = {
        "description": HTTPStatus(status).phrase,
        "content": {"application/json": {"schema": {"$ref": _REF.format(model="ErrorOut")}}},
    }
    if status == 422:
        response["description"] = "The request does not fit the schema" + (
            ", or breaks one of these rules: " + "; ".join(rules) if rules else ""
        )
        if rules:
            response["x-rules"] = list(rules)
    return response


def build_openapi(routes: Sequence[Route], title: str, version: str) -> dict[str, Any]:
    refs, components = _schemas(routes)
    paths: dict[str, dict[str, Any]] = {}
    for r in routes:
        op: dict[str, Any] = {
            "summary": r.summary,
            "tags": [r.tag],
            "operationId": r.name,
            "responses": {},
        }
        params: list[dict[str, Any]] = [
            {"name": p, "in": "path", "required": True, "schema": _ID} for p in r.path_params
        ]
        if r.auth == "admin":
            op["security"] = [{"adminToken": []}]
        elif r.auth == "ticket":
            op["security"] = [{"ticketQuery": []}, {"ticketHeader": []}]
        params += [
            {"name": name, "in": "query", "required": False, "schema": {"type": "string"}, "description": d}
            for name, d in r.query.items()
        ]
        if params:
            op["parameters"] = params
        if r.body is not None:
            op["requestBody"] = {
                "required": True,
                "content": {"application/json": {"schema": refs[(r.body, "validation")]}},
            }
        elif r.upload:
            types = [t for kind in r.upload for t in _UPLOAD_TYPES[kind]]
            binary = {"type": "string", "format": "binary"}
            content: dict[str, Any] = {t: {"schema": binary} for t in types}
            content["multipart/form-data"] = {
                "schema": {"type": "object", "properties": {"file": binary}, "required": ["file"]}
            }
            op["requestBody"] = {
                "required": True,
                "description": "The file as the raw body, or as the field 'file' of a form (every byte of "
                "the form counts against the size limit). The type is detected from the bytes: "
                + ", ".join(types)
                + ". Images are stored re-encoded, at most 1920 pixels on their longer side.",
                "content": content,
            }
        ok: dict[str, Any] = {"description": HTTPStatus(r.status).phrase}
        if r.response is not None:
            ok["content"] = {"application/json": {"schema": refs[(r.response, "serialization")]}}
        elif r.produces is not None:
            ok["content"] = {r.produces: {"schema": {"type": "string"}}}
        op["responses"][str(r.status)] = ok
        errors = set(r.errors)
        if r.auth is not None:
            errors |= {401, 403}
        if r.path_params:
            errors.add(404)
        if r.body is not None:
            errors |= {400, 408, 413, 422}
        if r.upload:
            errors |= {400, 408, 413, 415}
        if r.rules:
            errors.add(422)
        for status in sorted(errors):
            op["responses"][str(status)] = _error(status, r.rules)
        paths.setdefault(r.openapi_path, {})[r.method.lower()] = op
    return {
        "openapi": "3.1.0",
        "info": {
            "title": title,
            "version": version,
            "description": 'Errors are JSON objects {"error": "..."} (422 adds "details").',
        },
        "paths": paths,
        "components": {
            "schemas": components,
            "securitySchemes": {
                "adminToken": {"type": "http", "scheme": "bearer", "description": "The admin token"},
                "ticketQuery": {"type": "apiKey", "in": "query", "name": "t", "description": "Ticket secret"},
                "ticketHeader": {"type": "apiKey", "in": "header", "name": "X-Ticket"},
            },
        },
    }
