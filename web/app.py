"""The application factory: config, clients, blueprints, security headers and error handlers.

Config comes from `DEFAULTS`, then `FANOUT_*` environment variables (`FANOUT_SECRET_KEY` ->
`SECRET_KEY`), then `contract.settings.Settings.from_env()` for the names every fanout process
shares (REDIS_URL, FANOUT_API_TOKEN, FANOUT_MAX_URLS, ...), then `test_config`. A test passes
`{"SETTINGS": Settings(...)}` to point the app at its own Redis.
"""

from __future__ import annotations

import logging
import os
import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import Flask
from flask_wtf.csrf import CSRFProtect

from contract.settings import Settings
from web import api, assets, metrics, ops, pages, scaling_api, tasks_api, views
from web.body_limit import refuse_oversize_chunked_body
from web.clients import init_clients
from web.columns_cache import init_columns_cache
from web.errors import init_errors
from web.ids import IdConverter
from web.json_provider import OrjsonProvider
from web.limits import init_limits
from web.persistence import init_persistence
from web.run_cache import init_run_cache
from web.security import add_security_headers

log = logging.getLogger(__name__)

MIB = 1024 * 1024

DEFAULTS: dict[str, Any] = {
    "SECRET_KEY": None,
    "DATA_DIR": ".fanout",
    "MAX_CONTENT_LENGTH": 16 * MIB,  # 100,000 URLs of up to ~150 characters
    "MAX_FORM_MEMORY_SIZE": 16 * MIB,  # the same URLs pasted into the form
    "SESSION_COOKIE_HTTPONLY": True,
    "SESSION_COOKIE_SAMESITE": "Lax",
    "WTF_CSRF_TIME_LIMIT": 8 * 3600,
    "POLL_INTERVAL_MS": 700,
    "RUNS_PER_PAGE": 50,
    "STATS_WINDOW_S": 300,
}

SECRET_KEY_FILE = "web-secret-key"


def create_app(test_config: Mapping[str, Any] | None = None) -> Flask:
    """Build the web app. Nothing connects to Redis here: the app starts even with Redis down."""
    app = Flask(__name__)
    app.json = OrjsonProvider(app)  # before anything builds the Jinja env, whose tojson uses it
    app.config.from_mapping(DEFAULTS)
    app.config.from_prefixed_env("FANOUT")
    app.config["SETTINGS"] = Settings.from_env()
    if test_config is not None:
        app.config.from_mapping(test_config)
    app.config["DEBUG"] = False
    if app.config["SECRET_KEY"]:
        app.config["SECRET_KEY"] = str(app.config["SECRET_KEY"])  # FANOUT_SECRET_KEY=123 -> int
    else:
        app.config["SECRET_KEY"] = shared_secret_key(Path(str(app.config["DATA_DIR"])))

    init_clients(app, app.config["SETTINGS"])
    init_run_cache(app)
    init_columns_cache(app)
    init_persistence(app)
    app.before_request(refuse_oversize_chunked_body)  # before the limiter and CSRF read a form
    init_limits(app, app.config["SETTINGS"])  # before CSRF: a flood of bad forms counts too
    csrf = CSRFProtect(app)
    for json_api in (api.bp, scaling_api.bp, tasks_api.bp):
        csrf.exempt(json_api)
    app.after_request(add_security_headers)
    init_errors(app)
    views.init_views(app)
    app.url_map.converters["id"] = IdConverter  # before the blueprints: their rules name it
    metrics.init_metrics(app)
    blueprints = (pages.bp, api.bp, tasks_api.bp, scaling_api.bp, ops.bp, assets.bp, metrics.bp)
    for blueprint in blueprints:
        app.register_blueprint(blueprint)
    return app


def shared_secret_key(data_dir: Path) -> str:
    """The session and CSRF key when FANOUT_SECRET_KEY is unset.

    gunicorn runs several processes that must sign and check the same CSRF tokens, so a random
    key per process would not do: the first process writes one to DATA_DIR (created atomically
    with a hard link, so two processes starting together agree) and the others read it.
    """
    path = data_dir / SECRET_KEY_FILE
    try:
        if path.exists():
            return path.read_text().strip()
        data_dir.mkdir(parents=True, exist_ok=True)
        tmp = data_dir / f".{SECRET_KEY_FILE}.{os.getpid()}.{secrets.token_hex(4)}"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(secrets.token_hex(32))
        try:
            os.link(tmp, path)
        except FileExistsError:
            pass
        finally:
            tmp.unlink()
        return path.read_text().strip()
    except OSError as exc:
        log.warning("cannot keep a secret key in %s (%s): set FANOUT_SECRET_KEY", data_dir, exc)
        return secrets.token_hex(32)
