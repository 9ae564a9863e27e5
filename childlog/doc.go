// Package childlog holds the output of lnmp-init's children on its way to
// lnmp-init's own stdout and stderr: each child writes to pipes that
// lnmp-init reads, and every line comes out whole, tagged with the child's
// name and stream, or untouched.
//
// # Modes
//
// Tagged (--child-logs=tagged, the default) copies every line, in the
// format of lnmp-init's own log (--log-format). With JSON, one object a
// line, in the style of lnmp-init's zap log:
//
//	{"time":"2026-11-22T06:42:01.123Z","child":"nginx","stream":"stdout","msg":"127.0.0.1 - - [22/Nov/2026:06:42:01 +0000] \"GET / HTTP/1.1\" 200 3"}
//
// "child" is the same key lnmp-init's own events about that child carry,
// so one query finds a child's restarts and its output; "stream" is stdout
// or stderr, and the line goes to the same stream of lnmp-init. There is no
// "level": lnmp-init does not know a child line's level, and a made-up one
// would mislead alerts; lnmp-init's own lines are told apart by their
// "logger":"lnmp-init".
//
// "msg" is the line without its newline, byte for byte when it is valid
// UTF-8: quotes, backslashes and control characters (ANSI colours, a
// carriage return) are escaped as JSON requires and decode to the same
// bytes. JSON cannot hold other bytes, so when a line is not valid UTF-8,
// each invalid byte reads as U+FFFD in "msg" and "msg_base64" holds the
// exact bytes: the line stays readable and nothing is lost.
//
// With the console format, hivemind's style: the name, padded to the
// longest name, and " | " before the line, which is otherwise untouched.
//
//	nginx   | 127.0.0.1 - - [22/Nov/2026:06:42:01 +0000] "GET / HTTP/1.1" 200 3
//	php-fpm | [22-Nov-2026 06:42:01] NOTICE: ready to handle connections
//
// Raw (--child-logs=raw) is pass-through: the children get lnmp-init's own
// stdout and stderr and write to them directly; nothing is copied. Only
// when a child could not open them again by path (/proc/self/fd/2,
// /dev/stdout: a pipe owned by another user, see New) does lnmp-init give
// it a pipe and copy the lines unchanged.
//
// # Guarantees
//
// Lines are never split or merged: each is written to lnmp-init's output
// whole, in one write with other whole lines. A line longer than
// Options.MaxLine (64 KiB) keeps its first MaxLine bytes and loses the
// rest; JSON says how many bytes in "truncated", the other formats end the
// line with " [lnmp-init: N bytes cut]". Container runtimes split lines of
// over 16 KiB themselves (containerd, Docker's json-file), so a longer
// line was never going to arrive whole; the bound keeps lnmp-init's memory
// bounded. A child's last line without a newline is still written, with
// one. The lines of one stream of one start of a child keep their order;
// those of different children, or of two starts of one child, interleave
// as they arrive, within the few milliseconds a reader waits for lines to
// gather (see linger in reader.go).
//
// A child never blocks on lnmp-init: lnmp-init reads its pipes at once.
// When lnmp-init's own output blocks (a stalled log collector), up to
// Options.Buffer bytes wait per stream; beyond that whole lines are
// dropped and counted (Counts), and once the output moves again one line
// says how many were lost. In raw mode a child writing straight to the
// output blocks as it would without lnmp-init.
//
// # Why tagged is the default
//
// On Kubernetes a log collector reads one stream per container. Raw, it
// holds lnmp-init's JSON lines mixed with nginx's access log, php-fpm's
// notices and every Procfile program's output, which no parser can take
// apart reliably. Tagged, every line is one JSON object naming its child,
// and a stalled collector costs log lines instead of stalling nginx's
// workers in write(2) and with them the requests. The price is a copy of
// every line through lnmp-init, measured in make bench.
package childlog
