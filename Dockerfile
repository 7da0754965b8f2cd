# Timepoint: one image for the REST API (`timepoint serve`), service workers (`timepoint worker`),
# Dask schedulers and workers (`dask scheduler`, `dask worker`) and one-off runs.
#
#   docker build -t timepoint .
#   docker run --rm timepoint run scenarios/showcase/jefferson_dinner.yaml
#
# No secret is baked in: keys and the database password come from the environment or from
# mounted files at run time (TIMEPOINT_LLM_API_KEY[_FILE], TIMEPOINT_DB_PASSWORD_FILE).

ARG PYTHON_VERSION=3.12

# 1. Build the wheel from the sources (setuptools comes from the build-system requirements).
FROM python:${PYTHON_VERSION}-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY timepoint ./timepoint
RUN pip wheel --no-cache-dir --no-deps --wheel-dir /dist .

# 2. The runtime: the wheel with what the service needs, run as an unprivileged user.
FROM python:${PYTHON_VERSION}-slim
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    TIMEPOINT_HOME=/data \
    HOME=/tmp
# HOME=/tmp: caches of Dask and the PDF renderer go to /tmp, writable even where the root
# filesystem is read-only (the Kubernetes pods mount an emptyDir there)
RUN groupadd --system --gid 10001 timepoint \
    && useradd --system --uid 10001 --gid timepoint --home-dir /app --no-create-home \
       --shell /usr/sbin/nologin timepoint
COPY --from=build /dist/ /tmp/dist/
# analysis: PDF narratives and tables; batch: Dask; postgres: psycopg; service: the API.
# DL3013 asks for pinned versions: the wheel is the exact version built above, and its
# dependencies are resolved within the ranges pyproject.toml declares.
# hadolint ignore=DL3013
RUN WHEEL="$(find /tmp/dist -name 'timepoint-*.whl')" \
    && pip install --no-cache-dir "${WHEEL}[analysis,batch,postgres,service]" \
    && rm -rf /tmp/dist
WORKDIR /app
COPY scenarios ./scenarios
COPY questions ./questions
RUN mkdir -p /data && chown timepoint:timepoint /data
USER 10001:10001
EXPOSE 8000 8786 8787
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=3)"]
ENTRYPOINT ["timepoint"]
CMD ["--help"]
