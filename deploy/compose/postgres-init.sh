#!/bin/sh
# Creates one database per chitieu service (services never share a database), owned by
# POSTGRES_USER. The postgres image runs this once, when its data volume is first initialised
# (/docker-entrypoint-initdb.d); it is idempotent, so running it again changes nothing.
#   INIT_DATABASES  space-separated names (docker-compose.yml sets the three service databases)
set -eu
for db in ${INIT_DATABASES:-chitieu_quota chitieu_candidates chitieu_notifications}; do
  if [ "$(psql -v ON_ERROR_STOP=1 --no-psqlrc -tA --username "$POSTGRES_USER" --dbname postgres \
          -c "SELECT 1 FROM pg_database WHERE datname = '$db'")" = "1" ]; then
    echo "database $db exists"
  else
    psql -v ON_ERROR_STOP=1 --no-psqlrc -q --username "$POSTGRES_USER" --dbname postgres \
      -c "CREATE DATABASE \"$db\" OWNER \"$POSTGRES_USER\""
    echo "database $db created"
  fi
done
