#!/usr/bin/env bash
# make demo: lnmp-init as PID 1 of a private PID and mount namespace, as uid
# www-data, serving examples/app on http://127.0.0.1:8080 with the example
# configs, the same files the example image uses. The files are copied onto
# a tmpfs mounted at /srv, with another on /tmp, inside the namespace only;
# the host is untouched.
# Stop it with Ctrl-C (SIGINT: no drain) or, from another shell,
#   pkill -TERM -x lnmp-init
# to watch the drain.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "$(id -u)" != 0 ]; then
  echo "make demo needs root (apt-get, unshare): sudo make demo" >&2
  exit 1
fi
scripts/install-deps.sh
mkdir -p bin
go build -o bin/lnmp-init ./cmd/lnmp-init
echo "lnmp-init demo: http://127.0.0.1:8080/ and /slow.php?s=10 (Ctrl-C stops)" >&2
exec unshare --pid --fork --mount-proc sh -c '
  set -e
  mount -t tmpfs -o mode=0755 lnmp-demo /srv
  # A private /tmp too, as a container has: the configs keep pid and temp
  # files there, and the host'"'"'s /tmp may hold stale ones of another user.
  mount -t tmpfs -o mode=1777 lnmp-demo-tmp /tmp
  cp -r examples/config /srv/lnmp
  cp -r examples/app /srv/app
  cp bin/lnmp-init /srv/lnmp-init
  chmod -R a+rX /srv
  # A ConfigMap volume is read-only for the app; so is this copy.
  exec setpriv --reuid=www-data --regid=www-data --clear-groups \
    /srv/lnmp-init --nginx-config=/srv/lnmp/nginx.conf --php-fpm-config=/srv/lnmp/php-fpm.conf \
    --log-format=console --drain-delay="${LNMP_DRAIN_DELAY:-3s}"'
