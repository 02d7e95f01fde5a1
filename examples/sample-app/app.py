"""A tiny REST application with users and no SCIM, for the README's walkthrough.

    python3 examples/sample-app/app.py 8099

GET/POST /api/users, GET/PUT/DELETE /api/users/{id}; GET /api/users?login=x finds by login.
The same for /api/groups (found by ?name=x). A group lists its members as
`"members": [{"userId": "..."}]`; PUT/DELETE /api/groups/{id}/members/{userId} adds and removes one.
Every request needs `Authorization: Bearer sample-app-token`. Data lives in memory.
"""
import json
import sys
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

STORE = {"users": {}, "groups": {}}
KEY = {"users": "login", "groups": "name"}
TOKEN = "Bearer sample-app-token"


class Handler(BaseHTTPRequestHandler):
    def _send(self, status, body=None):
        data = b"" if body is None else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _route(self):
        if self.headers.get("Authorization") != TOKEN:
            return self._send(401, {"error": "unauthorized"})
        url = urlparse(self.path)
        parts = [p for p in url.path.split("/") if p]
        if len(parts) < 2 or parts[0] != "api" or parts[1] not in STORE:
            return self._send(404, {"error": "not found"})
        if len(parts) == 5 and parts[1] == "groups" and parts[3] == "members":
            return self._member(parts[2], parts[4])
        if len(parts) > 3:
            return self._send(404, {"error": "not found"})
        items, key = STORE[parts[1]], KEY[parts[1]]
        rid = parts[2] if len(parts) == 3 else None
        length = int(self.headers.get("Content-Length") or 0)
        body = json.loads(self.rfile.read(length)) if length else None
        if self.command == "GET" and rid is None:
            wanted = parse_qs(url.query).get(key, [None])[0]
            found = [r for r in items.values() if wanted is None or r[key].lower() == wanted.lower()]
            return self._send(200, {"items": found, "total": len(found)})
        if self.command == "POST" and rid is None:
            if any(r[key].lower() == body[key].lower() for r in items.values()):
                return self._send(409, {"error": f"{key} taken"})
            record = {"id": str(uuid.uuid4()), **body}
            if parts[1] == "groups":
                record.setdefault("members", [])
            items[record["id"]] = record
            return self._send(201, record)
        if rid not in items:
            return self._send(404, {"error": "no such record"})
        if self.command == "GET":
            return self._send(200, items[rid])
        if self.command == "PUT":
            items[rid] = {**body, "id": rid}
            return self._send(200, items[rid])
        if self.command == "DELETE":
            del items[rid]
            for group in STORE["groups"].values():
                group["members"] = [m for m in group.get("members", []) if m["userId"] != rid]
            return self._send(204)
        return self._send(405, {"error": "method not allowed"})

    def _member(self, gid, uid):
        group = STORE["groups"].get(gid)
        if group is None:
            return self._send(404, {"error": "no such group"})
        members = [m for m in group.get("members", []) if m["userId"] != uid]
        if self.command == "PUT":
            if uid not in STORE["users"]:
                return self._send(404, {"error": "no such user"})
            members.append({"userId": uid})
        elif self.command != "DELETE":
            return self._send(405, {"error": "method not allowed"})
        group["members"] = members
        return self._send(204)

    do_GET = do_POST = do_PUT = do_DELETE = _route

    def log_message(self, *args):
        pass


if __name__ == "__main__":
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 8099
    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    print(f"sample app on http://127.0.0.1:{port}/api", flush=True)
    server.serve_forever()
