"""The template's build cost with the UI kit, against the template before it: a cold `vite build`
(no dist, no Vite cache) and a warm `tsc --noEmit --incremental` (the checks' compiler run, second
run on unchanged files), both on the template alone, median of several interleaved runs.

Run: .venv/bin/python -m bench.template [--baseline REF] [--runs N]
(REF: the commit whose template is "before"; default the last commit without the kit.)
Needs npm and the registry (each template's dependencies are installed once from its lock file).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from bench.common import write_results
from server.template import TEMPLATE_DIR

ROOT = Path(__file__).resolve().parent.parent
BASELINE = "3813bfd"  # the template of the last commit before Tailwind and the kit
FRONTEND = "server/template/files/frontend"


def _baseline(ref: str, into: Path) -> None:
    """The frontend template as it was at `ref` (read with git, the work tree untouched)."""
    listed = subprocess.run(
        ["git", "ls-tree", "-r", "--name-only", ref, FRONTEND],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    for path in listed:
        data = subprocess.run(
            ["git", "show", f"{ref}:{path}"], cwd=ROOT, capture_output=True, check=True
        ).stdout
        target = into / Path(path).relative_to(FRONTEND)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)


def _install(folder: Path) -> None:
    subprocess.run(
        ["npm", "ci", "--ignore-scripts", "--no-audit", "--no-fund"],
        cwd=folder,
        check=True,
        capture_output=True,
        timeout=900,
    )


def _timed(command: list[str], cwd: Path) -> float:
    began = time.monotonic()
    done = subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=600)
    elapsed = time.monotonic() - began
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed in {cwd}:\n{done.stdout}{done.stderr}")
    return elapsed


def _cold_build(folder: Path) -> float:
    shutil.rmtree(folder / "dist", ignore_errors=True)
    shutil.rmtree(folder / "node_modules" / ".vite", ignore_errors=True)
    return _timed(["node_modules/.bin/vite", "build", "--logLevel", "error"], folder)


def _warm_tsc(folder: Path) -> float:
    command = ["node_modules/.bin/tsc", "--noEmit", "-p", "tsconfig.json", "--incremental"]
    command += ["--tsBuildInfoFile", str(folder / "bench.tsbuildinfo")]
    _timed(command, folder)  # the first run writes the incremental state
    return _timed(command, folder)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--baseline", default=BASELINE)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="stepforge-bench-template-") as scratch:
        before, after = Path(scratch) / "before", Path(scratch) / "after"
        _baseline(args.baseline, before)
        shutil.copytree(
            TEMPLATE_DIR / "frontend", after, ignore=shutil.ignore_patterns("node_modules", "dist")
        )
        for folder in (before, after):
            _install(folder)
        samples: dict[str, list[float]] = {"before_build": [], "after_build": []}
        samples.update({"before_tsc": [], "after_tsc": []})
        for _ in range(args.runs):  # interleaved, so a busy moment costs both alike
            for name, folder in (("before", before), ("after", after)):
                samples[f"{name}_build"].append(_cold_build(folder))
                samples[f"{name}_tsc"].append(_warm_tsc(folder))
    median = {name: round(statistics.median(values), 2) for name, values in samples.items()}
    load = os.getloadavg()[1]  # the machine's 5-minute load: a busy machine slows "after" more
    write_results(
        "template",
        {
            "baseline": args.baseline,
            "runs": args.runs,
            "cold_build_before_seconds": median["before_build"],
            "cold_build_after_seconds": median["after_build"],
            "cold_build_ratio": round(median["after_build"] / median["before_build"], 3),
            "warm_tsc_before_seconds": median["before_tsc"],
            "warm_tsc_after_seconds": median["after_tsc"],
            "warm_tsc_ratio": round(median["after_tsc"] / median["before_tsc"], 3),
            "load_average": round(load, 1),
        },
    )


if __name__ == "__main__":
    main()
