#!/bin/sh
# The comparison's tini setup (image_test.go): `docker run --init` makes
# Docker's tini PID 1, and this script its child, as many php + nginx images
# do it. php-fpm daemonizes; nginx replaces the shell.
set -e
php-fpm8.2 -D -y /srv/lnmp/php-fpm.conf
exec nginx -c /srv/lnmp/nginx.conf -g 'daemon off;'
