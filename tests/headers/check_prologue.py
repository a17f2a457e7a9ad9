#!/usr/bin/python3
"""Every public operation starts with the entry prologue.

An operation is a function declared in include/ as returning int and taking
a `cocoimg_ctx *` as its first argument.  Its definition under libcocoimg/
must begin with COCO_API_ENTER(<that argument>) (libcocoimg/api.h), which
refuses a NULL context and clears the context's last error.  Functions that
must not clear the error are listed in NOT_OPERATIONS with the reason.

    check_prologue.py SRCDIR
"""
import pathlib
import re
import sys

# name -> why it has no prologue
NOT_OPERATIONS = {
}

top = pathlib.Path(sys.argv[1])
decl = re.compile(r"COCOIMG_API\s+int\s+(cocoimg_\w+)\s*\(\s*cocoimg_ctx\s*\*\s*(\w+)")
ops = {}
for h in sorted(top.glob("include/**/*.h")):
    for m in decl.finditer(h.read_text()):
        ops[m.group(1)] = h.relative_to(top)

sources = {p: p.read_text() for p in sorted(top.glob("libcocoimg/**/*.c"))}
failed = 0
for name in sorted(ops):
    if name in NOT_OPERATIONS:
        continue
    # the definition: name(cocoimg_ctx *ARG, ...) { then the first statement
    defn = re.compile(r"^(?:COCOIMG_API\s+)?int\s+" + name +
                      r"\s*\(\s*cocoimg_ctx\s*\*\s*(\w+)[^;{]*\)\s*\{\s*([^;]*;)", re.M)
    hits = [(p, m) for p, s in sources.items() for m in defn.finditer(s)]
    if len(hits) != 1:
        print(f"FAIL: {name} ({ops[name]}): {len(hits)} definitions found")
        failed += 1
        continue
    path, m = hits[0]
    want = f"COCO_API_ENTER({m.group(1)});"
    if m.group(2).strip() != want:
        print(f"FAIL: {name} ({path.relative_to(top)}): first statement is "
              f"'{m.group(2).strip()}', not '{want}'")
        failed += 1
print(f"{len(ops) - len(NOT_OPERATIONS) - failed} passed, {failed} failed")
sys.exit(1 if failed else 0)
