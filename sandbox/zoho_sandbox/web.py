"""Request and response values passed between the HTTP layer and the endpoint handlers."""

import base64
import email.parser
import email.policy
import json
from dataclasses import dataclass, field
from urllib.parse import parse_qsl

JSON_TYPE = "application/json;charset=UTF-8"
HTML_TYPE = "text/html;charset=UTF-8"


@dataclass
class Request:
    """One parsed HTTP request; `path` is relative to the DC's accounts server or API domain."""

    method: str
    path: str
    query: dict
    headers: dict  # lower-case names
    body: bytes = b""
    dc: str | None = None
    form: dict = field(default_factory=dict)

    def __post_init__(self):
        self.form = parse_form(self.headers.get("content-type", ""), self.body)

    def param(self, name: str, default=None):
        """A parameter from the query string, else from the form body (Zoho accepts both)."""
        if name in self.query:
            return self.query[name]
        return self.form.get(name, default)

    def params(self) -> dict:
        return {**self.form, **self.query}

    def json(self):
        return json.loads(self.body.decode("utf-8"))

    def basic_auth(self) -> tuple | None:
        """(user, password) from an HTTP Basic Authorization header, if there is one."""
        scheme, _, value = self.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "basic":
            return None
        try:
            user, _, password = base64.b64decode(value.strip()).decode("utf-8").partition(":")
        except ValueError:
            return None
        return user, password


@dataclass
class Response:
    status: int
    body: bytes = b""
    content_type: str | None = None
    headers: dict = field(default_factory=dict)


def parse_query(query: str) -> dict:
    """First value of each parameter; blank values kept (so `fields=` counts as given but empty)."""
    params = {}
    for key, value in parse_qsl(query, keep_blank_values=True):
        params.setdefault(key, value)
    return params


def parse_form(content_type: str, body: bytes) -> dict:
    """Fields of an urlencoded or multipart/form-data body; anything else has no form fields."""
    media_type = content_type.split(";")[0].strip().lower()
    if not body:
        return {}
    if media_type == "application/x-www-form-urlencoded":
        return parse_query(body.decode("utf-8", "replace"))
    if media_type == "multipart/form-data":
        raw = b"Content-Type: " + content_type.encode("latin-1") + b"\r\n\r\n" + body
        message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(raw)
        form = {}
        for part in message.iter_parts():
            name = part.get_param("name", header="content-disposition")
            if name:
                payload = part.get_payload(decode=True) or b""
                form.setdefault(name, payload.decode("utf-8", "replace"))
        return form
    return {}


def json_response(status: int, payload, headers: dict | None = None) -> Response:
    body = json.dumps(payload, separators=(",", ":")).encode("utf-8")
    return Response(status, body, JSON_TYPE, dict(headers or {}))


def html_response(status: int, html: str) -> Response:
    return Response(status, html.encode("utf-8"), HTML_TYPE)


def redirect(location: str) -> Response:
    return Response(302, b"", None, {"Location": location})


def no_content() -> Response:
    return Response(204)


def not_modified() -> Response:
    """304: nothing changed since If-Modified-Since; no body (and so no Content-Length)."""
    return Response(304)


class ApiError(Exception):
    """A CRM error, answered with Zoho's envelope (reference §7)."""

    def __init__(self, status: int, code: str, message: str, details: dict | None = None):
        super().__init__(f"{status} {code}: {message}")
        self.status, self.code, self.message, self.details = status, code, message, details or {}

    def response(self) -> Response:
        return json_response(self.status, {"code": self.code, "details": self.details,
                                           "message": self.message, "status": "error"})
