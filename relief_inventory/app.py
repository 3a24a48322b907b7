"""Flask application factory: the REST API (and its documentation page), the public
verification page for printed papers, and the back office at ``/``."""

from __future__ import annotations

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from relief_inventory.config import Settings


def create_app(settings: Settings | None = None) -> Flask:
    settings = settings or Settings.from_env()
    settings.require_safe()
    app = Flask(__name__)
    app.config.update(
        SECRET_KEY=settings.secret_key,
        JSON_AS_ASCII=False,
        RELIEF_SETTINGS=settings,
    )
    app.json.ensure_ascii = False  # type: ignore[attr-defined]
    from relief_inventory.ops.engines import server_engine

    app.extensions["relief_engine"] = server_engine(settings)
    if settings.proxy_hops:
        # The client address (login limits) is the one the trusted proxies saw.
        app.wsgi_app = ProxyFix(
            app.wsgi_app, x_for=settings.proxy_hops, x_proto=settings.proxy_hops
        )  # type: ignore[method-assign]

    from relief_inventory.api import init_api

    init_api(app)

    from relief_inventory.web.verify import bp as verify_bp

    app.register_blueprint(verify_bp)

    from relief_inventory.web.apidocs import bp as apidocs_bp

    app.register_blueprint(apidocs_bp)

    from relief_inventory.admin import init_backoffice

    init_backoffice(app, settings)

    # Operations (issue 13): request ids, access log, limits, health and readiness.
    from relief_inventory.ops.web import init_operations

    init_operations(app, settings)
    return app
