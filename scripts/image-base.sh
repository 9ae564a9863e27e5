#!/usr/bin/env bash
# Builds lnmp-base:test, the base of the container tests' image: Debian 12
# (bookworm) with nginx-light, php8.2-fpm, supervisor and tini, made with
# mmdebstrap and `docker import`, so no registry is needed.
#   image-base.sh          build it when missing
#   image-base.sh --force  rebuild it
# Packages come from this machine's own apt sources (its Debian mirrors, as
# `apt-get indextargets` reports them), not from a mirror named here.
# Also installs, with apt-get, what the container tests need and lack:
# mmdebstrap, and docker-compose unless the docker compose plugin is there.
# Needs root (apt-get, mmdebstrap) and docker.
set -euo pipefail
IMAGE=${LNMP_BASE_IMAGE:-lnmp-base:test}
SUITE=bookworm
force=0
case "${1:-}" in
  --force) force=1 ;;
  "") ;;
  *) echo "usage: $0 [--force]" >&2; exit 2 ;;
esac

export DEBIAN_FRONTEND=noninteractive
updated=0
want=()
command -v mmdebstrap >/dev/null 2>&1 || want+=(mmdebstrap)
command -v docker-compose >/dev/null 2>&1 || docker compose version >/dev/null 2>&1 || want+=(docker-compose)
if [ ${#want[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "image-base: need root to install: ${want[*]}" >&2
    exit 1
  fi
  apt-get update -qq # a fresh machine has no package lists yet
  updated=1
  apt-get install -y -qq --no-install-recommends "${want[@]}" >/dev/null
fi

if [ "$force" = 0 ] && docker image inspect "$IMAGE" >/dev/null 2>&1; then
  echo "image-base: $IMAGE exists (--force rebuilds it)" >&2
  exit 0
fi
if [ "$(id -u)" != 0 ]; then
  echo "image-base: need root for mmdebstrap" >&2
  exit 1
fi

# The host's Debian archives, one "deb URI SUITE COMPONENTS" line per suite,
# with the host's own suite names mapped onto bookworm (a trixie host's
# "trixie-security" becomes "bookworm-security" on the same mirror).
debian_sources() {
  apt-get indextargets --format '$(REPO_URI) $(RELEASE) $(COMPONENT)' \
      'Origin: Debian' 'Identifier: Packages' 2>/dev/null |
    awk -v suite="$SUITE" 'NF == 3 {
        rel = $2; sub(/^[^-]*/, suite, rel)
        key = $1 " " rel
        if (!(key in comps)) { order[n++] = key; comps[key] = $3 }
        else if (index(" " comps[key] " ", " " $3 " ") == 0) comps[key] = comps[key] " " $3
      }
      END { for (i = 0; i < n; i++) print "deb " order[i] " " comps[order[i]] }'
}

sources=$(debian_sources)
if [ -z "$sources" ] && [ "$updated" = 0 ]; then
  apt-get update -qq # a fresh machine has no package lists yet
  sources=$(debian_sources)
fi
if [ -z "$sources" ]; then
  echo "image-base: no Debian archive among this machine's apt sources (apt-get indextargets)" >&2
  exit 1
fi
echo "image-base: building $IMAGE from:" >&2
echo "$sources" | sed 's/^/  /' >&2

old=$(docker image inspect --format '{{.Id}}' "$IMAGE" 2>/dev/null || true)
list=$(mktemp --suffix=.list)
trap 'rm -f "$list"' EXIT
echo "$sources" >"$list"
# TARGET "-" writes a tarball to stdout; an existing file as MIRROR is
# pasted into the chroot's sources.list.
mmdebstrap --quiet --variant=apt --include=nginx-light,php8.2-fpm,supervisor,tini \
    "$SUITE" - "$list" |
  docker import --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --message "mmdebstrap $SUITE: nginx-light php8.2-fpm supervisor tini" - "$IMAGE" >/dev/null
# A rebuild leaves the old image untagged: remove it unless an image
# built on it still needs it.
new=$(docker image inspect --format '{{.Id}}' "$IMAGE")
if [ -n "$old" ] && [ "$old" != "$new" ]; then
  docker rmi "$old" >/dev/null 2>&1 || true
fi
echo "image-base: built $IMAGE" >&2
