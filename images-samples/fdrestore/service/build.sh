#!/bin/sh
# Builds the "service" tree, dumps it with `fdrestore dump --freeze`, and writes this sample (images/ and root/):
#   ./build.sh            as root, from anywhere; uses the fdrestore launcher of this checkout, or $FDRESTORE
#
# The service is one session of 4 processes; each runs a real command, so a restore can run them again:
#   sleep 100000 (root)   the shell that set everything up, then exec'd sleep; a session and group leader
#   ├─ sleep 100000       the producer: wrote 200 records (2090 bytes) into the pipe, then exec'd sleep
#   └─ sh -c 'sleep 30; exec cat >&3'
#      └─ sleep 30        the consumer has not read yet: the 2090 bytes are in flight in the pipe
# Every process holds, inherited from the root:
#   fd 0-2  /dev/null
#   fd 3    /tmp/fdrestore-demo/service/service.log, O_WRONLY|O_APPEND (where the consumer will write)
#   fd 4    /tmp/fdrestore-demo/service/config.txt, O_RDONLY, read up to offset 12 (one shared position)
#   fd 5    /tmp/fdrestore-demo/service/scratch, O_RDWR, 14 bytes, unlinked: a deleted file (ghost-file image)
# and the pipe: the producer's fd 1 (write end), the consumer's fd 0 (read end). The cwd of every task is /.
set -eu
here=$(CDPATH= cd -- "$(dirname -- "$0")" && pwd)
FDRESTORE=${FDRESTORE:-$here/../../../fdrestore}
W=/tmp/fdrestore-demo/service
rm -rf "$W"
mkdir -p "$W"
cd "$W"
printf 'service started\n' > service.log
printf 'threads=4\nlevel=debug\nport=40125\n' > config.txt

# No inherited fd above 2 (whatever runs this script may hold some), and a session of its own.
python3 -c 'import os, sys; os.closerange(3, 1 << 16); os.execvp(sys.argv[1], sys.argv[1:])' setsid sh -c '
  exec 3>>service.log
  exec 4<config.txt
  head -c 12 <&4 >/dev/null
  exec 5<>scratch
  printf "scratch space\n" >&5
  rm scratch
  cd /
  { i=0; while [ $i -lt 200 ]; do echo "record $i"; i=$((i+1)); done; exec sleep 100000; } \
    | sh -c "sleep 30; exec cat >&3" &
  exec sleep 100000
' </dev/null >/dev/null 2>&1 &
root=$!
sleep 1
# setsid(1) forks when it cannot make its caller a session leader: then the service is its child.
if [ "$(ps -o sid= -p "$root" | tr -d ' ')" != "$root" ]; then
  root=$(ps -o pid= --ppid "$root" | head -n 1 | tr -d ' ')
fi

out="$here/images"
rm -rf "$out"
"$FDRESTORE" dump -t "$root" -D "$out" --freeze
# The files the images name, at their absolute paths below root/ (restore with --root root/).
rm -rf "$here/root"
mkdir -p "$here/root$W"
cp -p service.log config.txt "$here/root$W/"
# Stop the service: its process group (a shell without job control keeps the pipeline in it).
/bin/kill -KILL -- "-$root" || true
