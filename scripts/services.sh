#!/usr/bin/env bash
# What the test suite needs from the machine, started or installed when missing:
# PostgreSQL on 127.0.0.1:5432 and Debian's chromium. Fails loudly when it cannot.
set -euo pipefail
# The store's tests run against PostgreSQL on 127.0.0.1:5432 too (never skipped): start it
# when it is down, and stop here if it cannot be reached.
if ! pg_isready -q -h 127.0.0.1 -p 5432; then
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql)" main start || true
  for _ in $(seq 1 30); do
    pg_isready -q -h 127.0.0.1 -p 5432 && break
    sleep 1
  done
  if ! pg_isready -q -h 127.0.0.1 -p 5432; then
    echo "CI: PostgreSQL is not accepting connections on 127.0.0.1:5432" >&2
    exit 1
  fi
fi
# The dashboard's browser tests drive Debian's chromium (never a downloaded browser).
if ! command -v chromium >/dev/null 2>&1; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi
