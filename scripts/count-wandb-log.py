"""Counts the complete history records of a `.wandb` log, independently of wandb-log's own
reader: the block format is read here and the records are decoded with the official client's
protobuf classes (run it with openwandb's venv python). Stops at the first torn or unwritten
chunk, as a reader of a killed process's log must.

    VENV/bin/python scripts/count-wandb-log.py RUN_DIR_OR_FILE
Prints one JSON line: history records, distinct steps, first and last step, exit record seen.
"""
import glob
import json
import os
import struct
import sys
import zlib

from wandb.proto import wandb_internal_pb2

BLOCK = 32 * 1024
HEADER = b":W&B\xe1\xbe\x00"
FULL, FIRST, MIDDLE, LAST = 1, 2, 3, 4


def records(data):
    """The payloads of the complete records of `data`, in order."""
    if data[:7] != HEADER:
        sys.exit("not a .wandb log")
    pos, parts = 7, []
    while True:
        left = BLOCK - pos % BLOCK
        if left < 7:
            pos += left  # zero padding at the end of a block
            continue
        if pos + 7 > len(data):
            return
        crc, length, kind = struct.unpack_from("<IHB", data, pos)
        payload = data[pos + 7:pos + 7 + length]
        if kind == 0 or len(payload) < length or zlib.crc32(bytes([kind]) + payload) != crc:
            return  # torn or unwritten
        pos += 7 + length
        if kind == FULL:
            yield payload
        elif kind == FIRST:
            parts = [payload]
        elif kind == MIDDLE:
            parts.append(payload)
        elif kind == LAST:
            parts.append(payload)
            yield b"".join(parts)
            parts = []


def main():
    path = sys.argv[1]
    if os.path.isdir(path):
        path = glob.glob(os.path.join(path, "*.wandb"))[0]
    with open(path, "rb") as f:
        data = f.read()
    history, steps, exit_seen = 0, set(), False
    record = wandb_internal_pb2.Record()
    for payload in records(data):
        record.ParseFromString(payload)
        kind = record.WhichOneof("record_type")
        if kind == "history":
            history += 1
            steps.add(record.history.step.num)
        elif kind == "exit":
            exit_seen = True
    print(json.dumps({"history": history, "distinct_steps": len(steps),
                      "first_step": min(steps, default=None), "last_step": max(steps, default=None),
                      "exit": exit_seen}))


if __name__ == "__main__":
    main()
