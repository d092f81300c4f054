#!/usr/bin/python3
"""mutate.py - run hand-made mutants of canal.c against the gcc test suite.

A mutants file (e.g. test/mutants.md) has one mutant per line:

    - **M7** where: `original line` => `mutated line` — anything after

The original text must occur exactly once in canal.c (leading blanks are
ignored; a literal \\n in either text stands for a line break, so a mutant
that deletes a line can name its neighbour to be unique). For each mutant (or only those named on the command line) the
script applies the change, builds test_unit, test_faults, test_noheap and
test_client into build-mut/, runs them (bounded in time) and restores
canal.c (the byte sweeps of test_faults at CANAL_FAULT_SCALE=4 unless set,
-O1). It prints one line per mutant: KILLED with the binaries and
tests that failed, SURVIVED, or SKIPPED (original text not found once).

usage: test/mutate.py MUTANTS_FILE [M7 M12 ...]    (from the top directory)
"""
import os
import re
import subprocess
import sys

B = "build-mut"
RUNS = [  # the guards are in test_faults: it kills most, so it runs first
    ("test_faults", [f"{B}/test_faults", f"{B}/fixtures"]),
    ("test_unit", [f"{B}/test_unit", f"{B}/fixtures"]),
    ("test_noheap", [f"{B}/test_noheap", f"{B}/fixtures"]),
    ("test_client", [f"{B}/test_client", B]),
]
LINE = re.compile(r"^\s*-\s+\*\*(M\d+)\*\*\s+(.*?):\s+`(.*)`\s+=>\s+`(.*?)`(.*)$")


def parse(path):
    out = []
    for line in open(path, encoding="utf-8"):
        m = LINE.match(line)
        if m:
            mid, where, orig, new = m.groups()[:4]
            # "\n" in a pattern stands for a line break (patterns are one line here)
            out.append((mid, where, orig.replace("\\n", "\n"), new.replace("\\n", "\n")))
    return out


def run_suite(stop_at_first):
    failed = []
    for name, argv in RUNS:
        try:
            env = dict(os.environ)
            env.setdefault("CANAL_FAULT_SCALE", "4")  # the byte-by-byte sweeps, every 4th byte
            p = subprocess.run(argv, capture_output=True, text=True, timeout=300, env=env)
            rc, text = p.returncode, p.stdout + p.stderr
        except subprocess.TimeoutExpired:
            rc, text = -1, "FAILED (timed out after 300 s)"
        if rc != 0:
            tests = sorted(set(re.findall(r"^FAILED (\S+)", text, re.M)))
            failed.append(f"{name}({','.join(tests) or 'rc=%d' % rc})")
            if stop_at_first:
                break
    return failed


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    mutants = parse(sys.argv[1])
    only = set(sys.argv[2:])
    src = open("canal.c", encoding="utf-8").read()
    stop = os.environ.get("MUTATE_ALL") is None
    killed = total = 0
    try:
        for mid, where, orig, new in mutants:
            if only and mid not in only:
                continue
            total += 1
            if src.count(orig.strip()) != 1:
                print(f"{mid} SKIPPED ({where}): original found {src.count(orig.strip())} times", flush=True)
                continue
            open("canal.c", "w", encoding="utf-8").write(src.replace(orig.strip(), new.strip(), 1))
            b = subprocess.run(["make", "--no-print-directory", f"B={B}", "OPT=-O1 -g", f"{B}/test_unit", f"{B}/test_faults",
                                f"{B}/test_noheap", f"{B}/test_client", f"{B}/fixtures/.stamp"],
                               capture_output=True, text=True)
            if b.returncode != 0:
                print(f"{mid} KILLED ({where}): does not build", flush=True)
                killed += 1
                continue
            failed = run_suite(stop)
            if failed:
                killed += 1
                print(f"{mid} KILLED ({where}): {' '.join(failed)}", flush=True)
            else:
                print(f"{mid} SURVIVED ({where})", flush=True)
    finally:
        open("canal.c", "w", encoding="utf-8").write(src)
    print(f"killed {killed} of {total}")


if __name__ == "__main__":
    main()
