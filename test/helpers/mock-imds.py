#!/usr/bin/env python3
"""A fake EC2 Instance Metadata Service with the real service's semantics, for tests.

Python standard library only: Node cannot set IP_TTL on one socket, and the hop-limit
behaviour (the token PUT response leaves with IP TTL / IPv6 hop limit = hop limit, default 1,
so a client one extra hop away, in a bridged container, never receives it) is the point.

Behaviour:
  PUT /latest/api/token   400 when X-aws-ec2-metadata-token-ttl-seconds is missing or not in
                          1..21600, 403 when X-Forwarded-For is present, else 200 with the
                          token as body and X-Aws-Ec2-Metadata-Token-Ttl-Seconds.
  GET with a token        401 when the token is unknown or expired.
  GET without a token     answered in `optional` mode, 401 in `required` mode.
  other methods           405.

Secrets (credentials, token seed) come as one JSON object on stdin with --secrets-stdin so a
test knows them without them ever being written anywhere; otherwise they are random.
The log (stderr) holds one line per request: method, path, status, class, peer and
User-Agent. Never a token, never a body. Readiness: the line "listening" on stdout.
"""

import argparse
import base64
import datetime
import fcntl
import hashlib
import hmac
import http.server
import json
import os
import secrets
import signal
import socket
import string
import struct
import sys
import termios
import threading
import time

MAX_TTL = 21600
TOKEN_PATH = "/latest/api/token"


def random_upper(n):
    alphabet = string.ascii_uppercase + string.digits
    return "".join(secrets.choice(alphabet) for _ in range(n))


def random_secret(n):
    alphabet = string.ascii_letters + string.digits + "+/"
    return "".join(secrets.choice(alphabet) for _ in range(n))


def default_secrets():
    return {
        "accessKeyId": "ASIA" + random_upper(16),
        "secretAccessKey": random_secret(40),
        "sessionToken": "IQoJb3JpZ2luX2VjE" + base64.b64encode(secrets.token_bytes(600)).decode(),
        "tokenSeed": secrets.token_hex(16),
    }


def make_token(seed_hex, n):
    """Token n of this run. Every token of a run starts with the same 21 characters
    ("AQAEA" + 16 from the seed) so a test can look for any of them in one search; the test
    side recomputes the same function (test/helpers/mock-imds.ts)."""
    seed = bytes.fromhex(seed_hex)
    tail = hmac.new(seed, str(n).encode(), hashlib.sha256).digest()[:30]
    return "AQAEA" + base64.b64encode(seed[:12] + tail).decode()


def iso(t):
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


