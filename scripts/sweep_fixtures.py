#!/usr/bin/env python3
"""Regenerates wandb-sweep's conformance fixtures with W&B's own sweeps engine (0.3.0).

Usage: scripts/sweep_fixtures.py SHARED_DIR
  SHARED_DIR holds conformance/{cases,corpus} and tools/sweeps-oracle (set it up first with
  tools/sweeps-oracle/setup.sh; SWEEPS_ORACLE_HOME as that script says).

Writes, under wandb-sweep/tests/fixtures/:
  cases/*.yaml, corpus/*.yaml   copies of the inputs (plus CORPUS.md, their provenance)
  hyperband/*.yaml              our own hyperband cases (inputs, kept in the repo)
  edges/*.yaml                  our own edge cases (inputs, kept in the repo): rounding ties
                                of every q_ family, closed-form beta quantiles
  yaml/resolvers.json           PyYAML's (YAML 1.1) implicit int/float/bool/null resolver
                                regexes and how PyYAML reads sample numbers, plus the YAML 1.2
                                core schema's; the emitter's numbers are tested against them
  oracle/<set>-<name>.json      what the engine says of each file: verdict, messages, the
                                reasons it later fails, filled defaults, the grid (size and
                                first points) with `method` forced to grid, the ppf table, five
                                random samples with their uniform draws (seed 7), and the
                                hyperband bands and stop decisions (with cNN_runs.json)
CI never runs this; it only reads the committed output.
"""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "wandb-sweep", "tests", "fixtures")


def oracle(shared, paths, extra=()):
    script = os.path.join(shared, "tools", "sweeps-oracle", "oracle.py")
    cmd = [sys.executable, script, "--engine", "0.3.0", "--grid-first", "20", "--compact",
           "--seed", "7", "--n-random", "5", "--random-any", *extra] + paths
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    lines = [json.loads(line) for line in out.splitlines() if line.strip()]
    if len(paths) == 1:
        return lines
    assert len(lines) == len(paths), "oracle printed a different number of results"
    return lines


def force_grid(text):
    if re.search(r"^method\s*:.*$", text, flags=re.M):
        return re.sub(r"^method\s*:.*$", "method: grid", text, count=1, flags=re.M)
    return text.rstrip("\n") + "\nmethod: grid\n"


def later_failures(o):
    """Why the engine fails after accepting the config (empty when it does not)."""
    reasons = []
    if o.get("params_error"):
        reasons.append("engine: " + o["params_error"])
    if o.get("grid_error"):
        reasons.append("grid: " + o["grid_error"])
    hb = o.get("hyperband") or {}
    if hb.get("error"):
        reasons.append("hyperband: " + hb["error"])
    if o.get("bayes_error"):
        reasons.append("bayes: " + o["bayes_error"])
    if (o.get("client_fill") or {}).get("error"):
        reasons.append("client: " + o["client_fill"]["error"])
    if (o.get("yaml") or {}).get("duplicate_keys"):
        reasons.append("yaml: duplicate keys " + json.dumps(o["yaml"]["duplicate_keys"]))
    return reasons


def main():
    shared = os.path.abspath(sys.argv[1])
    conf = os.path.join(shared, "conformance")
    os.makedirs(os.path.join(OUT, "oracle"), exist_ok=True)
    for set_name in ("cases", "corpus"):
        src = os.path.join(conf, set_name)
        dst = os.path.join(OUT, set_name)
        os.makedirs(dst, exist_ok=True)
        names = sorted(f for f in os.listdir(src) if f.endswith(".yaml"))
        for n in names:
            shutil.copy(os.path.join(src, n), os.path.join(dst, n))
        if set_name == "corpus":
            shutil.copy(os.path.join(conf, "CORPUS.md"), os.path.join(dst, "CORPUS.md"))
        write_set(shared, set_name, dst, names, runs_dir=src)
        print(f"{set_name}: {len(names)} files")
    edges = os.path.join(OUT, "edges")
    names = sorted(f for f in os.listdir(edges) if f.endswith(".yaml"))
    write_set(shared, "edges", edges, names, runs_dir=edges)
    print(f"edges: {len(names)} files")
    hyperband_cases(shared)
    yaml_resolvers(shared)


