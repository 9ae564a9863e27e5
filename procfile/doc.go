// Package procfile reads the commands lnmp-init runs besides nginx and
// php-fpm: the long-running programs of a Procfile (--procfile,
// LNMP_PROCFILE) and the one-shot pre-start tasks (--pre-start,
// LNMP_PRE_START).
//
// # The Procfile
//
// The format is the convention of foreman, hivemind and overmind: one
// program a line, its name, a colon and its command.
//
//	# lnmp: stop-signal=QUIT stop-timeout=60s
//	worker: php artisan queue:work --max-time=3600
//	scheduler: php artisan schedule:work
//
// Blank lines and lines that start with '#' are ignored, as those tools
// ignore them, so a Procfile written for lnmp-init still runs under them.
// Unlike them, lnmp-init refuses any other line that is not "name: command":
// a typo must not silently drop a program.
//
// A name is letters, digits, '_' and '-'. Names are unique, ignoring case
// (they label log lines and metrics), and "nginx", "php-fpm", "lnmp-init"
// and the pre-start tasks' "pre-start-1", "pre-start-2", ... are taken, in
// any case.
//
// # Options
//
// A comment that starts with "lnmp:" sets options for the program on the
// next line that is not a comment; other tools read it as a comment. Several
// such lines may stand above one program, and ordinary comments may sit
// between them. A blank line, or the end of the file, before the program
// line is an error: options that apply to nothing are a mistake. Options are
// key=value pairs separated by blanks; a value holding blanks or quotes is
// written in double quotes, where \" and \\ stand for " and \.
//
//	stop-signal=TERM   the signal that asks the program to stop: TERM (the
//	                   default), INT, QUIT, HUP, KILL, USR1, USR2 or WINCH,
//	                   also as SIGTERM, sigterm or 15.
//	stop-timeout=30s   how long the stop waits for it after the signal,
//	                   within lnmp-init's own stop budget (--stop-timeout);
//	                   past it the program gets SIGTERM, then SIGKILL.
//	                   Default: the whole budget.
//	on-crash=restart   what a crash does: a non-zero exit, or death by a
//	                   signal, while no stop was asked for. restart (the
//	                   default): start it again with a backoff; crash-limit
//	                   crashes within --crash-window end the container, as
//	                   for nginx and php-fpm. exit: end the container at the
//	                   first crash, stopping the rest gracefully, with the
//	                   program's exit code.
//	on-exit-0=restart  what an exit with code 0 does. restart (the default):
//	                   start it again, not counted as a crash; a worker
//	                   that ends after --max-time or --max-jobs wants this.
//	                   exit: end the container gracefully with code 0.
//	                   ignore: leave it stopped; the rest keeps running.
//	dir=/srv/app       the working directory, relative to the Procfile's
//	                   directory. Default: the Procfile's directory, as
//	                   foreman and hivemind do. It must exist.
//	env=NAME=value     one more environment variable (repeatable); the
//	                   program gets lnmp-init's environment with these
//	                   added.
//
// An unknown key or a bad value is an error that names the file, the line,
// the key and the values it takes.
//
// # Commands, and when a shell runs them
//
// A command runs under /bin/sh -c when it needs a shell: when it holds any
// of the characters  | & ; < > ( ) $ ` \ " ' * ? [ ] # ~ { }  or a newline,
// when its first word is an assignment (NAME=value), or when its first word
// is a shell keyword or builtin that is not a program (exec, cd, export, if,
// for, while, ...). Otherwise it is split on blanks and executed directly,
// with no shell in between, so the program gets the stop signal itself.
// lnmp-init expands nothing itself: with a shell, the shell does; without
// one there is nothing to expand.
//
// A directly executed program is looked up when the Procfile is loaded: a
// name without '/' in PATH (the program's env PATH if it sets one), a
// relative path against the program's directory, so a missing binary stops
// lnmp-init at start with exit code 2 and a line naming the program, rather
// than a crash loop later. Command.ShellReason says why a shell was chosen,
// for lnmp-init check.
//
// # Pre-start tasks
//
// Tasks come from repeated --pre-start flags, each one task, or from
// LNMP_PRE_START, one task a line (SplitPreStart). They follow the same
// shell rule and run in lnmp-init's working directory.
package procfile
