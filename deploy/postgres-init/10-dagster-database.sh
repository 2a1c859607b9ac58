#!/bin/sh
# Runs once, when the postgres container starts on an empty volume. The app database
# (POSTGRES_DB) gets pgvector; Dagster's run/event/schedule storage gets its own database
# on the same server so the two never share tables.
set -eu
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
  -v dagster_db="${DAGSTER_PG_DB:-dagster}" <<'SQL'
CREATE EXTENSION IF NOT EXISTS vector;
CREATE DATABASE :"dagster_db";
SQL
