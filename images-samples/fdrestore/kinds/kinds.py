"""The "kinds" tree: one of each kind fdrestore dumps besides regular files and pipes.

Run by build.sh (python3 kinds.py WORKDIR). The root (a session leader) holds:
  fd 3,4  a pipe, 5 bytes queued in it
  fd 5    an epoll watching fd 3 (EPOLLIN, data 0x3) and fd 6 (EPOLLIN, data 0x6)
  fd 6    a timerfd on CLOCK_MONOTONIC, armed: first expiry in 3600 s, then every 3600 s
  fd 7    a timerfd on CLOCK_REALTIME, disarmed, O_NONBLOCK
  fd 8    a TCP listener on 127.0.0.1:40125, backlog 16, SO_REUSEADDR
  fd 9    a UDP socket bound to 127.0.0.1:40126
  fd 10   WORKDIR/events.log, O_WRONLY|O_APPEND
and forks one child, which inherits them all and closes the UDP socket.
"""
import ctypes
import os
import select
import socket
import sys
import time

work = sys.argv[1]
libc = ctypes.CDLL(None, use_errno=True)


class Timespec(ctypes.Structure):
    _fields_ = [("sec", ctypes.c_long), ("nsec", ctypes.c_long)]


class Itimerspec(ctypes.Structure):
    _fields_ = [("interval", Timespec), ("value", Timespec)]


os.closerange(3, 1 << 16)
os.setsid()
r, w = os.pipe()
os.write(w, b"wake\n")
ep = select.epoll()
assert ep.fileno() == 5
armed = libc.timerfd_create(1, 0)
libc.timerfd_settime(armed, 0, ctypes.byref(Itimerspec(Timespec(3600, 0), Timespec(3600, 0))), None)
idle = libc.timerfd_create(0, os.O_NONBLOCK)
ep.register(r, select.EPOLLIN)
ep.register(armed, select.EPOLLIN)
tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
tcp.bind(("127.0.0.1", 40125))
tcp.listen(16)
udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
udp.bind(("127.0.0.1", 40126))
log = os.open(os.path.join(work, "events.log"), os.O_WRONLY | os.O_APPEND)
os.write(log, b"kinds tree up\n")
os.chdir("/")
for f in (r, w, ep.fileno(), armed, idle, tcp.fileno(), udp.fileno(), log):
    os.set_inheritable(f, True)
if os.fork() == 0:
    udp.close()
    time.sleep(100000)
    os._exit(0)
time.sleep(100000)
