#!/usr/bin/python3
"""ocicrypt "cmd" keyprovider for the libcocoimg tests.

Reads one keyprovider request (JSON) on stdin, writes the answer on
stdout; see keyprovider_common.py for what wrap/unwrap do.  Options:
  --keys FILE          offline_fs_kbc keys file (resource path -> base64 KEK)
  --kid KID            kid used when the wrap parameters name none
  --form array|base64  how byte fields are encoded (Rust / Go style)
  --fail wrap|unwrap|all   exit 3 with a message on stderr instead
  --log FILE           append each request to FILE
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import keyprovider_common  # noqa: E402


def main():
    cfg = keyprovider_common.Config(sys.argv[1:])
    raw = sys.stdin.buffer.read()
    try:
        out = keyprovider_common.handle(cfg, raw)
    except Exception as e:
        # Like a real provider that echoes too much: the redaction in the
        # client must keep this base64-looking text out of its messages.
        print("keyprovider failure: %s (input was %d bytes) "
              "c2VjcmV0LWtleS1tYXRlcmlhbC1zaG91bGQtbm90LWxlYWs=" % (e, len(raw)),
              file=sys.stderr)
        return 3
    sys.stdout.buffer.write(out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
