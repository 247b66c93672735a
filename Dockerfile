# policybot in a container. Not built on the machine this was written on (no Docker engine
# there): treat it as a starting point and build it once before relying on it.
#   docker build -t policybot .
#   docker run -d --name policybot --env-file policybot.env \
#     -v policybot-state:/app/state -v "$PWD/config.yaml:/app/config.yaml:ro" \
#     -v "$PWD/rules:/app/rules:ro" -p 9108:9108 policybot
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app
COPY requirements.txt .
RUN pip install -r requirements.txt

RUN useradd --system --uid 10001 --home-dir /app --shell /usr/sbin/nologin policybot
COPY bot.py config.yaml ./
COPY policybot/ policybot/
# bytecode compiled once here (PYTHONDONTWRITEBYTECODE stops it being cached at run time):
# without it every `bot.py` command would compile the package again before it starts
RUN python -m compileall -q policybot
COPY rules/ rules/
RUN mkdir -p /app/state && chown policybot:policybot /app/state

USER policybot
# The SQLite state (seen items, outbox, subscriptions): keep it across container restarts.
VOLUME ["/app/state"]
# Optional Prometheus endpoint, when config.yaml has `metrics: {port: 9108, host: 0.0.0.0}`
# (the default host, 127.0.0.1, is unreachable from outside the container).
EXPOSE 9108
STOPSIGNAL SIGTERM
CMD ["python", "bot.py", "run"]
