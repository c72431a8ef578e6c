"""What every benchmark needs: a daemon environment pointing at the fake server, and its results file."""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import Any

from tests.fake_groq import FakeGroq

RESULTS = Path(__file__).with_name("results")


def daemon_environment(fake: FakeGroq) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GROQ_", "STEPFORGE_"))}
    env.update(fake.env())
    env["PYTHONPATH"] = str(Path(__file__).resolve().parent.parent)
    return env


def write_results(name: str, figures: dict[str, Any]) -> None:
    """bench/results/NAME.json, stamped with the date and the machine; also printed."""
    figures["measured"] = time.strftime("%Y-%m-%d")
    figures["machine"] = f"{os.cpu_count()} cores, Python {sys.version.split()[0]}"
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"{name}.json").write_text(json.dumps(figures, indent=2) + "\n")
    print(json.dumps(figures, indent=2))
