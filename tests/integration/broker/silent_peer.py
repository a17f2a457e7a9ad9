#!/usr/bin/python3
"""A peer that never answers: it listens on a loopback TCP port and on a
unix socket and accepts nothing, so connections succeed (the kernel's
backlog) and every request waits forever.  Prints "PORT N" when ready."""
import socket
import sys
import time

path = sys.argv[1]
tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
tcp.bind(("127.0.0.1", 0))
tcp.listen(64)
unx = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
unx.bind(path)
unx.listen(64)
print("PORT", tcp.getsockname()[1], flush=True)
while True:
    time.sleep(3600)
