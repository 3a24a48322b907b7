"""``/api/docs``: the OpenAPI document in Swagger UI, for integrators (no login: the
document itself is public at ``/api/openapi.json``). Swagger UI's files come from the
``swagger-ui-bundle`` package and are served from here: nothing loads from a CDN."""

from __future__ import annotations

from flask import Blueprint, send_from_directory
from swagger_ui_bundle import swagger_ui_path
from werkzeug.wrappers import Response

bp = Blueprint("apidocs", __name__, static_folder="static", static_url_path="/api/docs/local")

PAGE = """<!DOCTYPE html>
<html lang="zh-CN">
<head>
  <meta charset="UTF-8">
  <title>楚雄州救灾物资与资金管理 API 文档</title>
  <link rel="stylesheet" href="/api/docs/assets/swagger-ui.css">
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="/api/docs/assets/swagger-ui-bundle.js"></script>
  <script src="/api/docs/assets/swagger-ui-standalone-preset.js"></script>
  <script src="/api/docs/local/apidocs.js"></script>
</body>
</html>
"""


@bp.get("/api/docs")
def page() -> tuple[str, int, dict[str, str]]:
    return PAGE, 200, {"Content-Type": "text/html; charset=utf-8"}


@bp.get("/api/docs/assets/<path:filename>")
def asset(filename: str) -> Response:
    return send_from_directory(swagger_ui_path, filename, max_age=86400)