def write_set(shared, set_name, dst, names, runs_dir):
    """The full fixture (verdict, messages, grid, ppf table, samples, hyperband) of each file
    dst/NAME; NNN_runs.json next to a file in runs_dir gives hyperband stop decisions."""
    paths = [os.path.join(dst, n) for n in names]
    plain = oracle(shared, paths)
    with tempfile.TemporaryDirectory() as tmp:
        gpaths = []
        for n, p in zip(names, paths):
            g = os.path.join(tmp, n)
            with open(p, encoding="utf-8") as f, open(g, "w", encoding="utf-8") as w:
                w.write(force_grid(f.read()))
            gpaths.append(g)
        grid = oracle(shared, gpaths)
    for i, n in enumerate(names):
        runs = os.path.join(runs_dir, n[:3] + "_runs.json")
        if os.path.exists(runs):
            plain[i] = oracle(shared, [paths[i]], ["--runs", runs])[0]
            if os.path.abspath(runs_dir) != os.path.abspath(dst):
                shutil.copy(runs, os.path.join(dst, n[:3] + "_runs.json"))
    for n, o, g in zip(names, plain, grid):
        fixture = {
            "file": f"{set_name}/{n}",
            "engine_version": o.get("engine_version"),
            "valid": o["valid"],
            "errors": o.get("errors", []),
            "later_failures": later_failures(o),
            "filled": o.get("filled"),
            "grid_size": g.get("grid_size"),
            "grid_first": g.get("grid_first", []),
            "grid_error": g.get("grid_error"),
            "ppf_table": o.get("ppf_table"),
            "random_samples": o.get("random_samples"),
            "random_draws": o.get("random_draws"),
            "hyperband": o.get("hyperband"),
        }
        name = f"{set_name}-{n[:-5]}.json"
        with open(os.path.join(OUT, "oracle", name), "w", encoding="utf-8") as w:
            json.dump(fixture, w, indent=1, sort_keys=True)
            w.write("\n")


def hyperband_cases(shared):
    """Our own hyperband cases (tests/fixtures/hyperband/hNN_*.yaml with hNN_runs.json)."""
    src = os.path.join(OUT, "hyperband")
    names = sorted(f for f in os.listdir(src) if f.endswith(".yaml"))
    for n in names:
        runs = os.path.join(src, n[:3] + "_runs.json")
        o = oracle(shared, [os.path.join(src, n)], ["--runs", runs])[0]
        fixture = {"file": f"hyperband/{n}", "engine_version": o.get("engine_version"),
                   "valid": o["valid"], "hyperband": o.get("hyperband")}
        with open(os.path.join(OUT, "oracle", f"hyperband-{n[:-5]}.json"), "w", encoding="utf-8") as w:
            json.dump(fixture, w, indent=1, sort_keys=True)
            w.write("\n")
    print(f"hyperband: {len(names)} files")


# Sample numbers whose PyYAML reading the fixture records (a check that the regexes are used
# the way PyYAML uses them).
YAML_SAMPLES = ["1.0e16", "1.0e+16", "2.0e300", "2.0e+300", "1e-5", "1.0e-5", "3e6", "3.0e+6",
                "1.5e3", ".5e3", ".5e+3", "5.", "-0.0", "1_000", "010", "0o17", "0x1F",
                "-9223372036854775808", "18446744073709551615", "1.7976931348623157e+308",
                "5.0e-324", "-2.5e+17", ".inf", "-.inf", ".nan", "1E+3", "1.0E-7", "+1.0"]

YAML12_CORE = {
    "int": r"^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$",
    "float": r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?"
             r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$",
}

YAML_SCRIPT = r"""
import json, sys, yaml
samples = json.loads(sys.argv[1])
pats = {}
for first, resolvers in yaml.resolver.Resolver.yaml_implicit_resolvers.items():
    for tag, rx in resolvers:
        kind = tag.rsplit(":", 1)[1]
        if kind in ("int", "float", "bool", "null"):
            pats[kind] = rx.pattern
read = []
for t in samples:
    v = yaml.safe_load("x: " + t)["x"]
    read.append({"text": t, "type": type(v).__name__, "repr": repr(v)})
print(json.dumps({"pyyaml_version": yaml.__version__, "pyyaml": pats, "samples": read}))
"""


def yaml_resolvers(shared):
    """PyYAML's resolver regexes (verbose-mode patterns, compile with `(?x)`), from the
    oracle's environment, which has PyYAML."""
    home = os.environ.get("SWEEPS_ORACLE_HOME", os.path.join(shared, "tools", "sweeps-oracle"))
    python = os.path.join(home, "venv030", "bin", "python")
    out = subprocess.run([python, "-c", YAML_SCRIPT, json.dumps(YAML_SAMPLES)], check=True,
                         capture_output=True, text=True).stdout
    data = json.loads(out)
    data["yaml12_core"] = YAML12_CORE
    os.makedirs(os.path.join(OUT, "yaml"), exist_ok=True)
    with open(os.path.join(OUT, "yaml", "resolvers.json"), "w", encoding="utf-8") as w:
        json.dump(data, w, indent=1, sort_keys=True)
        w.write("\n")
    print("yaml: resolvers")


if __name__ == "__main__":
    main()
