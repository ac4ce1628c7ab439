#!/usr/bin/env bash
# Stand-in for the official postgres image's entrypoint (TEST DEVICE ONLY, see eng/containers/standin-images.sh).
# It does what TaskManager relies on, the way docker-library/postgres does it:
#  * POSTGRES_USER (default postgres), POSTGRES_PASSWORD (required unless POSTGRES_HOST_AUTH_METHOD=trust),
#    POSTGRES_DB (default: the user's name), POSTGRES_INITDB_ARGS, POSTGRES_HOST_AUTH_METHOD, PGDATA;
#  * on first start (no PG_VERSION in PGDATA): initdb, a `host all all all <method>` line in pg_hba.conf, then the
#    files in /docker-entrypoint-initdb.d (*.sh run, or sourced when not executable; *.sql and *.sql.gz fed to psql)
#    against a temporary server that listens on the Unix socket only;
#  * then `exec postgres`, listening on every address (the sample configuration is patched at build time);
#  * started as root it prepares the directories and drops to the postgres user; started as postgres (compose:
#    `user: postgres`, read-only root, tmpfs on /tmp and /var/run/postgresql) it needs nothing else.
set -Eeuo pipefail

say() { printf '%s [entrypoint] %s\n' "$(date -u '+%Y-%m-%d %H:%M:%S UTC')" "$*"; }
fail() { say "error: $*" >&2; exit 1; }

# Like the official image: `docker run postgres -c x=y` means `postgres -c x=y`.
if [ "${1:0:1}" = '-' ]; then
  set -- postgres "$@"
fi

if [ "$1" != 'postgres' ]; then
  exec "$@"
fi

export POSTGRES_USER="${POSTGRES_USER:-postgres}"
export POSTGRES_DB="${POSTGRES_DB:-$POSTGRES_USER}"
export PGDATA="${PGDATA:?PGDATA must be set}"
: "${POSTGRES_PASSWORD:=}"
: "${POSTGRES_INITDB_ARGS:=}"

if [ "$(id -u)" = '0' ]; then
  mkdir -p "$PGDATA" /var/run/postgresql
  chmod 00700 "$PGDATA"
  chmod 03775 /var/run/postgresql
  find "$PGDATA" /var/run/postgresql \! -user postgres -exec chown postgres:postgres '{}' +
  exec setpriv --reuid=postgres --regid=postgres --init-groups -- "${BASH_SOURCE[0]}" "$@"
fi

mkdir -p "$PGDATA"
chmod 00700 "$PGDATA" 2>/dev/null || true

if [ ! -s "$PGDATA/PG_VERSION" ]; then
  if [ -z "$POSTGRES_PASSWORD" ] && [ "${POSTGRES_HOST_AUTH_METHOD:-}" != 'trust' ]; then
    fail "Database is uninitialized and superuser password is not specified. Set POSTGRES_PASSWORD (or POSTGRES_HOST_AUTH_METHOD=trust)."
  fi
  ls /docker-entrypoint-initdb.d/ >/dev/null

  say "initialising $PGDATA (initdb --username=$POSTGRES_USER $POSTGRES_INITDB_ARGS)"
  # The arguments are word-split on purpose, as in the official image.
  # shellcheck disable=SC2086
  initdb --username="$POSTGRES_USER" --pwfile=<(printf '%s\n' "$POSTGRES_PASSWORD") $POSTGRES_INITDB_ARGS

  auth_method="${POSTGRES_HOST_AUTH_METHOD:-}"
  if [ -z "$auth_method" ]; then
    auth_method="$(postgres -C password_encryption -D "$PGDATA")"
  fi
  printf '\nhost all all all %s\n' "$auth_method" >> "$PGDATA/pg_hba.conf"

  # psql needs the password when initdb was told --auth-local=scram-sha-256 (Aspire and our compose file do).
  export PGPASSWORD="${PGPASSWORD:-$POSTGRES_PASSWORD}"
  say "starting a temporary server on the Unix socket only"
  PGUSER="$POSTGRES_USER" pg_ctl -D "$PGDATA" -o "-c listen_addresses='' -p ${PGPORT:-5432}" -w start

  sql() { psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --no-password --no-psqlrc "$@"; }
  if [ "$POSTGRES_DB" != 'postgres' ]; then
    exists="$(sql --dbname postgres --set db="$POSTGRES_DB" --tuples-only --no-align <<<"SELECT 1 FROM pg_database WHERE datname = :'db';")"
    if [ -z "$exists" ]; then
      sql --dbname postgres --set db="$POSTGRES_DB" <<<'CREATE DATABASE :"db";'
    fi
  fi

  for f in /docker-entrypoint-initdb.d/*; do
    [ -e "$f" ] || continue
    case "$f" in
      *.sh)
        if [ -x "$f" ]; then
          say "running $f"
          "$f"
        else
          say "sourcing $f"
          # shellcheck disable=SC1090
          . "$f"
        fi
        ;;
      *.sql) say "running $f"; sql --dbname "$POSTGRES_DB" -f "$f" ;;
      *.sql.gz) say "running $f"; gunzip -c "$f" | sql --dbname "$POSTGRES_DB" ;;
      *) say "ignoring $f" ;;
    esac
  done

  PGUSER="$POSTGRES_USER" pg_ctl -D "$PGDATA" -m fast -w stop
  unset PGPASSWORD
  say "PostgreSQL init process complete; ready for start up."
else
  say "PostgreSQL Database directory appears to contain a database; Skipping initialization"
fi

exec "$@"
