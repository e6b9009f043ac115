"""openwandb's own ingest rate, with no client in the way: creates a run, then posts REQUESTS
file-stream requests of about 10 MiB each (history lines like log_rows' 10 metrics), back to
back from pre-built bodies, and prints rows per second (WANDB_BASE_URL and WANDB_API_KEY as
for the server).

    python3 scripts/openwandb-ingest.py PROJECT RUN_ID [REQUESTS]
"""
import base64
import json
import os
import sys
import time
import urllib.request

BASE = os.environ["WANDB_BASE_URL"].rstrip("/")
AUTH = "Basic " + base64.b64encode(f"api:{os.environ['WANDB_API_KEY']}".encode()).decode()
ENTITY = os.environ.get("WANDB_ENTITY", "default")
MAX_BYTES = 10 * 1024 * 1024


def post(path, body):
    req = urllib.request.Request(BASE + path, data=json.dumps(body).encode(), method="POST",
                                 headers={"Authorization": AUTH, "Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=600) as r:
        return r.read()


def main():
    project, run_id = sys.argv[1], sys.argv[2]
    requests = int(sys.argv[3]) if len(sys.argv) > 3 else 5
    post("/graphql", {"operationName": "UpsertBucket", "variables": {
        "name": run_id, "project": project, "entity": ENTITY},
        "query": "mutation UpsertBucket($name: String, $project: String, $entity: String) {"
                 " upsertBucket(input: {name: $name, modelName: $project, entityName: $entity})"
                 " { bucket { id name } } }"})
    bodies, step = [], 0
    for _ in range(requests):
        lines, size = [], 0
        while size < MAX_BYTES:
            row = {"_step": step, "_runtime": step * 1e-6, "_timestamp": 1.8e9 + step * 1e-6}
            row.update({f"metric_{i}": (step + i) * 0.001 for i in range(10)})
            line = json.dumps(row, separators=(",", ":"))
            lines.append(line)
            size += len(line) + 8
            step += 1
        bodies.append({"files": {"wandb-history.jsonl": {"offset": step - len(lines), "content": lines}}})
    path = f"/files/{ENTITY}/{project}/{run_id}/file_stream"
    start = time.monotonic()
    for body in bodies:
        post(path, body)
    elapsed = time.monotonic() - start
    print(json.dumps({"requests": requests, "rows": step, "seconds": round(elapsed, 2),
                      "rows_per_second": round(step / elapsed)}))


if __name__ == "__main__":
    main()
