#!/usr/bin/env python3
"""Renders deploy/nginx/nginx.conf.template into a gateway config.

Used by the local stack (instances on loopback ports) and for the cluster (Service DNS names):

    render.py --out gateway.conf --listen 127.0.0.1:8080 --state /path/state --logs /path/logs --docs /path/docs \
        --upstream auth=127.0.0.1:18101,127.0.0.1:18102 --upstream catalog=... --upstream stock=... \
        [--rate 200r/s] [--burst 400] [--auth-rate 10r/s] [--auth-burst 20]
"""
import argparse
import pathlib

TEMPLATE = pathlib.Path(__file__).with_name("nginx.conf.template")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", required=True)
    parser.add_argument("--listen", required=True, help="address:port the gateway listens on")
    parser.add_argument("--state", required=True, help="folder for nginx temp files")
    parser.add_argument("--logs", required=True, help="folder for the access and error logs")
    parser.add_argument("--docs", required=True, help="folder with openapi.json, docs.html and docs.js")
    parser.add_argument("--upstream", action="append", required=True, help="name=host:port[,host:port...]")
    parser.add_argument("--rate", default="200r/s", help="per-client sustained rate (nginx limit_req)")
    parser.add_argument("--burst", default="400", help="per-client burst")
    parser.add_argument("--auth-rate", default="10r/s", help="per-client rate of login and register")
    parser.add_argument("--auth-burst", default="20", help="per-client burst of login and register")
    args = parser.parse_args()

    upstreams = {}
    for spec in args.upstream:
        name, _, servers = spec.partition("=")
        upstreams[name] = "\n".join(
            f"        server {server} max_fails=1 fail_timeout=5s;" for server in servers.split(",") if server
        )
    missing = {"auth", "catalog", "stock"} - upstreams.keys()
    if missing:
        parser.error(f"missing --upstream for {', '.join(sorted(missing))}")

    values = {
        "LISTEN": args.listen,
        "STATE": args.state,
        "LOGS": args.logs,
        "DOCS": args.docs,
        "AUTH_SERVERS": upstreams["auth"],
        "CATALOG_SERVERS": upstreams["catalog"],
        "STOCK_SERVERS": upstreams["stock"],
        "RATE": args.rate,
        "BURST": args.burst,
        "AUTH_RATE": args.auth_rate,
        "AUTH_BURST": args.auth_burst,
    }
    text = TEMPLATE.read_text()
    for key, value in values.items():
        text = text.replace("{{" + key + "}}", value)
    if "{{" in text:
        raise SystemExit("render.py: unreplaced placeholder in the template")
    pathlib.Path(args.out).write_text(text)


if __name__ == "__main__":
    main()
