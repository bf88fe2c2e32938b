"""The schemas the tap ships are exactly what its script derives from the committed Customcrm contract."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "tap-customcrm" / "scripts" / "derive_schemas.py"
CONTRACT = REPO / "sandbox" / "customcrm" / "openapi.json"


def test_shipped_schemas_match_the_contract() -> None:
    check = subprocess.run(
        [sys.executable, str(SCRIPT), str(CONTRACT), "--check"], capture_output=True, text=True, check=False
    )
    assert check.returncode == 0, (
        check.stderr + f"\nrun: python {SCRIPT.relative_to(REPO)} {CONTRACT.relative_to(REPO)}"
    )
