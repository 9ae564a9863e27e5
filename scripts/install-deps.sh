#!/usr/bin/env bash
# Installs what lnmp-init's demo, tests and benchmark need from Debian or
# Ubuntu packages, skipping what is already there. Needs root.
#   install-deps.sh          nginx, php-fpm (demo, tests) and supervisor (the
#                            oracle of the migrate tests: supervisord's own
#                            config reader)
#   install-deps.sh --bench  also tini (the benchmark's other rival)
#   install-deps.sh --k8s    also what make k8s-test's cluster needs:
#                            containerd and runc (Docker's, when Docker is
#                            there), the CNI plugins, nftables, conntrack,
#                            openssl, curl, mmdebstrap
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
if [ "${1:-}" = "--k8s" ]; then
  command -v containerd >/dev/null 2>&1 || want+=(containerd)
  command -v runc >/dev/null 2>&1 || want+=(runc)
  [ -x /usr/lib/cni/bridge ] || want+=(containernetworking-plugins)
  command -v nft >/dev/null 2>&1 || want+=(nftables)
  command -v conntrack >/dev/null 2>&1 || want+=(conntrack)
  command -v openssl >/dev/null 2>&1 || want+=(openssl)
  command -v curl >/dev/null 2>&1 || want+=(curl)
  command -v ip >/dev/null 2>&1 || want+=(iproute2)
  command -v mmdebstrap >/dev/null 2>&1 || want+=(mmdebstrap)
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
