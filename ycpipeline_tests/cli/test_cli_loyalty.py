"""`ycpipeline loyalty`: operators move points through the app's own SQL functions."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine
from typer.testing import CliRunner

from ycpipeline.cli.main import app
from ycpipeline_tests.support.ledger_rows import USER, accrue

runner = CliRunner()


@pytest.fixture
def warehouse_env(warehouse_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WAREHOUSE_URL", warehouse_url)


def _run(*args: str) -> str:
    result = runner.invoke(app, ["loyalty", *args])
    assert result.exit_code == 0, result.output
    return result.output


@pytest.mark.usefixtures("warehouse_env")
def test_spend_hold_capture_release_and_balance(engine: Engine) -> None:
    accrue(engine, 1, "100.00")
    spent = _run("spend", str(USER), "30", "desk-1")
    assert _run("spend", str(USER), "30", "desk-1") == spent  # a retry: the same entry
    assert "hold basket-1: entry" in _run("hold", str(USER), "20", "basket-1", "--minutes", "5")
    _run("hold", str(USER), "10", "basket-2")
    _run("capture", "basket-1")
    _run("release", "basket-2")
    assert _run("balance", str(USER)) == (
        f"user {USER}: balance 50.00, available 50.00, held 0.00; accrued 100.00, reversed 0.00, "
        "spent 50.00, expired 0.00\n"
    )
    refused = runner.invoke(app, ["loyalty", "spend", str(USER), "50.01", "desk-2"])
    assert refused.exit_code == 1
    assert "refused: insufficient points: user 7 has 50.00 available, 50.01 asked" in refused.output
    assert "expiry (never): 0 holds released, 0 lots expired" in _run("expire")
