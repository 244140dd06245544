FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app

COPY . .
# Editable, so that settings find templates/ and static/ beside the code in /app.
RUN pip install -e .
# collectstatic needs settings, not secrets: a throwaway key for the build step only.
RUN SECRET_KEY=build-only python manage.py collectstatic --noinput

RUN useradd --system --uid 1000 app
USER app
EXPOSE 8000
CMD ["gunicorn", "receptionist.wsgi", "--bind", "0.0.0.0:8000", "--workers", "3", "--access-logfile", "-"]
