"""Set-up: the wall time of `make install` and then `make demo` in a fresh clone of this repository.

    .venv/bin/python bench/bench_setup.py [--json FILE]

What a new user waits for before seeing the sync work: the clone gets its own .venv (pip, from PyPI or the local
wheel cache) and the demo installs the Meltano plugins, starts both sandboxes and runs `meltano run sync` four
times. Only what is committed is cloned. It takes minutes and needs PyPI, so `make bench` runs it only when asked
(`bench/run_all.py --with-setup`).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a script: `bench` is a top-level package

from bench.harness import REPO, save_figures


def timed(command: list[str], folder: Path) -> float:
    started = time.perf_counter()
    result = subprocess.run(command, cwd=folder, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        msg = f"{' '.join(command)} failed ({result.returncode}):\n{result.stdout[-2000:]}{result.stderr[-2000:]}"
        raise RuntimeError(msg)
    return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", help="write the figures to this file")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-setup-") as tmp:
        clone = Path(tmp) / "clone"
        subprocess.run(["git", "clone", "--quiet", str(REPO), str(clone)], check=True)
        install = timed(["make", "install"], clone)
        demo = timed(["make", "demo"], clone)
    print(f"fresh clone: make install {install:.0f} s, then make demo {demo:.0f} s ({(install + demo) / 60:.1f} min)")
    save_figures(args.json, {"install_seconds": install, "demo_seconds": demo})
    return 0


if __name__ == "__main__":
    sys.exit(main())
