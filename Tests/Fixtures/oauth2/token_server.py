"""An OAuth2 issuer for tests: OpenID metadata and a client-credentials token endpoint.

Issues short-lived tokens (token_lifetime seconds) signed with HMAC-SHA256 under --signing-key,
so auth_proxy.py can check them. Counts token requests in --stats (JSON), so a test sees renewals.

    token_server.py --port P --client-id ID --client-secret-file F --signing-key K --stats FILE
                    [--audience A] [--lifetime SECONDS] [--cert PEM --key PEM]
"""
import argparse
import hashlib
import hmac
import http.server
import json
import ssl
import threading
import time
import urllib.parse


def sign(key: str, expiry_ms: int) -> str:
    body = f"sluice-test.{expiry_ms}"
    return body + "." + hmac.new(key.encode(), body.encode(), hashlib.sha256).hexdigest()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--client-id", required=True)
    parser.add_argument("--client-secret-file", required=True)
    parser.add_argument("--signing-key", required=True)
    parser.add_argument("--stats", required=True)
    parser.add_argument("--audience")
    parser.add_argument("--lifetime", type=float, default=3.0)
    parser.add_argument("--cert")
    parser.add_argument("--key")
    args = parser.parse_args()
    secret = open(args.client_secret_file).read().strip()
    scheme = "https" if args.cert else "http"
    base = f"{scheme}://localhost:{args.port}"
    stats = {"token_requests": 0, "refused": 0, "metadata_requests": 0, "last_form_keys": []}
    lock = threading.Lock()

    def save() -> None:
        with open(args.stats + ".tmp", "w") as f:
            json.dump(stats, f)
        import os
        os.replace(args.stats + ".tmp", args.stats)

    class Handler(http.server.BaseHTTPRequestHandler):
        def log_message(self, *a):  # quiet
            pass

        def reply(self, status: int, body: dict) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self):
            if self.path == "/.well-known/openid-configuration":
                with lock:
                    stats["metadata_requests"] += 1
                    save()
                self.reply(200, {"issuer": base + "/", "token_endpoint": base + "/oauth/token"})
            else:
                self.reply(404, {"error": "not_found"})

        def do_POST(self):
            if self.path != "/oauth/token":
                self.reply(404, {"error": "not_found"})
                return
            length = int(self.headers.get("Content-Length", "0"))
            form = dict(urllib.parse.parse_qsl(self.rfile.read(length).decode()))
            ok = (form.get("grant_type") == "client_credentials" and form.get("client_id") == args.client_id
                  and form.get("client_secret") == secret
                  and (args.audience is None or form.get("audience") == args.audience))
            with lock:
                stats["last_form_keys"] = sorted(form.keys())
                if not ok:
                    stats["refused"] += 1
                    save()
                else:
                    stats["token_requests"] += 1
                    save()
            if not ok:
                self.reply(401, {"error": "invalid_client", "error_description": "client authentication failed"})
                return
            expiry_ms = int((time.time() + args.lifetime) * 1000)
            self.reply(200, {"access_token": sign(args.signing_key, expiry_ms), "token_type": "Bearer",
                             "expires_in": args.lifetime})

    server = http.server.ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    if args.cert:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(args.cert, args.key)
        server.socket = context.wrap_socket(server.socket, server_side=True)
    save()
    server.serve_forever()


if __name__ == "__main__":
    main()
