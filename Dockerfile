# digest-bot: posts the daily digest and serves the archive.
# docker build -t digest-bot .
# docker run -d --name digest-bot -e DIGEST_BOT_TOKEN=... \
#   -v "$PWD/config.toml:/app/config.toml:ro" -v "$PWD/content:/app/content:ro" \
#   -v digest-data:/app/data digest-bot
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app
COPY pyproject.toml README.md ./
COPY bot ./bot
RUN pip install . \
    && useradd --system --uid 10001 --home-dir /app digest \
    && mkdir -p /app/content /app/data \
    && chown digest /app/data
COPY --chown=digest content ./content

USER digest
VOLUME ["/app/content", "/app/data"]
CMD ["digest-bot", "run"]
