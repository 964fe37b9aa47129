# digest-bot: posts the daily digest and serves the archive.
#   docker build -t digest-bot .
#   docker run -d --name digest-bot -e DIGEST_BOT_TOKEN=... \
#     -v "$PWD/config.toml:/app/config.toml:ro" -v "$PWD/content:/app/content:ro" \
#     -v digest-data:/app/data digest-bot
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
    && chown 10001 /app/data
COPY --chown=10001 content ./content

USER 10001
VOLUME ["/app/content", "/app/data"]
# Unhealthy when the bot stopped receiving updates or its last publication failed.
HEALTHCHECK --interval=60s --timeout=10s --start-period=60s --retries=3 \
    CMD ["digest-bot", "health"]
CMD ["digest-bot", "run"]
