"""Write docs/rules/ from rules/*.yaml, and the field reference of docs/writing-rules.md from the fact
kinds and calls (run by `make docs`; tests check both are current)."""

from __future__ import annotations

import sys
from pathlib import Path

from orgtrust_lint.engine import load_rules
from orgtrust_lint.report.rule_docs import pages, with_reference


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
    guide = target.parent / "writing-rules.md"
    current = guide.read_text(encoding="utf-8")
    wanted_guide = with_reference(current)
    if wanted_guide != current:
        guide.write_text(wanted_guide, encoding="utf-8")
        print("wrote docs/writing-rules.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
