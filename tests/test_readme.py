"""The README's Python example runs as written (docs that run)."""

from __future__ import annotations

import re
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def test_the_readme_python_example_runs(capsys):
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)
    assert blocks, "the README has a Python example"
    for block in blocks:
        exec(compile(block, "README.md", "exec"), {})
    out = capsys.readouterr().out.split()
    assert float(out[0]) > 0                # the Nd export price in 2011-06, USD/kg
    assert len(out[1]) == 16                # the scenario hash
