"""Print the longest functions in the source tree (by line count, decorators excluded).

python bench/longest_functions.py [N]
"""

import ast
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("analysis", "detectors", "generator", "studies", "webapp")


def functions(root: Path = ROOT):
    for package in PACKAGES:
        for path in sorted((root / package).rglob("*.py")):
            if "migrations" in path.parts:
                continue
            tree = ast.parse(path.read_text(encoding="utf-8"))
            for node in ast.walk(tree):
                if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                    length = node.end_lineno - node.lineno + 1
                    yield length, f"{path.relative_to(root)}:{node.lineno}:{node.name}"


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 10
    for length, where in sorted(functions(), reverse=True)[:count]:
        print(f"{length:5d}  {where}")


if __name__ == "__main__":
    main()
