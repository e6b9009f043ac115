#!/usr/bin/env python3
"""W&B's engine (sweeps 0.3.0) on the functions of wandb-sweep's examples/bayes_quality.rs:
median best regret over seeds, and the time of one suggestion with 100 observations.
Not part of CI.

Usage: $SWEEPS_ORACLE_HOME/venv030/bin/python scripts/bayes_quality.py [SEEDS] [TRIALS]
"""
import json
import math
import random
import statistics
import sys
import time
import warnings

import numpy as np
from sweeps.bayes_search import bayes_search_next_runs
from sweeps.run import RunState, SweepRun

warnings.simplefilter("ignore")

U = lambda lo, hi: {"distribution": "uniform", "min": lo, "max": hi}
BRANIN = {"method": "bayes", "metric": {"name": "loss", "goal": "minimize"},
          "parameters": {"x1": U(-5.0, 10.0), "x2": U(0.0, 15.0)}}
HARTMANN6 = {"method": "bayes", "metric": {"name": "loss", "goal": "minimize"},
             "parameters": {f"x{i}": U(0.0, 1.0) for i in range(1, 7)}}
MIXED = {"method": "bayes", "metric": {"name": "loss", "goal": "minimize"},
         "parameters": {"opt": {"values": ["adam", "sgd", "rmsprop", "adagrad"]},
                        "lr": {"distribution": "log_uniform_values", "min": 0.0001, "max": 0.1},
                        "layers": {"distribution": "int_uniform", "min": 1, "max": 8}}}


def branin(p):
    x1, x2 = p["x1"], p["x2"]
    b, c, t = 5.1 / (4 * math.pi ** 2), 5 / math.pi, 1 / (8 * math.pi)
    return (x2 - b * x1 ** 2 + c * x1 - 6) ** 2 + 10 * (1 - t) * math.cos(x1) + 10 - 0.397887357729738


def hartmann6(p):
    alpha = [1.0, 1.2, 3.0, 3.2]
    A = [[10, 3, 17, 3.5, 1.7, 8], [0.05, 10, 17, 0.1, 8, 14], [3, 3.5, 1.7, 10, 17, 8], [17, 8, 0.05, 10, 0.1, 14]]
    P = [[0.1312, 0.1696, 0.5569, 0.0124, 0.8283, 0.5886], [0.2329, 0.4135, 0.8307, 0.3736, 0.1004, 0.9991],
         [0.2348, 0.1451, 0.3522, 0.2883, 0.3047, 0.6650], [0.4047, 0.8828, 0.8732, 0.5743, 0.1091, 0.0381]]
    x = [p[f"x{i}"] for i in range(1, 7)]
    v = sum(-alpha[i] * math.exp(-sum(A[i][j] * (x[j] - P[i][j]) ** 2 for j in range(6))) for i in range(4))
    return v + 3.322368011415515


def mixed(p):
    offset = {"sgd": 0.0, "adam": 0.3, "rmsprop": 0.6}.get(p["opt"], 1.0)
    return offset + (math.log10(p["lr"]) + 2.5) ** 2 + 0.1 * (p["layers"] - 5) ** 2


def run_of(i, cfg_values, y):
    return SweepRun(name=f"r{i}", state=RunState.finished, config={k: {"value": v} for k, v in cfg_values.items()},
                    history=[{"loss": y}], summary_metrics={"loss": y})


def regret(config, f, seed, trials):
    random.seed(seed)
    np.random.seed(seed)
    runs, best = [], math.inf
    for i in range(trials):
        sug = bayes_search_next_runs(runs, config, validate=False, n=1)[0]
        params = {k: v["value"] for k, v in sug.config.items()}
        y = f(params)
        best = min(best, y)
        runs.append(run_of(i, params, y))
    return best


def suggestion_time(n_obs=100, repeats=5):
    rng = random.Random(0)
    runs = []
    for i in range(n_obs):
        p = {"x1": rng.uniform(-5, 10), "x2": rng.uniform(0, 15)}
        runs.append(run_of(i, p, branin(p)))
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        bayes_search_next_runs(runs, BRANIN, validate=False, n=1)
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def main():
    seeds = int(sys.argv[1]) if len(sys.argv) > 1 else 10
    trials = int(sys.argv[2]) if len(sys.argv) > 2 else 50
    print(json.dumps({"suggestion_seconds_100_observations": suggestion_time()}), flush=True)
    for name, cfg, f in [("branin", BRANIN, branin), ("hartmann6", HARTMANN6, hartmann6), ("mixed", MIXED, mixed)]:
        t = time.perf_counter()
        regrets = [regret(cfg, f, s, trials) for s in range(seeds)]
        print(json.dumps({"function": name, "seeds": seeds, "trials": trials,
                          "median_regret": statistics.median(regrets), "regrets": regrets,
                          "seconds": round(time.perf_counter() - t, 2)}), flush=True)


if __name__ == "__main__":
    main()
