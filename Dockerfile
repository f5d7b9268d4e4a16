# One image for every Khabar service; the command picks the service:
#   docker run khabar serve api|ingest|enrich|index
# syntax=docker/dockerfile:1.7
FROM python:3.11.10-slim-bookworm AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN apt-get update && apt-get install -y --no-install-recommends gcc g++ && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY pyproject.toml README.md NOTICE ./
COPY shared ./shared
COPY services ./services
COPY demo ./demo
RUN python -m venv /opt/khabar && /opt/khabar/bin/pip install --upgrade pip && /opt/khabar/bin/pip install .

FROM python:3.11.10-slim-bookworm
LABEL org.opencontainers.image.title="khabar" org.opencontainers.image.licenses="Apache-2.0"
RUN groupadd --system khabar && useradd --system --gid khabar --home /app --shell /usr/sbin/nologin khabar
COPY --from=build /opt/khabar /opt/khabar
COPY --chown=khabar:khabar demo /app/demo
ENV PATH=/opt/khabar/bin:$PATH PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1 \
    KHABAR_BIND_HOST=0.0.0.0 KHABAR_DATA_DIR=/tmp/khabar
WORKDIR /app
USER khabar
EXPOSE 8000 8001 8002 8003
HEALTHCHECK --interval=15s --timeout=3s --start-period=60s --retries=3 \
  CMD python -c "import os,sys,urllib.request; p=os.environ.get('KHABAR_HEALTH_PORT','8000'); sys.exit(0 if urllib.request.urlopen(f'http://127.0.0.1:{p}/healthz', timeout=2).status == 200 else 1)"
ENTRYPOINT ["khabar"]
CMD ["serve", "api"]
