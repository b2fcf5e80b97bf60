#!/usr/bin/python3
"""openapi_split.py YAML OUTDIR - writes the OpenAPI document as JSON once whole
(innbocks.json) and once per audience: innbocks-partner.json (the Partner API,
/healthz, the webhook events) and innbocks-operator.json (the operator API and
/healthz, /metrics). Each audience's document keeps only the tags, security schemes and
components its operations reach, so a client generated from it holds nothing of
the other API. openapi/innbocks.yaml stays the one document to edit."""
import copy
import json
import os
import sys

import yaml

AUDIENCES = {
    "partner": {
        "title": "Innbocks Partner API (partners)",
        "paths": ("/api/v1/", "/healthz"),
        "webhooks": True,
    },
    "operator": {
        "title": "Innbocks operator API (Innbocks staff)",
        "paths": ("/admin/v1/", "/healthz", "/metrics"),
        "webhooks": False,
    },
}
METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")


def refs(node, found):
    """Adds every local $ref under node to found (as component (kind, name) pairs)."""
    if isinstance(node, dict):
        r = node.get("$ref")
        if isinstance(r, str) and r.startswith("#/components/"):
            kind, name = r[len("#/components/"):].split("/", 1)
            found.add((kind, name))
        for v in node.values():
            refs(v, found)
    elif isinstance(node, list):
        for v in node:
            refs(v, found)


def audience(doc, spec):
    """Returns the document cut down to the paths, webhooks and components of one audience."""
    out = copy.deepcopy(doc)
    out["info"]["title"] = spec["title"]
    out["paths"] = {p: v for p, v in doc["paths"].items() if p.startswith(spec["paths"])}
    if not spec["webhooks"]:
        out.pop("webhooks", None)
    # Components reached from the paths and webhooks, transitively.
    roots = {k: out[k] for k in ("paths", "webhooks", "x-global-responses") if k in out}
    need = set()
    refs(roots, need)
    todo = list(need)
    while todo:
        kind, name = todo.pop()
        more = set()
        refs(doc["components"][kind][name], more)
        for m in more - need:
            need.add(m)
            todo.append(m)
    schemes = set()
    tags = set()
    for item in list(out["paths"].values()) + list(out.get("webhooks", {}).values()):
        for method in METHODS:
            op = item.get(method)
            if op:
                tags.update(op.get("tags", []))
                for req in op.get("security", doc.get("security", [])):
                    schemes.update(req)
    comps = {}
    for kind, entries in doc["components"].items():
        keep = {n: v for n, v in entries.items()
                if (kind, n) in need or (kind == "securitySchemes" and n in schemes)}
        if keep:
            comps[kind] = keep
    out["components"] = comps
    if "security" in out:
        out["security"] = [r for r in out["security"] if set(r) <= schemes]
    out["tags"] = [t for t in doc.get("tags", []) if t["name"] in tags]
    groups = []
    for g in doc.get("x-tagGroups", []):
        kept = [t for t in g["tags"] if t in tags]
        if kept:
            groups.append(dict(g, tags=kept))
    out["x-tagGroups"] = groups
    return out


def main():
    src, outdir = sys.argv[1], sys.argv[2]
    with open(src, encoding="utf-8") as f:
        doc = yaml.safe_load(f)
    os.makedirs(outdir, exist_ok=True)
    docs = {"innbocks.json": doc}
    for name, spec in AUDIENCES.items():
        docs["innbocks-%s.json" % name] = audience(doc, spec)
    for name, d in docs.items():
        with open(os.path.join(outdir, name), "w", encoding="utf-8") as f:
            json.dump(d, f, indent=2, ensure_ascii=False)
            f.write("\n")


if __name__ == "__main__":
    main()
