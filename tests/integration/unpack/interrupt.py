#!/usr/bin/python3
"""Interrupt a coco-img run at a chosen point, deterministically.

usage: interrupt.py SIGNAL WATCH MIN_BYTES -- COMMAND...

Starts COMMAND, polls until a regular file of at least MIN_BYTES exists
somewhere under a directory entry of WATCH's parent whose name matches
WATCH's basename as a glob (MIN_BYTES 0: the entry itself is enough), then
stops the process (SIGSTOP), sends SIGNAL (INT or TERM) and lets it go on
(SIGCONT): the signal always arrives in the middle of the work.  Prints
COMMAND's exit status; 'finished-too-early' (exit 2) when it ended before
the point was reached.
"""
import fnmatch, os, signal, subprocess, sys, time

def reached(watch, min_bytes):
    parent, pat = os.path.split(watch)
    try:
        names = [n for n in os.listdir(parent) if fnmatch.fnmatch(n, pat)]
    except FileNotFoundError:
        return False
    for n in names:
        top = os.path.join(parent, n)
        if min_bytes == 0:
            return True
        for root, _, files in os.walk(top):
            for f in files:
                try:
                    if os.lstat(os.path.join(root, f)).st_size >= min_bytes:
                        return True
                except FileNotFoundError:
                    pass
    return False

def main():
    sig = {"INT": signal.SIGINT, "TERM": signal.SIGTERM}[sys.argv[1]]
    watch, min_bytes = sys.argv[2], int(sys.argv[3])
    cmd = sys.argv[sys.argv.index("--") + 1:]
    p = subprocess.Popen(cmd)
    deadline = time.monotonic() + 60
    while not reached(watch, min_bytes):
        if p.poll() is not None or time.monotonic() > deadline:
            p.wait()
            print("finished-too-early", p.returncode)
            return 2
        time.sleep(0.001)
    p.send_signal(signal.SIGSTOP)
    p.send_signal(sig)
    p.send_signal(signal.SIGCONT)
    print(p.wait())
    return 0

sys.exit(main())
