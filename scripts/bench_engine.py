#!/usr/bin/env python3
"""Times W&B's sweeps engine (0.3.0) on the work wandb-sweep's criterion benches do, so that
BENCHMARKS.md can give ratios. Not part of CI.

Usage: $SWEEPS_ORACLE_HOME/venv030/bin/python scripts/bench_engine.py
"""
import glob
import os
import time

import yaml
from sweeps import SweepConfig, schema_violations_from_proposed_config
from sweeps.grid_search import grid_search_next_runs, yaml_hash
from sweeps.params import HyperParameter, HyperParameterSet

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def best_of(n, fn):
    times = []
    for _ in range(n):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def check_corpus():
    texts = [open(p, encoding="utf-8").read()
             for p in sorted(glob.glob(os.path.join(ROOT, "wandb-sweep/tests/fixtures/corpus/*.yaml")))]

    def run():
        for t in texts:
            try:
                cfg = yaml.safe_load(t)
                if not schema_violations_from_proposed_config(cfg):
                    SweepConfig(cfg)
            except Exception:
                pass

    s = best_of(5, run)
    print(f"check 80 corpus files (PyYAML load + validate): {s * 1e3:.1f} ms")


GRID_100K = {
    "method": "grid",
    "parameters": {
        "a": {"min": 1, "max": 100},
        "b": {"distribution": "q_uniform", "min": 0.0, "max": 1.0, "q": 0.01},
        "c": {"values": ["adam", "sgd", "rmsprop", "adagrad", "adamw", "lamb", "lion", "sophia", "nadam", "radam"]},
        "e": {"value": 7},
    },
}


def grid_enumerate():
    n = 100_000
    s = best_of(3, lambda: grid_search_next_runs([], GRID_100K, validate=False, n=n))
    print(f"grid enumerate 100,000 points (grid_search_next_runs): {s:.2f} s = {n / s:,.0f} points/s")


def grid_count():
    cfg = {"method": "grid", "parameters": {f"p{i:02}": {"values": list(range(10))} for i in range(30)}}

    def run():
        size = 1
        for p in HyperParameterSet.from_config(cfg["parameters"]):
            if p.type != HyperParameter.CONSTANT:
                size *= len({yaml_hash(v) for v in p.config["values"]})
        assert size == 10 ** 30

    s = best_of(20, run)
    print(f"count a 10^30-point space (distinct yaml_hash per parameter): {s * 1e6:.0f} us")


def random_sampling():
    from sweeps.random_search import random_search_next_runs
    cfg = yaml.safe_load(open(os.path.join(ROOT, "wandb-sweep/tests/fixtures/cases/c02_random_all_v2_dists.yaml")))
    n = 2000
    s = best_of(3, lambda: [random_search_next_runs(cfg, validate=False, n=1) for _ in range(n)])
    print(f"random sample of all 15 distributions (random_search_next_runs): {s / n * 1e6:.0f} us per sample")


if __name__ == "__main__":
    random_sampling()
    check_corpus()
    grid_enumerate()
    grid_count()
