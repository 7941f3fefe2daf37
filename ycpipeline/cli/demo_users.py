"""Demo app users drawn from the sandbox's clients: matched by code, by phone only, and one ambiguous pair."""

from __future__ import annotations

from sqlalchemy import Engine, text

from ycpipeline_sandbox.generator import people

FIRST_USER_ID = 1000  # user ids are 1000 + the sandbox person's index
# Two app accounts sharing one phone, on purpose: the ambiguous pair `ambiguous_user_matches` reports.
AMBIGUOUS_PAIR = (FIRST_USER_ID, 9000)


def seed_demo_users(engine: Engine, seed: int = 42, count: int = 200) -> int:
    """Insert demo users unless present; returns how many users the table holds afterwards."""
    pool = people(seed)[:count]
    rows = []
    for person in pool:
        has_code = person.index % 3 != 0  # every third user is known by phone only
        rows.append(
            {
                "user_id": FIRST_USER_ID + person.index,
                "unique_code": person.code if has_code else None,
                "phone": f"+7{person.phone_digits}",
            }
        )
    rows.append({"user_id": AMBIGUOUS_PAIR[1], "unique_code": None, "phone": f"+7{pool[0].phone_digits}"})
    with engine.begin() as conn:
        conn.execute(
            text("""INSERT INTO loyalty.app_users (user_id, unique_code, phone)
                    VALUES (:user_id, :unique_code, :phone) ON CONFLICT DO NOTHING"""),
            rows,
        )
        return conn.execute(text("SELECT count(*) FROM loyalty.app_users")).scalar_one()
