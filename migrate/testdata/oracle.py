"""Prints what supervisord itself reads from a config, as JSON: the test
oracle for the migrate package. Usage: python3 oracle.py CONFIG"""
import json
import os
import shlex
import sys

from supervisor import datatypes
from supervisor.options import ServerOptions


def restart(v):
    if v is datatypes.RestartUnconditionally:
        return "true"
    if v is datatypes.RestartWhenExitUnexpected:
        return "unexpected"
    return "false"


def split(command):
    # supervisord splits a command when it spawns it; one it cannot split
    # fails then, not when the config is read.
    try:
        return shlex.split(command)
    except ValueError:
        return None


def main(path):
    opts = ServerOptions()
    opts.configfile = path
    opts.here = os.path.abspath(os.path.dirname(path))
    section = opts.read_config(path)
    out = {"supervisord_environment": section.environment, "programs": []}
    for group in section.process_group_configs:
        if type(group).__name__ != "ProcessGroupConfig":
            continue
        for p in group.process_configs:
            out["programs"].append({
                "name": p.name,
                "group": group.name,
                "command": p.command,
                "argv": split(p.command),
                "directory": p.directory or "",
                "environment": p.environment,
                "priority": p.priority,
                "autostart": p.autostart,
                "autorestart": restart(p.autorestart),
                "exitcodes": p.exitcodes,
                "startsecs": p.startsecs,
                "startretries": p.startretries,
                "stopsignal": p.stopsignal,
                "stopwaitsecs": p.stopwaitsecs,
                "stopasgroup": p.stopasgroup,
                "killasgroup": p.killasgroup,
                "uid": p.uid,
            })
    json.dump(out, sys.stdout, indent=1, sort_keys=True)


if __name__ == "__main__":
    main(sys.argv[1])
