"""Flask application factory: the REST API (and its documentation page), the public
verification page for printed papers, and the back office at ``/``."""

from __future__ import annotations

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from relief_inventory.config import Settings
from relief_inventory.db import engine_for


def create_app(settings: Settings | None = None) -> Flask:
    settings = settings or Settings.from_env()
    app = Flask(__name__)
    app.config.update(
        SECRET_KEY=settings.secret_key,
        JSON_AS_ASCII=False,
        RELIEF_SETTINGS=settings,
    )
    app.json.ensure_ascii = False  # type: ignore[attr-defined]
    app.extensions["relief_engine"] = engine_for(settings.database_url)
    if settings.proxy_hops:
        # The client address (login limits) is the one the trusted proxies saw.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=settings.proxy_hops)  # type: ignore[method-assign]

    from relief_inventory.api import init_api

    init_api(app)

    from relief_inventory.web.verify import bp as verify_bp

    app.register_blueprint(verify_bp)

    from relief_inventory.web.apidocs import bp as apidocs_bp

    app.register_blueprint(apidocs_bp)

    from relief_inventory.admin import init_backoffice

    init_backoffice(app, settings)
    return app
