#!/usr/bin/env python3
"""Write coco-img(1) from docs/coco-img.1.in and the tool's own help.

usage: gen-man.py COCO_IMG TEMPLATE OUTPUT

The COMMANDS section is made from `coco-img --help` (the command list) and
`coco-img help COMMAND` (synopsis, description, options, examples), so the
man page lists exactly the commands and options --help shows.  The other
sections (exit status, environment, files) are written in the template.
"""
import re
import subprocess
import sys


def roff(text):
    """Escape text for a roff line body."""
    text = text.replace("\\", "\\e").replace("-", "\\-")
    if text.startswith((".", "'")):
        text = "\\&" + text
    return text


def helptext(exe, *args):
    return subprocess.run([exe, *args], check=True, capture_output=True, text=True).stdout


def commands(exe):
    out, on = [], False
    for line in helptext(exe, "--help").splitlines():
        if line.startswith("Commands:"):
            on = True
        elif on and not line.strip():
            break
        elif on:
            name, _, brief = line.strip().partition(" ")
            out.append((name, brief.strip()))
    return out


OPT = re.compile(r"^  (-\S+(?: [A-Z][^ ]*)?) +(\S.*)$")


def command_section(exe, name, brief):
    lines = helptext(exe, "help", name).splitlines()
    usage = lines[0].replace("Usage: ", "", 1)
    body, i = [], 2
    while i < len(lines) and lines[i].strip():
        body.append(lines[i].strip())
        i += 1
    out = [".SS " + roff(name), roff(brief) + ".", ".PP", ".B " + roff(usage), ".PP",
           roff(" ".join(body))]
    heading = None
    for line in lines[i:]:
        if not line.strip():
            continue
        if not line.startswith(" "):
            heading = line.rstrip(":")
        if heading.startswith("Global options"):
            continue                # listed once, under GLOBAL OPTIONS
        if not line.startswith(" "):
            out += [".PP", ".I " + roff(heading)]
            if heading.startswith("Examples"):
                out.append(".RS 4\n.nf")
            continue
        if heading and heading.startswith("Examples"):
            out.append(roff(line.strip()))
            continue
        m = OPT.match(line)
        if m:
            out += [".TP", ".B " + roff(m.group(1)), roff(m.group(2))]
        else:
            out.append(roff(line.strip()))
    if heading and heading.startswith("Examples"):
        out.append(".fi\n.RE")
    # a heading with nothing under it (a command without options) goes
    for k in range(len(out) - 2, 0, -1):
        if out[k].startswith(".I ") and out[k - 1] == ".PP" and out[k + 1] == ".PP":
            del out[k - 1:k + 1]
    return "\n".join(out)


def global_options(exe, name):
    """The global options block of one command's help, as .TP items."""
    out, on = [], False
    for line in helptext(exe, "help", name).splitlines():
        if line.startswith("Global options"):
            on = True
        elif on and not line.startswith(" "):
            break
        elif on:
            m = OPT.match(line)
            if m:
                out += [".TP", ".B " + roff(m.group(1)), roff(m.group(2))]
    return "\n".join(out)


def main():
    exe, template, output = sys.argv[1:4]
    cmds = commands(exe)
    sections = [command_section(exe, n, b) for n, b in cmds]
    text = open(template, encoding="utf-8").read()
    text = text.replace("@GLOBAL_OPTIONS@", global_options(exe, cmds[0][0]))
    text = text.replace("@COMMANDS@", "\n".join(sections))
    with open(output, "w", encoding="utf-8") as f:
        f.write(text)


if __name__ == "__main__":
    main()
