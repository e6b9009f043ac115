"""Checks a rich run (wandb-log's `rich_run` example) on a W&B-compatible server (openwandb):
every file of the local run directory is on the server with its size and bytes
(`/api/v1/runs/<id>/files`, downloaded from `/files/<entity>/<project>/<id>/<name>`), each
image value of the history names a file whose sha256 and size equal the value's, the history
holds the histogram and the table, and the system metrics have at least two samples
(`/api/v2/runs/<id>/system_metrics`). Prints one JSON line; exits 1 when a check fails.

    WANDB_BASE_URL=... WANDB_API_KEY=... python3 scripts/rich-run-check.py ENTITY PROJECT RUN_ID RUN_DIR
"""
import base64
import hashlib
import json
import os
import sys
import urllib.request

BASE = os.environ["WANDB_BASE_URL"].rstrip("/")
AUTH = "Basic " + base64.b64encode(f"api:{os.environ['WANDB_API_KEY']}".encode()).decode()


def get(path):
    req = urllib.request.Request(BASE + path, headers={"Authorization": AUTH})
    with urllib.request.urlopen(req, timeout=60) as r:
        return r.read()


def local_files(run_dir):
    root = os.path.join(run_dir, "files")
    for dirpath, _, names in os.walk(root):
        for name in names:
            path = os.path.join(dirpath, name)
            yield os.path.relpath(path, root).replace(os.sep, "/"), path


def main():
    entity, project, run_id, run_dir = sys.argv[1:5]
    prefix = f"/files/{entity}/{project}/{run_id}/"
    server = {f["name"]: f for f in json.loads(get(f"/api/v1/runs/{run_id}/files"))["files"]}
    problems, checked = [], 0
    for name, path in local_files(run_dir):
        if name not in server:
            problems.append(f"{name}: not on the server")
            continue
        if name == "output.log":
            continue  # the server's copy is rebuilt from the stream's lines
        with open(path, "rb") as f:
            ours = f.read()
        theirs = get(prefix + name)
        if theirs != ours:
            problems.append(f"{name}: {len(theirs)} bytes on the server, {len(ours)} here")
        checked += 1
    history = [json.loads(l) for l in get(prefix + "wandb-history.jsonl").decode().splitlines() if l.strip()]
    images = histograms = tables = 0
    for row in history:
        for key, value in row.items():
            kind = value.get("_type") if isinstance(value, dict) else None
            if kind == "image-file":
                data = get(prefix + value["path"])
                if hashlib.sha256(data).hexdigest() != value["sha256"] or len(data) != value["size"]:
                    problems.append(f"{key} at step {row.get('_step')}: sha256/size differ from {value['path']}")
                images += 1
            elif kind == "histogram":
                histograms += 1
            elif kind == "table-file":
                tables += 1
    metrics = json.loads(get(f"/api/v2/runs/{run_id}/system_metrics"))["system_metrics"]
    samples = len({p["wall_time"] for points in metrics.values() for p in points})
    if samples < 2:
        problems.append(f"{samples} system-metric samples (at least 2 expected)")
    if not images or not histograms or not tables:
        problems.append(f"history holds {images} images, {histograms} histograms, {tables} tables")
    print(json.dumps({"run_id": run_id, "files_on_server": len(server), "local_files_checked": checked,
                      "history_rows": len(history), "images_checked": images, "histograms": histograms,
                      "tables": tables, "system_metric_keys": len(metrics),
                      "system_metric_samples": samples, "problems": problems}))
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
