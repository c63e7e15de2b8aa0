#!/usr/bin/env bash
# Installs and starts a local PostgreSQL for the shared-store tests, as root, on Debian 12,
# with a role and database 'aihow' (password 'aihow') on 127.0.0.1:5432. Idempotent.
# Prints the URL for AI_HOW_EVENT_STORE.
set -euo pipefail
# Under `env -i` PATH is bash's default but not exported: Python, pip and dpkg need it exported.
export PATH
if [ "$(id -u)" -ne 0 ]; then
  echo "postgres-up: run as root (it installs and starts PostgreSQL)" >&2
  exit 1
fi
if ! dpkg-query -W -f='${Status}' postgresql 2>/dev/null | grep -q "install ok installed"; then
  echo "postgres-up: installing postgresql" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends postgresql >/dev/null
fi
version=$(ls /etc/postgresql | sort -n | tail -n 1)
# Everything but the URL goes to stderr: callers capture stdout as the URL.
pg_ctlcluster "$version" main status >/dev/null 2>&1 || pg_ctlcluster "$version" main start >&2
for _ in $(seq 1 30); do
  su postgres -c "psql -qAtc 'select 1'" >/dev/null 2>&1 && break
  sleep 1
done
su postgres -c "psql -qAtc \"select 1 from pg_roles where rolname='aihow'\"" | grep -q 1 ||
  su postgres -c "psql -qc \"create role aihow login superuser password 'aihow'\"" >&2
su postgres -c "psql -qAtc \"select 1 from pg_database where datname='aihow'\"" | grep -q 1 ||
  su postgres -c "createdb -O aihow aihow" >&2
echo "postgresql://aihow:aihow@127.0.0.1:5432/aihow"
