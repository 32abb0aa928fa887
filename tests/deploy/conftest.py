"""Deployment checks (issue 8): Dockerfiles, docker-compose.yml, .env.example and deploy/k8s,
read statically and compared with what the code actually serves and reads."""

from __future__ import annotations

import sys
from pathlib import Path

# The tests import their shared readers as a plain module (pytest runs with importlib mode).
sys.path.insert(0, str(Path(__file__).resolve().parent))
