# syntax=docker/dockerfile:1.7
# One image for every Khabar service; the command picks the service:
#   docker run khabar serve api|ingest|enrich|index
# Build stage: compilers for the wheels without manylinux builds (pycld2, python-crfsuite), and
# the exact versions the tests ran against (deploy/constraints.txt, tools/lock_constraints.py).
FROM python:3.11.10-slim-bookworm AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN apt-get update \
    && apt-get install -y --no-install-recommends gcc g++ \
    && rm -rf /var/lib/apt/lists/*
RUN python -m venv /opt/khabar
WORKDIR /src
# dependencies first, so a code change does not reinstall them
COPY deploy/constraints.txt ./constraints.txt
RUN /opt/khabar/bin/pip install --requirement constraints.txt
COPY pyproject.toml README.md NOTICE ./
COPY shared ./shared
COPY services ./services
RUN /opt/khabar/bin/pip install --no-deps --constraint constraints.txt . \
    && /opt/khabar/bin/pip check \
    && find /opt/khabar -name '__pycache__' -prune -exec rm -rf {} +

# Final stage: no compilers, no sources, a fixed non-root uid (Kubernetes runAsNonRoot checks
# a numeric uid; deploy/k8s uses the same 10001).
FROM python:3.11.10-slim-bookworm
LABEL org.opencontainers.image.title="khabar" \
      org.opencontainers.image.description="Multilingual news enrichment: ingest, enrich, index, api" \
      org.opencontainers.image.licenses="Apache-2.0"
RUN groupadd --system --gid 10001 khabar \
    && useradd --system --uid 10001 --gid khabar --home-dir /app --shell /usr/sbin/nologin khabar
COPY --from=build /opt/khabar /opt/khabar
COPY --chown=10001:10001 demo /app/demo
# the ingest drop folder: a named volume mounted here starts with this owner
RUN install -d -o 10001 -g 10001 /data/inbox
# KHABAR_HEALTH_PORT is read only by the HEALTHCHECK below (each service listens on its own
# KHABAR_<SERVICE>_PORT; compose sets the matching value per service). Kubernetes ignores
# HEALTHCHECK and probes /healthz and /readyz itself.
ENV PATH=/opt/khabar/bin:$PATH PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1 \
    KHABAR_BIND_HOST=0.0.0.0 KHABAR_DATA_DIR=/tmp/khabar KHABAR_HEALTH_PORT=8000 \
    NUMBA_CACHE_DIR=/tmp/numba-cache
WORKDIR /app
USER 10001:10001
EXPOSE 8000 8001 8002 8003
HEALTHCHECK --interval=15s --timeout=3s --start-period=90s --retries=3 \
  CMD ["python", "-c", "import os,sys,urllib.request as u; p=os.environ['KHABAR_HEALTH_PORT']; sys.exit(0 if u.urlopen(f'http://127.0.0.1:{p}/healthz', timeout=2).status == 200 else 1)"]
ENTRYPOINT ["khabar"]
CMD ["serve", "api"]