class State:
    def __init__(self, args, secret):
        self.args = args
        self.secret = secret
        self.lock = threading.Lock()
        self.issued = {}  # token -> expiry (monotonic)
        self.count = 0
        now = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
        role = args.role
        account = "123456789012"
        self.tree = {
            "/latest/meta-data/ami-id": "ami-0abcdef1234567890",
            "/latest/meta-data/ami-launch-index": "0",
            "/latest/meta-data/hostname": "ip-192-0-2-2.eu-west-1.compute.internal",
            "/latest/meta-data/instance-id": "i-0123456789abcdef0",
            "/latest/meta-data/instance-type": "t3.micro",
            "/latest/meta-data/local-hostname": "ip-192-0-2-2.eu-west-1.compute.internal",
            "/latest/meta-data/local-ipv4": "192.0.2.2",
            "/latest/meta-data/mac": "02:00:00:00:00:02",
            "/latest/meta-data/placement/availability-zone": "eu-west-1a",
            "/latest/meta-data/placement/region": "eu-west-1",
            "/latest/meta-data/iam/info": json.dumps(
                {
                    "Code": "Success",
                    "LastUpdated": iso(now),
                    "InstanceProfileArn": f"arn:aws:iam::{account}:instance-profile/{role}",
                    "InstanceProfileId": "AIPA" + "EXAMPLE0INSTPROF0",
                },
                indent=2,
            ),
            f"/latest/meta-data/iam/security-credentials/{role}": json.dumps(
                {
                    "Code": "Success",
                    "LastUpdated": iso(now),
                    "Type": "AWS-HMAC",
                    "AccessKeyId": secret["accessKeyId"],
                    "SecretAccessKey": secret["secretAccessKey"],
                    "Token": secret["sessionToken"],
                    "Expiration": iso(now + datetime.timedelta(hours=6)),
                },
                indent=2,
            ),
            "/latest/dynamic/instance-identity/document": json.dumps(
                {
                    "accountId": account,
                    "architecture": "x86_64",
                    "availabilityZone": "eu-west-1a",
                    "billingProducts": None,
                    "devpayProductCodes": None,
                    "marketplaceProductCodes": None,
                    "imageId": "ami-0abcdef1234567890",
                    "instanceId": "i-0123456789abcdef0",
                    "instanceType": "t3.micro",
                    "kernelId": None,
                    "pendingTime": iso(now - datetime.timedelta(days=3)),
                    "privateIp": "192.0.2.2",
                    "ramdiskId": None,
                    "region": "eu-west-1",
                    "version": "2017-09-30",
                },
                indent=2,
            ),
        }
        # Directory listings, as IMDS serves them: children one per line, folders end in "/".
        dirs = {}
        for path in list(self.tree):
            parts = path.split("/")
            for i in range(2, len(parts)):
                parent = "/".join(parts[:i]) + "/"
                child = parts[i] + ("/" if i < len(parts) - 1 else "")
                dirs.setdefault(parent, [])
                if child not in dirs[parent]:
                    dirs[parent].append(child)
        for d, children in dirs.items():
            self.tree.setdefault(d, "\n".join(children))
        self.tree["/latest/meta-data/iam/security-credentials/"] = role
        self.tree["/latest/meta-data/iam/security-credentials"] = role

    def issue(self, ttl):
        with self.lock:
            token = make_token(self.secret["tokenSeed"], self.count)
            self.count += 1
            self.issued[token] = time.monotonic() + ttl
            return token

    def valid(self, token):
        with self.lock:
            expiry = self.issued.get(token)
            return expiry is not None and time.monotonic() < expiry


def set_hops(sock, family, hops):
    if family == socket.AF_INET6:
        sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_UNICAST_HOPS, hops)
    else:
        sock.setsockopt(socket.IPPROTO_IP, socket.IP_TTL, hops)


def get_hops(sock, family):
    if family == socket.AF_INET6:
        return sock.getsockopt(socket.IPPROTO_IPV6, socket.IPV6_UNICAST_HOPS)
    return sock.getsockopt(socket.IPPROTO_IP, socket.IP_TTL)


def unacked_bytes(sock):
    buf = fcntl.ioctl(sock.fileno(), termios.TIOCOUTQ, struct.pack("I", 0))
    return struct.unpack("I", buf)[0]


