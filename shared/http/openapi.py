"""`GET /openapi.json` for every service, built from the routes themselves.

A route is documented where it is declared: `describe(view, ...)` attaches the summary, the
pydantic model of its body and the models of its answers, and `document(app)` walks the app's
routes and turns those models into an OpenAPI 3.0 document. A body model is also what the
route validates with (`describe` wraps the view), so the document cannot drift from the code.
Not the lesson: plumbing, like shared/http/web.py.

We use pydantic for the schemas and write this walk by hand rather than adopt a framework
(flask-openapi3, spectree): those replace Flask's app or route decorators, and every api.py
of both variants would then read as that framework instead of as plain Flask next to its twin.
"""
import functools
import re
from dataclasses import dataclass, field

import swagger_ui_bundle
from flask import abort, request, send_from_directory
from pydantic import BaseModel
from pydantic import ValidationError as PydanticError

from shared.http.api_models import Error

REF = "#/components/schemas/{model}"
COMMON = {400: "invalid request: see error.fields or error.message"}
WITH_BODY = {413: "body over 64 KiB", 415: "body is not JSON"}
COMMAND_ERRORS = {422: "this Idempotency-Key was used with a different request",
                  503: "a fault injected by the chaos catalogue"}
REFUSED = {409: "a business refusal, e.g. error.code out_of_stock"}
INTERNAL = {403: "an internal command without the service credential"}
# The one security scheme: the service credential of orders-orch/commands/internal.py.
SECURITY_SCHEMES = {"serviceToken": {
    "type": "http", "scheme": "bearer",
    "description": "the service credential (SERVICE_TOKEN): internal commands only"}}


@dataclass(frozen=True)
class Operation:
    summary: str
    responses: dict                       # status -> model, or a description of an error
    body: type[BaseModel] | None = None
    query: dict = field(default_factory=dict)   # name -> JSON Schema
    headers: dict = field(default_factory=dict)  # name -> JSON Schema


class BodyError(Exception):
    """A command body its model refuses; `fields` maps each path to pydantic's message."""

    def __init__(self, fields):
        super().__init__("the request body is invalid")
        self.fields = fields


def describe(view, summary, responses, body=None, query=None, headers=None, validate=True):
    """Return `view` documented; with a body model it validates the body before it runs
    (validate=False: the view validates with that model itself, as POST /orders does)."""
    op = Operation(summary, responses, body, query or {}, headers or {})
    if body is not None and validate:
        inner = view

        @functools.wraps(inner)
        def view(*args, **kwargs):
            if len(args) > 1:  # a command handler (orders-orch/commands/idempotency.py read it)
                command = args[1]
            elif not request.is_json:
                abort(415, "the body must be JSON (Content-Type: application/json)")
            else:
                command = request.get_json(silent=True)
            try:
                body.model_validate(command)
            except PydanticError as exc:
                raise BodyError({_path(p["loc"]): p["msg"] for p in exc.errors()}) from None
            return inner(*args, **kwargs)
    view.openapi = op
    return view


def documented(summary, responses, **extra):
    """Decorator form of describe()."""
    return lambda view: describe(view, summary, responses, **extra)


def document(app, title):
    """Return the OpenAPI 3.0 document of every described route of `app`."""
    paths, schemas = {}, {}
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        view = app.view_functions[rule.endpoint]
        op = getattr(view, "openapi", None)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}) if op else ():
            path = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule)
            paths.setdefault(path, {})[method.lower()] = _operation(
                op, rule, method, schemas, getattr(view, "internal", False))
    return {"openapi": "3.0.3", "info": {"title": title, "version": "1"},
            "paths": paths, "components": {"schemas": schemas,
                                           "securitySchemes": SECURITY_SCHEMES}}


def _operation(op, rule, method, schemas, internal=False):
    params = [_param(name, "path", {"type": "string", "minLength": 1}, True)
              for name in sorted(rule.arguments)]
    params += [_param(n, "query", s, False) for n, s in op.query.items()]
    params += [_param(n, "header", s, False) for n, s in op.headers.items()]
    statuses = {**COMMON, **(WITH_BODY if method == "POST" else {}),
                **({404: "not found"} if rule.arguments else {}),
                **(INTERNAL if internal else {}), **op.responses}
    answer = {"summary": op.summary, "operationId": f"{method.lower()}_{rule.endpoint}",
              "parameters": params, "responses": {
                  str(s): _response(m, schemas) for s, m in sorted(statuses.items())}}
    if internal:  # the public surface declares no security; an internal one, the credential
        answer.update(tags=["internal"], security=[{"serviceToken": []}])
    if op.body is not None:
        answer["requestBody"] = {"required": True, "content": {
            "application/json": {"schema": _ref(op.body, schemas)}}}
    return answer


def _param(name, where, schema, required):
    return {"name": name, "in": where, "required": required, "schema": schema}


def _response(model, schemas):
    if isinstance(model, str):  # a description: the error shape
        return {"description": model, "content": {
            "application/json": {"schema": _ref(Error, schemas)}}}
    return {"description": (model.__doc__ or model.__name__).strip().splitlines()[0],
            "content": {"application/json": {"schema": _ref(model, schemas)}}}


def _ref(model, schemas):
    schema = model.model_json_schema(ref_template=REF)
    for name, sub in {**schema.pop("$defs", {}), model.__name__: schema}.items():
        schemas[name] = to_openapi_30(sub)
    return {"$ref": REF.format(model=model.__name__)}


def to_openapi_30(schema):
    """Rewrite pydantic's JSON Schema (2020-12, OpenAPI 3.1) into OpenAPI 3.0's dialect."""
    if isinstance(schema, list):
        return [to_openapi_30(s) for s in schema]
    if not isinstance(schema, dict):
        return schema
    schema = {k: to_openapi_30(v) for k, v in schema.items()}
    options = schema.get("anyOf", [])
    if {"type": "null"} in options:  # Optional[X]: 3.0 says nullable
        rest = [o for o in options if o != {"type": "null"}]
        schema.pop("anyOf")
        schema.update(rest[0] if len(rest) == 1 else {"anyOf": rest}, nullable=True)
        if "enum" in schema:  # 3.0.3: a nullable enum lists null among its values
            schema["enum"] = [*schema["enum"], None]
    if "const" in schema:
        schema["enum"] = [schema.pop("const")]
    if "examples" in schema:
        schema["example"] = schema.pop("examples")[0]
    return schema


def _path(loc):
    return "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in loc).lstrip(".") or "body"




DOCS_PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>{title}</title>
<link rel="stylesheet" href="/docs/swagger-ui.css"></head>
<body><div id="api"></div><script src="/docs/swagger-ui-bundle.js"></script>
<script>SwaggerUIBundle({{url: "/openapi.json", dom_id: "#api", validatorUrl: null}});</script>
</body></html>
"""


def browsable(app):
    """Serve a browsable API page at /docs: Swagger UI, its files from the swagger-ui-bundle
    package (served by the service itself, no CDN), reading this service's /openapi.json."""
    page = DOCS_PAGE.format(title=f"{app.name} API")
    app.add_url_rule("/docs", "docs", lambda: (page, 200, {"Content-Type": "text/html"}))
    app.add_url_rule("/docs/<path:name>", "docs_file", lambda name: send_from_directory(
        swagger_ui_bundle.swagger_ui_path, name))
