"""Shared fixtures: small households and the CLI runner that checks exit codes."""

from __future__ import annotations

import contextlib
import io
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from poise.cli import main
from poise.model import Account, AccountKind, Household, TradingRules
from poise.policy import ThresholdPolicy

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"


@dataclass
class Result:
    code: int
    stdout: str
    stderr: str

    def json(self) -> Any:
        return json.loads(self.stdout)


def run_cli(args: Sequence[str]) -> Result:
    """Run ``poise`` in-process as the console script does, capturing both streams."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main([str(a) for a in args])
    return Result(code, out.getvalue(), err.getvalue())


@pytest.fixture
def cli():
    return run_cli


def make_household(
    targets: dict[str, float],
    accounts: Sequence[tuple[str, AccountKind]] = (("brokerage", AccountKind.TAXABLE),),
    policy: object | None = None,
    trading: TradingRules | None = None,
    **kwargs: Any,
) -> Household:
    return Household(
        name="test",
        accounts=tuple(Account(i, k) for i, k in accounts),
        targets=targets,
        policy=policy or ThresholdPolicy(0.05),  # type: ignore[arg-type]
        trading=trading or TradingRules(),
        **kwargs,
    )


D = date(2024, 6, 3)


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path
