from __future__ import annotations

from repolicy.cli import run

if __name__ == "__main__":
    run()
