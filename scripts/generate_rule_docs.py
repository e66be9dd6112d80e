"""Write docs/rules/ from rules/*.yaml (run by `make docs`; a test checks the pages are current)."""

from __future__ import annotations

import sys
from pathlib import Path

from orgtrust_lint.engine import load_rules
from orgtrust_lint.report.rule_docs import pages


def main() -> int:
    target = Path(__file__).resolve().parent.parent / "docs" / "rules"
    target.mkdir(parents=True, exist_ok=True)
    wanted = pages(load_rules())
    for stale in set(p.name for p in target.glob("*.md")) - set(wanted):
        (target / stale).unlink()
    for name, content in wanted.items():
        path = target / name
        if not path.exists() or path.read_text(encoding="utf-8") != content:
            path.write_text(content, encoding="utf-8")
            print(f"wrote {path.relative_to(target.parent.parent)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
