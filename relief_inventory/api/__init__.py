"""The REST API under ``/api/v1``: flask-smorest blueprints, bearer tokens, JSON errors.

Every error has one shape: ``{"code": str, "status": int, "message": str, "errors":
{field: [message, ...]}}``. Handlers are thin: validate with a schema from ``schemas/``,
call a service inside a unit of work, serialise the result with the same schema.
"""

from __future__ import annotations

import re
from typing import Any

from flask import Flask
from flask_smorest import Api
from sqlalchemy.exc import DataError, IntegrityError
from werkzeug.exceptions import HTTPException, MethodNotAllowed

from relief_inventory.errors import Conflict, DomainError, InvalidInput
from schemas.common import OPENAPI_FIELD_TYPES, ErrorSchema

HTTP_CODES = {
    400: "bad_request",
    401: "unauthenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    409: "conflict",
    413: "too_large",
    414: "too_large",
    415: "unsupported_media_type",
    422: "invalid",
    429: "too_many_requests",
    431: "too_large",
    500: "server_error",
}
FALLBACK_CODE = "error"

# What the framework (Flask, werkzeug, webargs) says, in the staff's language.
HTTP_MESSAGES = {
    400: "请求格式不正确",
    401: "需要登录：缺少或无效的 Authorization: Bearer 令牌",
    403: "无权访问",
    404: "请求的地址不存在",
    405: "该地址不支持此请求方法",
    406: "无法提供所要求的响应格式（仅提供 JSON）",
    409: "请求与当前状态冲突",
    413: "请求体过大",
    414: "请求地址过长",
    415: "请求体须为 JSON（Content-Type: application/json）",
    422: "请求参数不合法",
    429: "请求过于频繁，请稍后再试",
    431: "请求头过大",
    500: "服务器内部错误，请联系系统管理员",
}


# marshmallow's and webargs' own messages, for fields that did not set Chinese ones (the
# schemas do; this is the net below them, so no English ever reaches the staff).
FRAMEWORK_MESSAGES = {
    "Missing data for required field.": "缺少必填字段",
    "Field may not be null.": "不能为 null",
    "Unknown field.": "未知字段",
    "Invalid input type.": "须为 JSON 对象",
    "Invalid value.": "取值无效",
    "Not a valid string.": "须为文本",
    "Not a valid integer.": "须为整数",
    "Not a valid number.": "须为数字",
    "Not a valid boolean.": "须为 true 或 false",
    "Not a valid list.": "须为数组",
    "Not a valid mapping type.": "须为 JSON 对象",
    "Not a valid date.": "日期格式须为 YYYY-MM-DD",
    "Invalid JSON body.": "请求体不是合法的 JSON",
}
CJK = re.compile("[\u4e00-\u9fff]")


def in_chinese(message: str) -> str:
    """A field message as staff should read it: ours already are; the framework's are
    translated; anything else is named as an invalid value."""
    if CJK.search(message):
        return message
    return FRAMEWORK_MESSAGES.get(message, "取值无效")


def flatten_errors(messages: Any, prefix: str = "") -> dict[str, list[str]]:
    """webargs nests errors by location and index; we name fields like the services do:
    ``lines[0].quantity``."""
    flat: dict[str, list[str]] = {}
    if isinstance(messages, dict):
        for key, value in messages.items():
            if prefix == "" and key in ("json", "query", "form", "headers", "files", "view_args"):
                name = ""
            elif key == "_schema":  # marshmallow's key for "this whole object"
                name = prefix
            elif isinstance(key, int) or (isinstance(key, str) and key.isdigit()):
                name = f"{prefix}[{key}]"
            else:
                name = f"{prefix}.{key}" if prefix else str(key)
            flat.update(flatten_errors(value, name))
    elif isinstance(messages, list) and all(isinstance(m, str) for m in messages):
        flat[prefix or "_schema"] = [in_chinese(m) for m in messages]
    elif isinstance(messages, list):
        for index, value in enumerate(messages):
            flat.update(flatten_errors(value, f"{prefix}[{index}]"))
    else:
        flat[prefix or "_schema"] = [in_chinese(str(messages))]
    return flat


def summary_of(errors: dict[str, list[str]], limit: int = 3) -> str:
    """The first few field errors in one line, so the message alone says what was wrong."""
    parts = [
        f"{field}（{'；'.join(messages)}）" if field != "_schema" else "；".join(messages)
        for field, messages in list(errors.items())[:limit]
    ]
    more = "等" if len(errors) > limit else ""
    return "、".join(parts) + more


class ReliefApi(Api):
    """flask-smorest's Api with our stable error shape for every HTTP and domain error, and
    an OpenAPI document that declares what is really sent."""

    ERROR_SCHEMA = ErrorSchema

    def _register_error_handlers(self) -> None:
        super()._register_error_handlers()
        self._app.register_error_handler(DomainError, self.handle_domain_error)
        self._app.register_error_handler(IntegrityError, self.handle_database_refusal)
        self._app.register_error_handler(DataError, self.handle_database_refusal)

    def handle_http_exception(self, error: HTTPException) -> tuple[dict, int, dict]:
        """Flask's, werkzeug's and webargs' errors (malformed JSON, wrong content type,
        unknown route or method, validation) in the common shape, in Chinese."""
        status = error.code or 500
        data = getattr(error, "data", None) or {}
        raw = data.get("errors") or data.get("messages") or {}
        errors = flatten_errors(raw) if raw else {}
        message = data.get("message") or HTTP_MESSAGES.get(status, f"请求无法处理（HTTP {status}）")
        if status == 422 and errors and not data.get("message"):
            message = f"{message}：{summary_of(errors)}"
        headers = dict(data.get("headers") or {})
        if isinstance(error, MethodNotAllowed) and error.valid_methods:
            headers["Allow"] = ", ".join(error.valid_methods)
        payload = {
            "code": HTTP_CODES.get(status, FALLBACK_CODE),
            "status": status,
            "message": message,
            "errors": errors,
        }
        return payload, status, headers

    def handle_domain_error(self, error: DomainError) -> tuple[dict, int]:
        return {**error.as_dict(), "status": error.status}, error.status

    def handle_database_refusal(self, error: IntegrityError | DataError) -> tuple[dict, int]:
        """Last resort: a constraint the database enforced and no check foresaw (a race for
        the same new lot, a value a column cannot hold) is the client's 409/422, not a 500.
        The unit of work has already rolled back."""
        self._app.logger.warning("database refused a request: %s", error.orig)
        if isinstance(error, IntegrityError):
            return self.handle_domain_error(Conflict("数据与现有记录冲突，请刷新后重试"))
        return self.handle_domain_error(InvalidInput("数据超出数据库允许的范围"))


def init_api(app: Flask) -> ReliefApi:
    app.config.update(
        API_TITLE="楚雄州救灾物资与资金管理 API",
        API_VERSION="v1",
        OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX="/api",
        OPENAPI_JSON_PATH="openapi.json",
        API_SPEC_OPTIONS={
            "security": [{"bearerAuth": []}],
            "components": {"securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer"}}},
        },
    )
    api = ReliefApi(app)
    for field, kind, form in OPENAPI_FIELD_TYPES:
        api.register_field(field, kind, form)
    from relief_inventory.api.blueprints import BLUEPRINTS

    for blueprint in BLUEPRINTS:
        api.register_blueprint(blueprint, url_prefix=f"/api/v1{blueprint.url_prefix or ''}")
    return api
