"""Run the fake server on its own: `python -m tests.fake_groq --port 8765 [--synthetic]`.

Then point StepForge at it: GROQ_BASE_URL=http://127.0.0.1:8765 GROQ_API_KEY=gsk-test-key.
"""

from __future__ import annotations

import argparse
import time

from tests.fake_groq import AppResponder, FakeGroq, Latency, ScriptedApp
from tests.fake_groq.changes import favorites_responder


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--synthetic", action="store_true", help="the 60-file benchmark app")
    parser.add_argument("--first-token", type=float, default=0.0, help="seconds to first token")
    parser.add_argument("--tps", type=float, default=None, help="tokens per second")
    args = parser.parse_args()
    app = ScriptedApp.synthetic() if args.synthetic else ScriptedApp.fixture()
    responder = AppResponder(app)
    if not args.synthetic:
        # The quick start's follow-up: the first change request, whatever it says, is answered
        # with the scripted favorites change (a page, an API module, a model field).
        favorites_responder(responder)
    fake = FakeGroq(responder, latency=Latency(args.first_token, args.tps)).start(args.port)
    print(f"fake Groq on {fake.base_url} (key {fake.api_key})", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        fake.stop()


if __name__ == "__main__":
    main()
