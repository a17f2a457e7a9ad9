#!/usr/bin/python3
"""Interrupt a coco-img run at a chosen point, deterministically.

usage: interrupt.py SIGNAL WATCH MIN_BYTES -- COMMAND...

Starts COMMAND, polls until a regular file of at least MIN_BYTES exists
somewhere under (or as) an entry of WATCH's parent whose name matches
WATCH's basename as a glob (MIN_BYTES 0: the entry itself is enough;
NAME:BYTES: a file called NAME of at least BYTES; WATCH fd:GLOB: a file
the process has open whose /proc/PID/fd link matches GLOB, such as an
unnamed O_TMPFILE file, "DIR/#* (deleted)"), then stops the process
(SIGSTOP), sends SIGNAL (INT or TERM) and lets it go on (SIGCONT): the
signal always arrives in the middle of the work.  SIGNAL KILL is sent
without the stop (nothing of the process runs after it).  SIGNAL STOP
stops it there, writes its pid to the file $INTERRUPT_STOPPED, waits for
the file $INTERRUPT_GO to appear and lets it go on (SIGCONT).  Prints
COMMAND's exit status (-9 when killed); 'finished-too-early' (exit 2) when
it ended before the point was reached.
"""
import fnmatch, os, signal, subprocess, sys, time

def big_enough(path, name, min_bytes):
    if name and os.path.basename(path) != name:
        return False
    try:
        return os.lstat(path).st_size >= min_bytes
    except FileNotFoundError:
        return False

def open_file_reached(pid, pattern, min_bytes):
    fds = "/proc/%d/fd" % pid
    try:
        entries = os.listdir(fds)
    except FileNotFoundError:
        return False
    for e in entries:
        p = os.path.join(fds, e)
        try:
            if fnmatch.fnmatch(os.readlink(p), pattern) and os.stat(p).st_size >= min_bytes:
                return True
        except OSError:
            pass
    return False

def reached(watch, point, pid):
    name, _, size = point.rpartition(":")
    min_bytes = int(size)
    if watch.startswith("fd:"):
        return open_file_reached(pid, watch[3:], min_bytes)
    parent, pat = os.path.split(watch)
    try:
        names = [n for n in os.listdir(parent) if fnmatch.fnmatch(n, pat)]
    except FileNotFoundError:
        return False
    for n in names:
        top = os.path.join(parent, n)
        if min_bytes == 0 and not name:
            return True
        if os.path.isfile(top) and big_enough(top, name, min_bytes):
            return True
        for root, _, files in os.walk(top):
            for f in files:
                if big_enough(os.path.join(root, f), name, min_bytes):
                    return True
    return False

def main():
    sig = {"INT": signal.SIGINT, "TERM": signal.SIGTERM, "KILL": signal.SIGKILL,
           "STOP": signal.SIGSTOP}[sys.argv[1]]
    watch, point = sys.argv[2], sys.argv[3]
    cmd = sys.argv[sys.argv.index("--") + 1:]
    p = subprocess.Popen(cmd)
    deadline = time.monotonic() + 60
    while not reached(watch, point, p.pid):
        if p.poll() is not None or time.monotonic() > deadline:
            p.wait()
            print("finished-too-early", p.returncode)
            return 2
        time.sleep(0.001)
    if sig == signal.SIGKILL:
        p.kill()
    elif sig == signal.SIGSTOP:
        p.send_signal(signal.SIGSTOP)
        with open(os.environ["INTERRUPT_STOPPED"], "w") as f:
            f.write(str(p.pid))
        while not os.path.exists(os.environ["INTERRUPT_GO"]):
            time.sleep(0.01)
        p.send_signal(signal.SIGCONT)
    else:
        p.send_signal(signal.SIGSTOP)
        p.send_signal(sig)
        p.send_signal(signal.SIGCONT)
    print(p.wait())
    return 0

sys.exit(main())
