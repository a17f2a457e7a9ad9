#!/usr/bin/python3
"""A strict checker for the JSON Schema subset docs/json-schema/ uses.

    json_schema_check.py SCHEMA DEF [FILE]   check FILE (default stdin) against
                                             SCHEMA's $defs/DEF; exit 1 on the
                                             first mismatch, naming its path
    json_schema_check.py SCHEMA --lint       check that SCHEMA uses only the
                                             keywords below

Keywords: $schema $id title description $defs $ref type properties required
additionalProperties items enum const pattern minimum oneOf anyOf.  A schema
keyword outside that list is an error (the schema would mean more than the
checker checks).  "integer" excludes booleans, as JSON does.
"""
import json
import re
import sys

KEYWORDS = {"$schema", "$id", "title", "description", "$defs", "$ref", "type", "properties",
            "required", "additionalProperties", "items", "enum", "const", "pattern", "minimum",
            "oneOf", "anyOf"}
TYPES = {
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "string": lambda v: isinstance(v, str),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
    "boolean": lambda v: isinstance(v, bool),
    "null": lambda v: v is None,
}


class Mismatch(Exception):
    pass


def lint(schema, path="#"):
    if not isinstance(schema, dict):
        raise Mismatch("%s: a schema must be an object" % path)
    unknown = set(schema) - KEYWORDS
    if unknown:
        raise Mismatch("%s: keywords the checker does not know: %s" % (path, sorted(unknown)))
    for k in ("properties", "$defs"):
        for name, sub in schema.get(k, {}).items():
            lint(sub, "%s/%s/%s" % (path, k, name))
    for k in ("items",):
        if k in schema:
            lint(schema[k], path + "/" + k)
    if isinstance(schema.get("additionalProperties"), dict):
        lint(schema["additionalProperties"], path + "/additionalProperties")
    for k in ("oneOf", "anyOf"):
        for i, sub in enumerate(schema.get(k, [])):
            lint(sub, "%s/%s/%d" % (path, k, i))
    for t in ([schema["type"]] if isinstance(schema.get("type"), str) else schema.get("type", [])):
        if t not in TYPES:
            raise Mismatch("%s: unknown type %r" % (path, t))


class Checker:
    def __init__(self, root):
        self.root = root

    def resolve(self, ref):
        if not ref.startswith("#/"):
            raise Mismatch("only local references are supported: %s" % ref)
        node = self.root
        for part in ref[2:].split("/"):
            node = node[part]
        return node

    def check(self, schema, v, path):
        if "$ref" in schema:
            self.check(self.resolve(schema["$ref"]), v, path)
        t = schema.get("type")
        if t is not None:
            ts = [t] if isinstance(t, str) else t
            if not any(TYPES[x](v) for x in ts):
                raise Mismatch("%s: %s is not of type %s" % (path, json.dumps(v)[:80], "/".join(ts)))
        if "enum" in schema and not any(self.same(v, e) for e in schema["enum"]):
            raise Mismatch("%s: %s is not one of %s" % (path, json.dumps(v)[:80], schema["enum"]))
        if "const" in schema and not self.same(v, schema["const"]):
            raise Mismatch("%s: %s is not %s" % (path, json.dumps(v)[:80], json.dumps(schema["const"])))
        if "pattern" in schema and isinstance(v, str) and not re.search(schema["pattern"], v):
            raise Mismatch("%s: %r does not match %s" % (path, v[:80], schema["pattern"]))
        if "minimum" in schema and TYPES["number"](v) and v < schema["minimum"]:
            raise Mismatch("%s: %s is below %s" % (path, v, schema["minimum"]))
        if isinstance(v, dict):
            self.check_object(schema, v, path)
        if isinstance(v, list) and "items" in schema:
            for i, x in enumerate(v):
                self.check(schema["items"], x, "%s[%d]" % (path, i))
        if "anyOf" in schema:
            errs = self.matches(schema["anyOf"], v, path)
            if len(errs) == len(schema["anyOf"]):
                raise Mismatch("%s: matches none of anyOf: %s" % (path, "; ".join(errs)))
        if "oneOf" in schema:
            errs = self.matches(schema["oneOf"], v, path)
            ok = len(schema["oneOf"]) - len(errs)
            if ok != 1:
                raise Mismatch("%s: matches %d of oneOf, not exactly one%s" %
                               (path, ok, (": " + "; ".join(errs)) if errs else ""))

    def check_object(self, schema, v, path):
        for k in schema.get("required", []):
            if k not in v:
                raise Mismatch("%s: required field %r is missing" % (path, k))
        props = schema.get("properties", {})
        extra = schema.get("additionalProperties", True)
        for k, x in v.items():
            if k in props:
                self.check(props[k], x, "%s.%s" % (path, k))
            elif extra is False:
                raise Mismatch("%s: unknown field %r" % (path, k))
            elif isinstance(extra, dict):
                self.check(extra, x, "%s.%s" % (path, k))

    def matches(self, subs, v, path):
        errs = []
        for sub in subs:
            try:
                self.check(sub, v, path)
            except Mismatch as e:
                errs.append(str(e))
        return errs

    @staticmethod
    def same(a, b):
        return type(a) is type(b) and a == b or (
            TYPES["integer"](a) and TYPES["integer"](b) and a == b)


def main():
    schema = json.load(open(sys.argv[1]))
    try:
        lint(schema)
        if sys.argv[2] == "--lint":
            return 0
        if sys.argv[2] not in schema.get("$defs", {}):
            raise Mismatch("the schema has no $defs/%s" % sys.argv[2])
        text = open(sys.argv[3]).read() if len(sys.argv) > 3 else sys.stdin.read()
        if text.count("\n") != 1 or not text.endswith("\n"):
            raise Mismatch("stdout is not exactly one line (%d newlines)" % text.count("\n"))
        doc = json.loads(text)
        Checker(schema).check({"$ref": "#/$defs/" + sys.argv[2]}, doc, "$")
    except Mismatch as e:
        print("schema %s: %s" % (sys.argv[2], e), file=sys.stderr)
        return 1
    except ValueError as e:
        print("not JSON: %s" % e, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
