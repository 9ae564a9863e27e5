<?php
// The sample app: says which worker answered and which config version it
// runs with (env[APP_VERSION] in the php-fpm pool).
header('Content-Type: text/plain');
printf("Hello from lnmp-init: php %s, worker %d, APP_VERSION=%s\n",
    PHP_VERSION, getmypid(), getenv('APP_VERSION') ?: 'unset');
