"""`python -m server` is `stepforge serve`; `python -m server ARGS` is `stepforge ARGS`."""

import sys

from server.cli import main

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:] or ["serve"]))
