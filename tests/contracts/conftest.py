"""Contract snapshot tests: the comparer and readers are plain modules next to the tests."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
