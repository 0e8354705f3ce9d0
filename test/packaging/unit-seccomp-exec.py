#!/usr/bin/python3
"""Runs a command under the system call and address family filters of a systemd unit file.

Usage: unit-seccomp-exec.py UNIT_FILE -- COMMAND [ARG...]

What systemd would install for the unit's SystemCallFilter=, SystemCallErrorNumber= and
RestrictAddressFamilies= lines, rebuilt with libseccomp (python3-seccomp) from the unit file
itself and `systemd-analyze syscall-filter`, so a test can run the daemon under the unit's
filter on a machine where systemd is not PID 1. Needs no_new_privs or CAP_SYS_ADMIN.
"""
import errno
import os
import socket
import subprocess
import sys

import seccomp


def group_members(name, seen):
    """Expands a systemd syscall group (@name) into syscall names, recursively."""
    if name in seen:
        return set()
    seen.add(name)
    out = subprocess.run(
        ["systemd-analyze", "syscall-filter", "--no-pager", name],
        capture_output=True, text=True, check=True,
    ).stdout
    names = set()
    for line in out.splitlines()[1:]:
        item = line.strip()
        if not item or item.startswith("#"):
            continue
        names |= group_members(item, seen) if item.startswith("@") else {item}
    return names


def expand(items):
    names = set()
    for item in items:
        names |= group_members(item, set()) if item.startswith("@") else {item}
    return names


def unit_settings(path):
    settings = {}
    section = None
    with open(path, encoding="utf-8") as f:
        for raw in f:
            line = raw.strip()
            if line.startswith("["):
                section = line
            elif section == "[Service]" and "=" in line and not line.startswith("#"):
                key, value = line.split("=", 1)
                settings.setdefault(key, []).append(value)
    return settings


def main():
    if len(sys.argv) < 4 or sys.argv[2] != "--":
        sys.exit(__doc__)
    settings = unit_settings(sys.argv[1])
    command = sys.argv[3:]

    # SystemCallFilter= lines: the first allow list sets it, "~" lines take names out.
    allowed = set()
    for value in settings.get("SystemCallFilter", []):
        if value.startswith("~"):
            allowed -= expand(value[1:].split())
        else:
            allowed |= expand(value.split())
    err_name = (settings.get("SystemCallErrorNumber") or ["EPERM"])[-1]
    deny = seccomp.ERRNO(getattr(errno, err_name)) if err_name != "kill" else seccomp.KILL
    families = set()
    for value in settings.get("RestrictAddressFamilies", []):
        families |= {getattr(socket, fam) for fam in value.split()}

    f = seccomp.SyscallFilter(defaction=deny)
    unknown = []
    for name in sorted(allowed):
        if name == "socket" and families:
            continue
        try:
            f.add_rule(seccomp.ALLOW, name)
        except (RuntimeError, ValueError, OSError):
            unknown.append(name)  # not a syscall on this architecture
    # Like systemd, other families fail with EAFNOSUPPORT (not the filter's errno): libpcap
    # probes Bluetooth, USB and other sockets when it lists devices and skips only that error.
    if families:
        top = max(int(fam) for fam in families)
        no_family = seccomp.ERRNO(errno.EAFNOSUPPORT)
        for value in range(top + 1):
            action = seccomp.ALLOW if value in families else no_family
            f.add_rule(action, "socket", seccomp.Arg(0, seccomp.EQ, value))
        f.add_rule(no_family, "socket", seccomp.Arg(0, seccomp.GT, top))
    f.load()
    os.execvp(command[0], command)


if __name__ == "__main__":
    main()
