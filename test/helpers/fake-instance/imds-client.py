#!/usr/bin/env python3
"""An IMDS client written with Python's standard library only (urllib), as scripts on real
hosts are. --flow v1: token-less GETs. --flow v2: token PUT then GETs with the token.
--flow auto: v2, falling back to v1 when the token PUT gets no answer (a script's fallback).

Prints one JSON line: which flow was used and a SHA-256 of the credentials it read (never the
credentials or the token themselves).
"""
import argparse
import hashlib
import json
import sys
import urllib.error
import urllib.request


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--flow", choices=["v1", "v2", "auto"], default="v2")
    p.add_argument("--ipv6", action="store_true")
    p.add_argument("--timeout", type=float, default=1.0)
    args = p.parse_args()
    base = "http://[fd00:ec2::254]" if args.ipv6 else "http://169.254.169.254"
    headers = {}
    used = "v1"
    if args.flow in ("v2", "auto"):
        req = urllib.request.Request(
            base + "/latest/api/token",
            method="PUT",
            headers={"X-aws-ec2-metadata-token-ttl-seconds": "21600"},
        )
        try:
            with urllib.request.urlopen(req, timeout=args.timeout) as r:
                headers["X-aws-ec2-metadata-token"] = r.read().decode()
                used = "v2"
        except (urllib.error.URLError, TimeoutError, OSError) as e:
            if args.flow == "v2":
                print(json.dumps({"ok": False, "flow": "v2", "error": type(e).__name__}))
                return 1
            used = "v1-fallback"

    def get(path):
        req = urllib.request.Request(base + path, headers=headers)
        with urllib.request.urlopen(req, timeout=args.timeout) as r:
            return r.read().decode()

    try:
        role = get("/latest/meta-data/iam/security-credentials/").splitlines()[0]
        creds = json.loads(get("/latest/meta-data/iam/security-credentials/" + role))
    except urllib.error.HTTPError as e:
        print(json.dumps({"ok": False, "flow": used, "status": e.code}))
        return 1
    joined = "\n".join([creds["AccessKeyId"], creds["SecretAccessKey"], creds["Token"]])
    digest = hashlib.sha256(joined.encode()).hexdigest()
    print(json.dumps({"ok": True, "flow": used, "credentialsSha256": digest}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
