# The one image compose.yaml runs as web, worker and beat (see the README's Production guide).
FROM python:3.12-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1

WORKDIR /app
COPY pyproject.toml README.md manage.py ./
COPY portal portal
COPY sessions_app sessions_app
COPY channels_app channels_app
COPY templates templates
COPY static static
# Editable, so the code (templates, static files) is read from /app, where manage.py runs.
RUN pip install -e '.[prod]'
# Static files are collected at build time; DEBUG=true only spares this step the secrets.
RUN DEBUG=true python manage.py collectstatic --noinput

RUN useradd --system --home-dir /app pushport \
    && mkdir -p /var/lib/pushport/metrics /var/lib/pushport/content \
    && chown pushport /var/lib/pushport/metrics /var/lib/pushport/content
USER pushport

EXPOSE 8000
# --preload: the workers share the application loaded once before gunicorn forks them.
CMD ["gunicorn", "portal.wsgi", "--bind", "0.0.0.0:8000", "--preload", "--access-logfile", "-"]