def peer_closed(sock):
    try:
        return sock.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT) == b""
    except BlockingIOError:
        return False
    except OSError:
        return True


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as the real service
    server_version = "EC2ws"
    sys_version = ""
    state = None  # set in main

    def log_message(self, format, *args):  # noqa: A002 - base class signature
        pass  # replaced by log_request_line: the base class would print the request line only

    def log_line(self, status, cls):
        ua = (self.headers.get("User-Agent") or "").replace('"', "'")
        peer = self.client_address
        line = f'{self.command} {self.path} {status} class={cls} peer={peer[0]}:{peer[1]} ua="{ua}"'
        sys.stderr.write(line + "\n")
        sys.stderr.flush()

    def classify(self):
        if self.command == "PUT" and self.path == TOKEN_PATH:
            return "token"
        if self.headers.get("X-aws-ec2-metadata-token") is not None:
            return "v2"
        return "v1"

    def reply(self, status, body, cls, extra=None, hop_limited=False):
        if self.state.args.latency_ms > 0:
            time.sleep(self.state.args.latency_ms / 1000.0)
        data = body.encode()
        sock = self.connection
        family = sock.family
        saved = None
        # Logged before the answer leaves, so the log's order is the order clients were served
        # (a client's next request cannot overtake the line of the one it waited for).
        self.log_line(status, cls)
        if hop_limited:
            saved = get_hops(sock, family)
            set_hops(sock, family, self.state.args.hop_limit)
        self.send_response(status)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(data)))
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)
        self.wfile.flush()
        if saved is not None:
            # Retransmissions take the socket's TTL at the time they leave: keep the hop limit
            # until the peer has acknowledged the response (or gone), as the real service's
            # response never reaches a client one hop too far, however often it is resent.
            deadline = time.monotonic() + 30
            while unacked_bytes(sock) > 0 and time.monotonic() < deadline:
                if peer_closed(sock):
                    self.close_connection = True
                    return
                time.sleep(0.005)
            set_hops(sock, family, saved)

    def do_PUT(self):
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        if self.path != TOKEN_PATH:
            self.reply(405, "", "v1" if self.classify() == "v1" else "v2")
            return
        if self.headers.get("X-Forwarded-For") is not None:
            self.reply(403, "", "token")
            return
        raw = self.headers.get("X-aws-ec2-metadata-token-ttl-seconds")
        try:
            ttl = int(raw) if raw is not None else 0
        except ValueError:
            ttl = 0
        if not 1 <= ttl <= MAX_TTL:
            self.reply(400, "", "token")
            return
        token = self.state.issue(ttl)
        self.reply(
            200,
            token,
            "token",
            {"X-Aws-Ec2-Metadata-Token-Ttl-Seconds": str(ttl)},
            hop_limited=True,
        )

    def do_GET(self):
        cls = self.classify()
        if self.path == TOKEN_PATH:
            self.reply(405, "", cls)
            return
        token = self.headers.get("X-aws-ec2-metadata-token")
        if token is not None:
            if not self.state.valid(token):
                self.reply(401, "", cls)
                return
        elif self.state.args.mode == "required":
            self.reply(401, "", cls)
            return
        path = self.path.split("?", 1)[0]
        body = self.state.tree.get(path)
        if body is None:
            self.reply(404, "", cls)
            return
        self.reply(200, body, cls)

    def do_HEAD(self):
        self.do_GET()

    def do_POST(self):
        self.reply(405, "", self.classify())

    do_DELETE = do_POST
    do_PATCH = do_POST


class Server4(http.server.ThreadingHTTPServer):
    address_family = socket.AF_INET
    daemon_threads = True
    allow_reuse_address = True


class Server6(Server4):
    address_family = socket.AF_INET6


def main():
    p = argparse.ArgumentParser(description="Fake EC2 IMDS for tests")
    p.add_argument("--mode", choices=["optional", "required"], default="optional")
    p.add_argument("--hop-limit", type=int, default=1)
    p.add_argument("--latency-ms", type=int, default=0)
    p.add_argument("--role", default="fake-instance-role")
    p.add_argument("--port", type=int, default=80)
    p.add_argument("--ipv4", default="169.254.169.254")
    p.add_argument("--ipv6", default="fd00:ec2::254", help="empty to serve IPv4 only")
    p.add_argument("--secrets-stdin", action="store_true", help="read secrets JSON from stdin")
    args = p.parse_args()
    if not 1 <= args.hop_limit <= 64:
        p.error("--hop-limit must be in 1..64")
    secret = default_secrets()
    if args.secrets_stdin:
        secret.update(json.loads(sys.stdin.readline()))
    Handler.state = State(args, secret)
    servers = [Server4((args.ipv4, args.port), Handler)]
    if args.ipv6:
        servers.append(Server6((args.ipv6, args.port), Handler))
    for s in servers:
        threading.Thread(target=s.serve_forever, daemon=True).start()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    sys.stdout.write(f"listening mode={args.mode} hop-limit={args.hop_limit} pid={os.getpid()}\n")
    sys.stdout.flush()
    stop.wait()
    for s in servers:
        s.shutdown()
        s.server_close()


if __name__ == "__main__":
    main()
