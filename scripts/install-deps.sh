#!/usr/bin/env bash
# Installs what lnmp-init's demo, tests and benchmark need from Debian or
# Ubuntu packages, skipping what is already there. Needs root.
#   install-deps.sh          nginx, php-fpm (demo, tests) and supervisor (the
#                            oracle of the migrate tests: supervisord's own
#                            config reader)
#   install-deps.sh --bench  also tini (the benchmark's other rival)
set -euo pipefail
want=()
command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || want+=(nginx)
compgen -G "/usr/sbin/php-fpm*" >/dev/null || [ -x /usr/local/sbin/php-fpm ] || want+=(php-fpm)
command -v unshare >/dev/null 2>&1 || want+=(util-linux)
command -v setpriv >/dev/null 2>&1 || want+=(util-linux)
command -v supervisord >/dev/null 2>&1 || want+=(supervisor)
if [ "${1:-}" = "--bench" ]; then
  command -v tini >/dev/null 2>&1 || want+=(tini)
fi
[ ${#want[@]} -eq 0 ] && exit 0
if [ "$(id -u)" != 0 ]; then
  echo "install-deps: need root to install: ${want[*]}" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${want[@]}" >/dev/null
# Debian's packages start the services; lnmp-init runs its own.
for svc in nginx "php*-fpm" supervisor; do
  (service --status-all 2>/dev/null | grep -q "$svc") && service "$svc" stop >/dev/null 2>&1 || true
done
exit 0
