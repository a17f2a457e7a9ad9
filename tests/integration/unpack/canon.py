#!/usr/bin/python3
"""Print a canonical listing of a root filesystem, for comparing unpackers.

usage: canon.py ROOTFS [--no-owner] [--full]

One line per path (sorted, the root itself excluded):
  PATH TYPE MODE UID:GID SIZE TARGET SHA256 LINKGROUP
MODE includes set-uid/set-gid/sticky (not for symlinks); SIZE and SHA256 only
for regular files; TARGET for symlinks; LINKGROUP names the first path
sharing the inode for regular files with several links.  Times are not
listed (directory times depend on when later layers touched them), unless
--full: then each line ends with the modification time (ns; not for
directories, whose times change whenever an entry is added later) and the
xattrs (name=value, sorted).
"""
import hashlib, os, stat, sys

def main():
    root = sys.argv[1]
    owner = "--no-owner" not in sys.argv
    full = "--full" in sys.argv
    entries = []
    for dp, dns, fns, in [(a, b, c) for a, b, c in os.walk(root)]:
        for n in dns + fns:
            entries.append(os.path.join(dp, n))
    entries.sort()
    inodes = {}
    for p in entries:
        st = os.lstat(p)
        rel = os.path.relpath(p, root)
        m = st.st_mode
        if stat.S_ISREG(m): t = "f"
        elif stat.S_ISDIR(m): t = "d"
        elif stat.S_ISLNK(m): t = "l"
        elif stat.S_ISFIFO(m): t = "p"
        elif stat.S_ISCHR(m): t = "c%d,%d" % (os.major(st.st_rdev), os.minor(st.st_rdev))
        elif stat.S_ISBLK(m): t = "b%d,%d" % (os.major(st.st_rdev), os.minor(st.st_rdev))
        else: t = "?"
        mode = "-" if t == "l" else "%04o" % stat.S_IMODE(m)
        own = "%d:%d" % (st.st_uid, st.st_gid) if owner else "-"
        size = target = digest = group = "-"
        if t == "f":
            size = str(st.st_size)
            h = hashlib.sha256()
            with open(p, "rb") as f:
                for b in iter(lambda: f.read(1 << 20), b""):
                    h.update(b)
            digest = h.hexdigest()[:16]
            if st.st_nlink > 1:
                group = inodes.setdefault((st.st_dev, st.st_ino), rel)
        elif t == "l":
            target = os.readlink(p)
        if full:
            xs = sorted("%s=%s" % (x, os.getxattr(p, x, follow_symlinks=False).hex())
                        for x in os.listxattr(p, follow_symlinks=False))
            mt = "-" if t == "d" else st.st_mtime_ns
            print(rel, t, mode, own, size, target, digest, group, mt, ",".join(xs) or "-")
        else:
            print(rel, t, mode, own, size, target, digest, group)

main()
