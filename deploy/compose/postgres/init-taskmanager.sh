#!/bin/sh
# Run by the postgres image once, when it initialises an empty data volume (as the superuser, over the local socket).
# The application's role owns the tasks database, so it can create and migrate the schema there (the database owner
# owns the public schema since PostgreSQL 15) without being a superuser or able to create roles or databases.
# No `set -eu`: the entrypoint sources this file instead of running it when the execute bit is lost (a Windows
# checkout), and the options would leak into it. psql is the last command, so its failure is the script's.
psql --no-psqlrc --no-password --set=ON_ERROR_STOP=1 --username="$POSTGRES_USER" --dbname=postgres \
    --set=app_password="$TASKMANAGER_DB_PASSWORD" <<'SQL'
CREATE ROLE taskmanager LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD :'app_password';
CREATE DATABASE tasks OWNER taskmanager;
REVOKE ALL ON DATABASE tasks FROM PUBLIC;
SQL
