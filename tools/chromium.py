"""Which Chromium the project drives, and how (the browser test and ``tools.diagrams``)."""

from __future__ import annotations

import os
from pathlib import Path

# Debian's Chromium by default; LLM_GUIDE_CHROMIUM points elsewhere (the GitHub workflow
# uses the runner's preinstalled Google Chrome).
CHROMIUM = Path(os.environ.get("LLM_GUIDE_CHROMIUM", "/usr/bin/chromium"))
# Headless, and nothing started that would reach for the network (this machine has none:
# without these flags Chromium's background connections are refused, many at a time).
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
