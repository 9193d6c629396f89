#!/bin/sh
# Builds the "kinds" tree (kinds.py: epoll, timerfd, a TCP listener, UDP, an O_APPEND file, a pipe with data),
# dumps it with `fdrestore dump --freeze`, and writes this sample (images/ and root/):
#   ./build.sh            as root, from anywhere; uses the fdrestore launcher of this checkout, or $FDRESTORE
# Ports 127.0.0.1:40125 (TCP) and 40126 (UDP) must be free.
set -eu
here=$(CDPATH= cd -- "$(dirname -- "$0")" && pwd)
FDRESTORE=${FDRESTORE:-$here/../../../fdrestore}
W=/tmp/fdrestore-demo/kinds
rm -rf "$W"
mkdir -p "$W"
: > "$W/events.log"
python3 "$here/kinds.py" "$W" </dev/null >/dev/null 2>&1 &
root=$!
sleep 1
out="$here/images"
rm -rf "$out"
"$FDRESTORE" dump -t "$root" -D "$out" --freeze
rm -rf "$here/root"
mkdir -p "$here/root$W"
cp -p "$W/events.log" "$here/root$W/"
/bin/kill -KILL -- "-$root" || true
