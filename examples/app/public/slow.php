<?php
// A slow page, to watch a drain: curl 'http://127.0.0.1:8080/slow.php?s=10'
// then stop the container; the request still finishes.
// It loops until a deadline because sleep() returns early when the worker
// receives a signal (SIGQUIT on a graceful stop).
header('Content-Type: text/plain');
$seconds = isset($_GET['s']) ? min(max((float) $_GET['s'], 0), 60) : 5;
$deadline = microtime(true) + $seconds;
while (($left = $deadline - microtime(true)) > 0) {
    usleep((int) min($left * 1e6, 100000));
}
printf("Slept %.1f s in worker %d\n", $seconds, getmypid());
