#!/usr/bin/env python3
"""Renders the experiment file's JSON Schema (`ebm schema`) as Markdown: docs/config.md.

    python3 scripts/config_doc.py                    # regenerate docs/config.md from build/ebm schema
    python3 scripts/config_doc.py --check            # exit 1, with a diff, if docs/config.md is not up to date
    python3 scripts/config_doc.py --ebm B/ebm        # another build's ebm
    python3 scripts/config_doc.py --schema S.json -o -   # from a saved schema, to standard output

Every section and key, with its type, default, range or choices and description, in the schema's own order. Only
the Python standard library is used.
"""
import argparse
import difflib
import json
import os
import re
import subprocess
import sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
REGENERATE = "python3 scripts/config_doc.py"


def num(v):
    """A bound as written: 1.0 -> 1, 0.5 -> 0.5."""
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return json.dumps(v)


def cell(text):
    """Text that stays inside one Markdown table cell."""
    text = " ".join(str(text).split())
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("*", "\\*").replace("<", "&lt;")


def code(value):
    return "`" + json.dumps(value, ensure_ascii=False) + "`"


def types_of(node):
    t = node.get("type")
    if t is None:
        return []
    return t if isinstance(t, list) else [t]


def is_object(node):
    return "object" in types_of(node) and "properties" in node


def type_name(node):
    if "oneOf" in node:
        return "object"
    if "enum" in node:
        kinds = sorted({type(c).__name__ for c in node["enum"]})
        base = "string" if kinds == ["str"] else "value"
    else:
        ts = [t for t in types_of(node) if t != "null"]
        if not ts:
            base = "any"
        elif ts == ["array"]:
            base = "array of " + type_name(node.get("items", {}))
        else:
            base = " or ".join(ts)
    return base + (" or null" if "null" in types_of(node) else "")


def bounds(node):
    lo, hi = None, None
    if "minimum" in node:
        lo = ("[", node["minimum"])
    if "exclusiveMinimum" in node:
        lo = ("(", node["exclusiveMinimum"])
    if "maximum" in node:
        hi = ("]", node["maximum"])
    if "exclusiveMaximum" in node:
        hi = (")", node["exclusiveMaximum"])
    if lo and hi:
        return f"{lo[0]}{num(lo[1])}, {num(hi[1])}{hi[0]}"
    if lo:
        return ("≥ " if lo[0] == "[" else "> ") + num(lo[1])
    if hi:
        return ("≤ " if hi[0] == "]" else "< ") + num(hi[1])
    return ""


def constraint(node):
    """Range or choices of a key."""
    if "enum" in node:
        return ", ".join(code(c) for c in node["enum"])
    if "oneOf" in node:
        return "`type`: " + ", ".join(code(v["properties"]["type"]["const"]) for v in node["oneOf"])
    parts = []
    b = bounds(node)
    if b:
        parts.append(b)
    if "array" in types_of(node):
        lo, hi = node.get("minItems"), node.get("maxItems")
        if lo is not None and lo == hi:
            parts.append(f"{lo} items")
        elif lo is not None and hi is not None:
            parts.append(f"{lo} to {hi} items")
        elif lo is not None:
            parts.append(f"at least {lo} items")
        elif hi is not None:
            parts.append(f"at most {hi} items")
        inner = constraint(node.get("items", {}))
        if inner:
            parts.append("each " + inner)
    return "; ".join(parts)


def default_of(node):
    if "oneOf" in node and isinstance(node.get("default"), dict):
        return code(node["default"])
    if is_object(node):
        return "see below"
    if "default" in node:
        return code(node["default"])
    return ""


def slug(heading):
    """GitHub's anchor for a heading."""
    s = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return s.replace(" ", "-")


