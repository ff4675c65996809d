#!/bin/sh
# Runs once, when the PostgreSQL volume is empty: Open WebUI gets its own role and database beside Relais's.
set -eu
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
    -v password="$OPENWEBUI_DB_PASSWORD" <<'SQL'
CREATE ROLE openwebui LOGIN PASSWORD :'password';
CREATE DATABASE openwebui OWNER openwebui;
SQL
