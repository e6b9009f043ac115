"""A W&B stand-in that accepts everything at once, on 127.0.0.1: measures the client's own
upload cost (openwandb's ingestion, about 3,300 rows/s here, would dominate otherwise).

    python3 scripts/sink-server.py PORT   # then WANDB_BASE_URL=http://127.0.0.1:PORT
Prints one line per file-stream request to stderr: history rows received, complete flag.
"""
import json
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

BUCKET = {"data": {"upsertBucket": {"inserted": True, "bucket": {
    "id": "UnVuOjE=", "name": None, "displayName": None, "description": None, "config": None,
    "sweepName": None, "historyLineCount": 0,
    "project": {"id": "UHJvamVjdDox", "name": "sink", "entity": {"id": "RW50aXR5OjE=", "name": "sink"}}}}}}
# The sink holds no run: `RunResumeStatus` (asked by `wandb-rs sync`) answers "no such run".
NO_RUN = {"data": {"model": {"id": "UHJvamVjdDox", "name": "sink",
                             "entity": {"id": "RW50aXR5OjE=", "name": "sink"}, "bucket": None}}}


class Handler(BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        if self.path.endswith("/file_stream"):
            # Answered at once and counted without parsing (json.loads of 10 MiB costs this
            # server 35 ms a request, on the client's critical path): every history line
            # has one `_step` key, escaped inside its JSON string (so has the summary).
            self.reply({})
            rows = body.count(b'\\"_step\\":') - (b'"wandb-summary.json"' in body)
            complete = b'"complete":true' in body
            print(f"file_stream rows={rows} complete={complete}", file=sys.stderr)
            return
        query = json.loads(body)
        if query.get("operationName") == "RunResumeStatus":
            reply = NO_RUN
        else:
            reply = dict(BUCKET)
            name = query.get("variables", {}).get("name")
            reply["data"]["upsertBucket"]["bucket"]["name"] = name
        self.reply(reply)

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
