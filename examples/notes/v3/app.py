#!/usr/bin/env python3
"""notes v3 — pinned notes (migration 0003_note_pinned). A BAD RELEASE on purpose: its list
query names a column that does not exist, so /notes answers 500 and the deployment rolls back.

Python standard library only: http.server for HTTP, and the `psql` client for
PostgreSQL (every query asks the database for JSON, so there is nothing to
install). Shipshape starts it in this release's own folder with:

  PORT               the port to listen on (127.0.0.1)
  SHIPSHAPE_VERSION  the version label (answered in every response)
  DATABASE_URL       from the release config (run.env), resolved on the worker

  GET  /health  200 when the database answers (not the tables: the release's
                schema is expanded after green starts, before it is verified)
  GET  /notes   {"notes": [...], "version": ...}
  POST /notes   {"title": ..., "body": ...} -> the note
"""
import glob
import json
import os
import shutil
import subprocess
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

VERSION = os.environ.get("SHIPSHAPE_VERSION", "dev")
PORT = int(os.environ.get("PORT", "8000"))
DATABASE_URL = os.environ["DATABASE_URL"]
PSQL = shutil.which("psql") or (sorted(glob.glob("/usr/lib/postgresql/*/bin/psql")) or ["psql"])[-1]


def query(sql, **params):
    """Runs one statement that returns a single JSON value; params are passed as psql variables."""
    args = [PSQL, "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-d", DATABASE_URL]
    for name, value in params.items():
        args += ["-v", f"{name}={value}"]
    out = subprocess.run(args, input=sql, capture_output=True, text=True, timeout=10)
    if out.returncode != 0:
        raise RuntimeError(out.stderr.strip())
    return json.loads(out.stdout.strip() or "null")


LIST = "SELECT coalesce(json_agg(n ORDER BY n.id), '[]') FROM (SELECT id, title, body, summary, pinnned FROM notes) n;"
ADD = (
    "INSERT INTO notes (title, body, summary) VALUES (:'title', :'body', left(:'body', 40)) "
    "RETURNING json_build_object('id', id, 'title', title, 'body', body, 'summary', summary);"
)


class Handler(BaseHTTPRequestHandler):
    def answer(self, status, payload):
        body = json.dumps({**payload, "version": VERSION}).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("x-notes-version", VERSION)
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        try:
            if self.path == "/health":
                return self.answer(200, {"status": "ok", "db": query("SELECT 1;")})
            if self.path == "/notes":
                return self.answer(200, {"notes": query(LIST)})
            return self.answer(404, {"error": "not found"})
        except Exception as err:  # the database is down or the query is wrong
            return self.answer(503 if self.path == "/health" else 500, {"error": str(err)})

    def do_POST(self):
        if self.path != "/notes":
            return self.answer(404, {"error": "not found"})
        try:
            length = int(self.headers.get("content-length") or 0)
            note = json.loads(self.rfile.read(length) or b"{}")
            return self.answer(201, query(ADD, title=note.get("title", ""), body=note.get("body", "")))
        except Exception as err:
            return self.answer(500, {"error": str(err)})

    def log_message(self, *args):  # one line per request is noise in the instance log
        pass


if __name__ == "__main__":
    print(f"notes {VERSION} listening on 127.0.0.1:{PORT}", flush=True)
    ThreadingHTTPServer(("127.0.0.1", PORT), Handler).serve_forever()
