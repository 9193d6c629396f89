#!/bin/sh
# Builds the "postgres" tree, dumps it with `fdrestore dump --freeze`, and writes this sample (images/ and root/):
#   ./build.sh            as root, from anywhere, with PostgreSQL 15 installed (Debian's postgresql-15);
#                         uses the fdrestore launcher of this checkout, or $FDRESTORE
#
# A fresh cluster in /tmp/fdrestore-demo/postgres/data, started by pg_ctl as the user postgres, listening on
# 127.0.0.1:40127 and on the unix socket /tmp/fdrestore-demo/postgres/.s.PGSQL.40127. The tree is the
# postmaster and its five children (checkpointer, background writer, walwriter, autovacuum launcher, logical
# replication launcher), each a session leader. What they hold:
#   fd 0, 10    /dev/null;  fd 1-2  the server log (O_WRONLY|O_APPEND), shared by all
#   fd 3, 4     the postmaster's death pipe: every child holds its read end
#   fd 5, 6     the postmaster's TCP listener and unix listener
#   fd 7, 8     in each child: a signalfd, and an epoll that watches it and the death pipe
#   fd 4        in the two launchers: a relation file of the cluster (global/1262, global/6100)
set -eu
here=$(CDPATH= cd -- "$(dirname -- "$0")" && pwd)
FDRESTORE=${FDRESTORE:-$here/../../../fdrestore}
PG=/usr/lib/postgresql/15/bin
W=/tmp/fdrestore-demo/postgres
rm -rf "$W"
mkdir -p "$W"
chown postgres "$W"
cd /
runuser -u postgres -- env -i PATH=/usr/bin:/bin "$PG/initdb" -D "$W/data" -A trust >/dev/null
# No inherited fd above 2 (whatever runs this script may hold some).
python3 -c 'import os, sys; os.closerange(3, 1 << 16); os.execvp(sys.argv[1], sys.argv[1:])' \
  runuser -u postgres -- env -i PATH=/usr/bin:/bin "$PG/pg_ctl" -D "$W/data" -l "$W/log" -w \
  -o "-p 40127 -k $W -c listen_addresses=127.0.0.1" start </dev/null >/dev/null 2>&1
root=$(head -n 1 "$W/data/postmaster.pid")
shmid=$(sed -n 7p "$W/data/postmaster.pid" | awk '{print $2}') # the SysV segment a killed server leaves
sleep 2 # the launchers open their relation files once they are up

out="$here/images"
rm -rf "$out"
"$FDRESTORE" dump -t "$root" -D "$out" --freeze
# The files the images name, at their absolute paths below root/ (restore with --root root/): the log and
# the two relation files. The cwd of every task is the data directory.
rm -rf "$here/root"
mkdir -p "$here/root$W/data/global"
cp -p "$W/log" "$here/root$W/"
cp -p "$W/data/global/1262" "$W/data/global/6100" "$here/root$W/data/global/"
# Stop the server at once: a clean stop would write to the log and the relation files after the dump.
/bin/kill -KILL "$root" $(ps -o pid= --ppid "$root") || true
sleep 0.5
ipcrm -m "$shmid" 2>/dev/null || true
rm -rf "$W"
