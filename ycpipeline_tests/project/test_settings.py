"""Settings refuse what the warehouse cannot hold or reach, naming the variable; secrets are masked."""

from __future__ import annotations

from decimal import Decimal

import pytest
from pydantic import SecretStr

from ycpipeline.settings import SettingsError, load_settings, mask


@pytest.mark.parametrize("rate", ["0.05", "0.0525", "0", "1", "0.1000"])
def test_a_rate_the_ledger_stores_exactly_is_accepted(rate: str) -> None:
    assert load_settings(bonus_rate=rate).bonus_rate == Decimal(rate)


@pytest.mark.parametrize(
    ("rate", "says"),
    [
        ("0.12345", "at most 4 decimals"),  # numeric(6,4) would store 0.1235: the invariant breaks
        ("0.00001", "at most 4 decimals"),
        ("1.5", "less than or equal to 1"),
        ("-0.01", "greater than or equal to 0"),
        ("five percent", "decimal"),
    ],
)
def test_a_rate_the_ledger_cannot_store_is_refused_at_start(rate: str, says: str) -> None:
    with pytest.raises(SettingsError, match="BONUS_RATE") as refused:
        load_settings(bonus_rate=rate)
    assert says in str(refused.value)


@pytest.mark.parametrize(
    "url",
    [
        "not a url",
        "postgresql://user:s3cr3t-pw@host:notaport/db",
        "mysql://user:s3cr3t-pw@host/db",
        "postgresql+psycopg2://user:s3cr3t-pw@host/db",
    ],
)
def test_a_malformed_warehouse_url_is_refused_without_repeating_it(url: str) -> None:
    with pytest.raises(SettingsError, match="WAREHOUSE_URL") as refused:
        load_settings(warehouse_url=url)
    assert "s3cr3t-pw" not in str(refused.value) and url not in str(refused.value)


@pytest.mark.parametrize("url", ["postgresql+psycopg://u:p@h:5432/db", "postgresql://u@h/db", ""])
def test_postgres_urls_through_psycopg_are_accepted(url: str) -> None:
    assert load_settings(warehouse_url=url).warehouse_url == (url or None)


@pytest.mark.parametrize(
    ("secret", "shown"),
    [
        (None, "(not set)"),
        ("short", "****"),
        ("fifteen-chars-x", "****"),
        ("sixteen-chars-xy", "sixt…"),
        (SecretStr("a-much-longer-partner-token-0123456789"), "a-mu…"),
    ],
)
def test_mask_shows_at_most_a_short_prefix(secret: str | SecretStr | None, shown: str) -> None:
    assert mask(secret) == shown


@pytest.mark.parametrize("value", ["0", "235564,0", "9223372036854775808", "²", "235564,-5", "12a"])
def test_a_company_id_that_cannot_be_one_is_refused_at_load_naming_the_variable(
    value: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ids seed the tracked companies and the partitions: a bad one must stop at the settings, not fail
    every schedule tick later."""
    monkeypatch.setenv("YCLIENTS_COMPANY_ID", value)
    with pytest.raises(SettingsError, match="YCLIENTS_COMPANY_ID"):
        load_settings()
