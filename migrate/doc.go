// Package migrate reads a supervisord configuration and says what replaces
// it under lnmp-init: `lnmp-init migrate supervisord.conf`.
//
// Load reads the config the way supervisord 4 does, so that the migration
// starts the programs supervisord started: Python's configparser dialect
// (sections, key = value or key: value, ';' and '#' comments, inline only
// after a blank, continuation lines, [DEFAULT]), [include] files= globs
// relative to the main file's directory, the expansions %(ENV_X)s,
// %(here)s, %(program_name)s, %(group_name)s, %(host_node_name)s,
// %(process_num)02d and %(numprocs)d, numprocs and process_name, [group:x],
// commands split as shlex splits them and environment= read as supervisord
// reads it. The tests hold Load to supervisord's own reader.
//
// Translate turns that into lnmp-init's terms: a Procfile (see package
// procfile) for every program that is not nginx or php-fpm, which
// lnmp-init runs itself; environment variables for the settings that map
// (config paths from nginx -c and php-fpm -y, stopwaitsecs into
// stop-timeout= and LNMP_STOP_TIMEOUT, startretries into
// LNMP_CRASH_LIMIT, loglevel, environment=); and a note for every setting
// that does not map or needs nothing, saying why. Write prints it.
//
// %(ENV_X)s expands from the environment migrate runs in, as supervisord
// expanded it from its own when it started. A variable that is not set
// there is an error, except in a command, which then refers to it as
// ${X}: the shell lnmp-init runs that command under expands it when the
// program starts.
package migrate
