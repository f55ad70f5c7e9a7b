# One image for every Python program of both variants (APIs, workers, the orchestrator, Locust).
# docker-compose.yml gives each container its command: the same commands the native runner
# runs (runner/processes.py), checked by tests/static/test_compose.py.
# PYTHON_IMAGE names another base with `python` and `pip` on PATH: `make compose-images` passes
# deploy/standins/python's when the official image cannot be pulled.
ARG PYTHON_IMAGE=python:3.11.13-slim-bookworm
FROM ${PYTHON_IMAGE}

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

RUN groupadd --system --gid 10001 app \
    && useradd --system --uid 10001 --gid app --no-create-home --home-dir /app app

WORKDIR /app

# The pinned dependencies first, so that a code change does not reinstall them.
COPY requirements.txt ./
RUN pip install --no-cache-dir -r requirements.txt

# The code, owned by root and read-only for the services; var/ is their only writable folder.
COPY . .
RUN mkdir -p /app/var && chown app:app /app/var
ENV VAR_DIR=/app/var

# The app user by number, so that a cluster can verify it is not root.
USER 10001:10001

# Each container sets HEALTHCHECK_URL to the /health it answers for (see deploy/healthcheck.py).
# Failures in the first 180 s do not count (a loaded machine starts slowly); the first success
# makes the container healthy at once.
HEALTHCHECK --interval=5s --timeout=3s --start-period=180s --retries=10 \
    CMD ["python", "deploy/healthcheck.py"]

CMD ["python", "-c", "print('give a command: see docker-compose.yml')"]
