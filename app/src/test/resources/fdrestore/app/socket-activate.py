#!/usr/bin/env python3
# Test shim of systemd's socket activation (sd_listen_fds(3), a socket unit with Accept=no): binds a unix
# stream socket at PATH (mode 0600), says "shim: listening", waits for the first connection, then puts the
# socket at fd 3 and execs COMMAND with LISTEN_FDS=1, LISTEN_PID=its own pid (exec keeps it) and
# LISTEN_FDNAMES, as systemd starts the service of fdrestore.socket.
# Usage: socket-activate.py PATH COMMAND [ARG...]
import os
import select
import socket
import sys

path, cmd = sys.argv[1], sys.argv[2:]
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
mask = os.umask(0o077)
s.bind(path)
os.umask(mask)
s.listen(64)
print("shim: listening", flush=True)
select.select([s], [], [])
if s.fileno() != 3:
    os.dup2(s.fileno(), 3)
os.set_inheritable(3, True)
os.environ.update(LISTEN_FDS="1", LISTEN_PID=str(os.getpid()), LISTEN_FDNAMES="fdrestore.socket")
os.execv(cmd[0], cmd)
