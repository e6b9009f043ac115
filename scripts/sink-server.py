"""A W&B stand-in that accepts everything at once, on 127.0.0.1: measures a client's own
upload cost (openwandb's ingestion, 6,000-17,000 rows/s here, would dominate otherwise).
It answers what `wandb-rs` and the official `wandb sync` 0.31.0 ask (the GraphQL operations
of `../shared/reference/captures/sync_offline_run.jsonl`, the file stream, file PUTs).

    python3 scripts/sink-server.py PORT   # then WANDB_BASE_URL=http://127.0.0.1:PORT
Prints one line per file-stream request to stderr: run id, history rows received, complete
flag; one per file PUT with its bytes; one per GraphQL operation it does not know (answered
with empty data).
"""
import json
import socket
import sys
from urllib.parse import quote
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PROJECT = {"id": "UHJvamVjdDox", "name": "sink", "entity": {"id": "RW50aXR5OjE=", "name": "sink"}}
# The sink holds no run: `RunResumeStatus` (asked by `wandb-rs sync`) answers "no such run".
NO_RUN = {"data": {"model": dict(PROJECT, bucket=None)}}
FEATURES = {"data": {"serverInfo": {"features": [{"name": "LARGE_FILENAMES", "isEnabled": True}]}}}


def bucket(variables):
    return {"data": {"upsertBucket": {"inserted": True, "bucket": {
        "id": "UnVuOjE=", "name": variables.get("name"), "displayName": None,
        "description": None, "config": None, "sweepName": None, "historyLineCount": 0,
        "project": PROJECT}}}}


def run_files(variables, host):
    files = [{"name": name, "uploadUrl": f"http://{host}/upload/{quote(name)}"}
             for name in variables.get("files", [])]
    return {"data": {"createRunFiles": {"runID": "UnVuOjE=", "uploadHeaders": [], "files": files}}}


def say(line):
    """One stderr line in one write (handler threads must not interleave their lines)."""
    sys.stderr.write(line + "\n")
    sys.stderr.flush()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def setup(self):
        super().setup()
        # Headers and body leave in two writes: without this, Nagle's algorithm and the
        # client's delayed ACK hold each answer on a kept-alive connection for ~40 ms.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def handle(self):
        try:
            super().handle()
        except ConnectionResetError:
            pass  # a client closing its kept-alive connection as it exits

    def do_PUT(self):
        # Read and dropped a MiB at a time (a checkpoint of GBs is not held).
        left = int(self.headers.get("Content-Length", 0))
        size = left
        while left > 0:
            got = len(self.rfile.read(min(left, 1 << 20)))
            if got == 0:
                break
            left -= got
        say(f"put {self.path} bytes={size - left}")
        self.reply({})

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        if self.path.endswith("/file_stream"):
            # Answered at once and counted without parsing (json.loads of 10 MiB costs this
            # server 35 ms a request, on the client's critical path): every history line
            # has one `_step` key, escaped inside its JSON string (so has the summary).
            self.reply({"exitcode": None, "limits": {}})
            rows = body.count(b'\\"_step\\":') - (b'"wandb-summary.json"' in body)
            complete = b'"complete":true' in body
            run = self.path.split("/")[-2]
            say(f"file_stream run={run} rows={rows} complete={complete}")
            return
        query = json.loads(body)
        text, variables = query.get("query", ""), query.get("variables") or {}
        if "RunResumeStatus" in text:
            self.reply(NO_RUN)
        elif "upsertBucket" in text:
            self.reply(bucket(variables))
        elif "createRunFiles" in text:
            self.reply(run_files(variables, self.headers.get("Host")))
        elif "serverInfo" in text:
            self.reply(FEATURES)
        else:
            say(f"graphql unknown: {text.strip()[:60]!r}")
            self.reply({"data": {}})

    def reply(self, reply):
        data = json.dumps(reply).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
        self.wfile.flush()

    def log_message(self, *args):
        pass


ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Handler).serve_forever()
