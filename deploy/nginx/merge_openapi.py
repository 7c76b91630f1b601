#!/usr/bin/env python3
"""Merges the services' OpenAPI documents into the one the gateway serves at /openapi.json.

    merge_openapi.py --out openapi.json URL_OR_FILE [URL_OR_FILE ...]

Paths, schemas, security schemes and tags are united; a schema defined twice must be identical.
"""
import argparse
import json
import sys
import urllib.request


def load(source: str) -> dict:
    if source.startswith("http://") or source.startswith("https://"):
        with urllib.request.urlopen(source, timeout=10) as response:
            return json.load(response)
    with open(source) as f:
        return json.load(f)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", required=True)
    parser.add_argument("sources", nargs="*")
    args = parser.parse_args()

    merged = {
        "openapi": "3.1.0",
        "info": {
            "title": "Inventory API",
            "version": "1.0.0",
            "description": "Multi-store inventory: auth, catalog (products and stores), stock levels and "
            "movements, and reports. Every route goes through this gateway; errors are application/problem+json.",
        },
        "servers": [{"url": "/"}],
        "paths": {},
        "components": {"schemas": {}, "securitySchemes": {}},
        "security": [],
        "tags": [],
    }
    for source in args.sources:
        doc = load(source)
        for path, item in doc.get("paths", {}).items():
            if path in merged["paths"]:
                sys.exit(f"merge_openapi: {path} is described by two services")
            merged["paths"][path] = item
        for kind in ("schemas", "securitySchemes"):
            for name, value in doc.get("components", {}).get(kind, {}).items():
                existing = merged["components"][kind].get(name)
                if existing is not None and existing != value:
                    sys.exit(f"merge_openapi: components.{kind}.{name} differs between services")
                merged["components"][kind][name] = value
        for requirement in doc.get("security", []):
            if requirement not in merged["security"]:
                merged["security"].append(requirement)
        for tag in doc.get("tags", []):
            if tag["name"] not in {t["name"] for t in merged["tags"]}:
                merged["tags"].append(tag)
    with open(args.out, "w") as f:
        json.dump(merged, f, indent=1)


if __name__ == "__main__":
    main()