class Doc:
    def __init__(self):
        self.lines = []
        self.toc = []

    def heading(self, level, text, toc=False):
        if toc:
            self.toc.append(text)
        self.lines += [f"{'#' * level} {text}", ""]

    def para(self, text):
        if text:
            self.lines += [text, ""]

    def table(self, obj, path):
        """The keys of an object node; returns the keys that get sections of their own."""
        required = set(obj.get("required", []))
        rows, nested = [], []
        for key, node in obj["properties"].items():
            if "const" in node and len(node) == 1:  # the discriminator of a oneOf variant
                continue
            full = f"{path}.{key}" if path else key
            if is_object(node) or "oneOf" in node:
                nested.append((full, node))
            default = "**required**" if key in required else cell(default_of(node))
            rows.append(f"| `{full}` | {cell(type_name(node))} | {default} | "
                        f"{cell(constraint(node))} | {cell(node.get('description', ''))} |")
        if rows:
            self.lines += ["| key | type | default | range / choices | description |",
                           "|---|---|---|---|---|", *rows, ""]
        return nested

    def section(self, path, node, level, when=""):
        """A key whose value is an object (its table) or a choice of objects (one subsection per kind)."""
        suffix = f" (when {when})" if when else ""
        self.heading(level, f"`{path}`{suffix}", toc=level == 2)
        if "oneOf" in node:
            kinds = [v["properties"]["type"]["const"] for v in node["oneOf"]]
            default = node.get("default", {}).get("type")
            text = cell(node.get("description", "")).rstrip(".")
            text += f". `{path}.type` chooses one of: " + ", ".join(f"`{k}`" for k in kinds)
            text += f" (default `{default}`)." if default else " (required)."
            self.para(text)
            for variant in node["oneOf"]:
                kind = variant["properties"]["type"]["const"]
                cond = f'`{path}.type` = "{kind}"' + (f", {when}" if when else "")
                self.heading(min(level + 1, 6), f'`{path}.type` = "{kind}"' + suffix)
                self.para(cell(variant.get("description", "")))
                for full, sub in self.table(variant, path):
                    self.section(full, sub, min(level + 2, 6), cond)
        else:
            self.para(cell(node.get("description", "")))
            for full, sub in self.table(node, path):
                self.section(full, sub, min(level + 1, 6), when)


def render(schema):
    doc = Doc()
    doc.table({"properties": {k: v for k, v in schema["properties"].items()}}, "")
    top_table = doc.lines
    doc.lines = []
    for key, node in schema["properties"].items():
        if is_object(node) or "oneOf" in node:
            doc.section(key, node, 2)
    out = [
        "# Experiment files",
        "",
        f"<!-- Generated by `{REGENERATE}` from `ebm schema`. Do not edit: change the schema in the code "
        "and regenerate. -->",
        "",
        f"{cell(schema.get('description', '')).rstrip('.')}. An experiment file is one JSON object; every key not "
        "marked **required** may be left out and takes its default. `ebm schema` prints the JSON Schema this page "
        "is generated from, `ebm validate FILE.json --print` the file with every default filled in, and "
        "`--set path.to.key=value` (value parsed as JSON, else taken as a string) overrides one key. Where a "
        "section has kinds (`data`, `model`, ...), its `type` key chooses one, and each kind has its own keys.",
        "",
        "Sections: " + ", ".join(f"[{t.strip('`')}](#{slug(t)})" for t in doc.toc) + ".",
        "",
        "## Top level",
        "",
        *top_table,
        *doc.lines,
    ]
    while out and out[-1] == "":
        out.pop()
    return "\n".join(out) + "\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--ebm", default=os.path.join(REPO, "build", "ebm"), help="the ebm binary (default: build/ebm)")
    ap.add_argument("--schema", help="read the schema from this file instead of running ebm schema")
    ap.add_argument("-o", "--out", default=os.path.join(REPO, "docs", "config.md"),
                    help="output file, - for standard output (default: docs/config.md)")
    ap.add_argument("--check", action="store_true", help="compare with --out instead of writing it")
    args = ap.parse_args()
    if args.schema:
        with open(args.schema, encoding="utf-8") as f:
            schema = json.load(f)
    else:
        out = subprocess.run([args.ebm, "schema"], capture_output=True, text=True)
        if out.returncode != 0:
            sys.exit(f"config_doc.py: {args.ebm} schema exited {out.returncode}: {out.stderr.strip()}")
        schema = json.loads(out.stdout)
    text = render(schema)
    if args.check:
        with open(args.out, encoding="utf-8") as f:
            old = f.read()
        if old == text:
            return 0
        sys.stdout.writelines(difflib.unified_diff(old.splitlines(True), text.splitlines(True),
                                                   os.path.relpath(args.out, REPO), "ebm schema"))
        return 1
    if args.out == "-":
        sys.stdout.write(text)
    else:
        with open(args.out, "w", encoding="utf-8") as f:
            f.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
