# syntax=docker/dockerfile:1.7
# The REST gateway (`python -m gateway`) against Triton(s) it does not start (GATEWAY_START_TRITON=false).
#
#   docker build -f docker/gateway.Dockerfile -t photo-anonymiser/gateway:dev .
#
# Two stages: the project is built and installed with its `gateway` extra into /install, and only
# that prefix is copied into the runtime image (no sources, no model repository, no build tools).
FROM python:3.11.11-slim-bookworm AS build

ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

RUN --mount=type=bind,source=.,target=/src,rw \
    python -m pip install --prefix=/install "/src[gateway]"

FROM python:3.11.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    GATEWAY_HOST=0.0.0.0 \
    GATEWAY_PORT=8080 \
    GATEWAY_START_TRITON=false \
    GATEWAY_STORAGE_URL=/var/lib/gateway/storage

COPY --from=build /install /usr/local
RUN useradd --uid 10001 --user-group --home-dir /var/lib/gateway --create-home gateway \
 && python -c "import gateway.main, triton_launcher, imaging.validate_header"
USER 10001
WORKDIR /var/lib/gateway

EXPOSE 8080
# /readyz: Triton, a canary through every model, and storage (urlopen raises on a 503).
HEALTHCHECK --interval=10s --timeout=5s --start-period=120s --retries=3 \
    CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8080/readyz', timeout=4)" || exit 1
# SIGTERM stops the gateway gracefully (uvicorn drains, the process exits 0).
STOPSIGNAL SIGTERM
CMD ["python", "-m", "gateway"]
