# The example image: the official php-fpm Alpine image, nginx from Alpine,
# lnmp-init as PID 1, the example configs and app. Build it with
#   docker build -t my-php-app .
# To add lnmp-init to an image of your own, two lines are enough:
#   COPY --from=build /out/lnmp-init /usr/local/bin/lnmp-init
#   ENTRYPOINT ["lnmp-init"]
# Base images are pinned to versions; bump them on purpose.

FROM golang:1.26.8-alpine3.22 AS build
ARG VERSION=dev
WORKDIR /src
COPY . .
# Static (no libc to match at run time), trimmed, version stamped. go build
# fetches only the modules the binary imports, not the tests' (k8s, BuildKit).
RUN CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X main.version=${VERSION}" -o /out/lnmp-init ./cmd/lnmp-init

FROM php:8.3.28-fpm-alpine3.22
RUN apk add --no-cache nginx
COPY --from=build /out/lnmp-init /usr/local/bin/lnmp-init
# The same files make demo serves and the Kubernetes example mounts as
# ConfigMaps: mount over /srv/lnmp/conf.d and /srv/lnmp/pool.d to change them.
COPY examples/config /srv/lnmp
COPY examples/app /srv/app
ENV LNMP_NGINX_CONFIG=/srv/lnmp/nginx.conf \
    LNMP_PHP_FPM_CONFIG=/srv/lnmp/php-fpm.conf \
    LNMP_DRAIN_DELAY=5s
# Non-root: nginx listens on 8080, every writable path is under /tmp, so the
# container also runs with --read-only and a tmpfs on /tmp.
USER www-data
EXPOSE 8080 9180
# lnmp-init drains on SIGTERM and SIGQUIT alike. SIGTERM is what Kubernetes
# and docker stop send by default, and setting it here replaces the SIGQUIT
# the php:*-fpm images set for a bare php-fpm.
STOPSIGNAL SIGTERM
# No curl in the image: lnmp-init asks its own /readyz.
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s CMD ["lnmp-init", "probe", "ready"]
ENTRYPOINT ["lnmp-init"]
