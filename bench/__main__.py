"""Run benchmarks: `python -m bench` lists them, `python -m bench NAME [ARGS]` runs one.

Each benchmark is a module `bench/NAME.py` with `main(argv: list[str]) -> None`; it prints a
Markdown table comparing our code with its baseline, measured side by side in the same run.
"""

from __future__ import annotations

import importlib
import pkgutil
import sys
from pathlib import Path


def available() -> list[str]:
    """The benchmark modules in this folder."""
    folder = Path(__file__).parent
    return sorted(m.name for m in pkgutil.iter_modules([str(folder)]) if not m.name.startswith("_"))


def main(argv: list[str]) -> int:
    names = available()
    if not argv or argv[0] in ("-h", "--help"):
        print("usage: python -m bench NAME [ARGS]   (or `all`)\n\nbenchmarks: " + ", ".join(names))
        return 0
    name, rest = argv[0], argv[1:]
    chosen = names if name == "all" else [name]
    for each in chosen:
        if each not in names:
            print(f"unknown benchmark {each!r}; choose from: {', '.join(names)}", file=sys.stderr)
            return 2
        print(f"\n## {each}\n", flush=True)
        importlib.import_module(f"bench.{each}").main(rest)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
