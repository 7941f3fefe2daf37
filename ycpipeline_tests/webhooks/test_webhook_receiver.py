"""The webhook receiver over real HTTP into the Postgres queue: auth, limits, shapes, hostile content,
durable writes before the answer, concurrency, and a database that is down."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, text

from ycpipeline.serving import serve_in_thread
from ycpipeline.webhooks.receiver import WEBHOOK_PATH, create_receiver

SECRET = "hook-secret-9f8e7d6c5b4a"
SAMPLE = json.loads((Path(__file__).parents[1] / "samples" / "webhook_record_update.json").read_text())


@pytest.fixture
def receiver(engine: Engine) -> Iterator[str]:
    app = create_receiver(engine, SECRET, max_body=64 * 1024, read_timeout=1.0)
    with serve_in_thread(app) as base:
        yield base


def _queued(engine: Engine) -> list[Any]:
    with engine.connect() as conn:
        return list(
            conn.execute(
                text("""SELECT id, company_id, resource, resource_id, action, status, reason, body
                        FROM yclients.webhook_events ORDER BY id""")
            )
        )


def _dead(engine: Engine) -> list[Any]:
    with engine.connect() as conn:
        return list(
            conn.execute(
                text("""SELECT company_id, source_key, reasons, raw FROM yclients.rejected_rows
                        WHERE entity = 'webhook' ORDER BY id""")
            )
        )


def test_secret_in_path_or_query_and_durable_content(receiver: str, engine: Engine) -> None:
    r1 = httpx.post(f"{receiver}{WEBHOOK_PATH}/{SECRET}", json=SAMPLE)
    r2 = httpx.post(
        f"{receiver}{WEBHOOK_PATH}", params={"secret": SECRET}, json=[SAMPLE, {**SAMPLE, "status": "delete"}]
    )
    assert (r1.status_code, r1.json()) == (200, {"accepted": 1, "rejected": 0})
    assert (r2.status_code, r2.json()) == (200, {"accepted": 2, "rejected": 0})
    rows = _queued(engine)  # committed before the answer: visible from another connection now
    assert [(r.status, r.action) for r in rows] == [
        ("pending", "update"),
        ("pending", "update"),
        ("pending", "delete"),
    ]
    assert rows[0].body == SAMPLE and rows[0].resource_id == 512340017
    assert not _dead(engine)


@pytest.mark.parametrize("url_tail", ["", "/wrong-secret", "?secret=" + SECRET[:-1]])
def test_unauthenticated_is_401_and_writes_nothing(receiver: str, engine: Engine, url_tail: str) -> None:
    response = httpx.post(f"{receiver}{WEBHOOK_PATH}{url_tail}", json=SAMPLE)
    assert response.status_code == 401
    assert not _queued(engine) and not _dead(engine)  # not even a dead letter: anyone can post


@pytest.mark.parametrize(
    ("body", "status", "reason"),
    [
        (b"{not json", 400, "not JSON"),
        (b"\xff\xfe not utf-8", 400, "not JSON"),
        (b"[" * 50_000, 400, "not JSON"),
        (json.dumps({"resource": "record"}).encode(), 422, "company_id"),
        (json.dumps([SAMPLE, {**SAMPLE, "status": "exploded"}]).encode(), 422, "status"),
        (json.dumps([]).encode(), 422, "empty"),
        (json.dumps({**SAMPLE, "data": json.loads("[" * 80 + "]" * 80)}).encode(), 422, "deeper"),
        (b"x" * (65 * 1024), 413, "larger"),
    ],
)
def test_bad_bodies_are_refused_and_dead_lettered(
    receiver: str, engine: Engine, body: bytes, status: int, reason: str
) -> None:
    response = httpx.post(
        f"{receiver}{WEBHOOK_PATH}/{SECRET}", content=body, headers={"content-type": "application/json"}
    )
    assert response.status_code == status
    assert not _queued(engine)  # a list with one malformed event accepts none of it
    dead = _dead(engine)
    assert len(dead) == 1 and reason in dead[0].reasons[0]


def test_hostile_content_is_cleaned_or_refused_per_event(receiver: str, engine: Engine) -> None:
    hostile = [
        {**SAMPLE, "data": {**SAMPLE["data"], "comment": "NUL\x00here"}},
        {**SAMPLE, "data": {**SAMPLE["data"], "comment": "half an emoji \ud83d"}, "note\x00": "\udc00"},
        {**SAMPLE, "resource_id": 2**63},
        {**SAMPLE, "company_id": 2**64},
        {**SAMPLE, "resource_id": 0},
        {**SAMPLE, "resource": "goods_operations_sale"},
        {**SAMPLE, "resource": "hologram\x00"},
        SAMPLE,
    ]
    # json.dumps writes a lone surrogate as the escape \ud83d, as a sender would; the body stays valid JSON.
    response = httpx.post(
        f"{receiver}{WEBHOOK_PATH}/{SECRET}",
        content=json.dumps(hostile).encode(),
        headers={"content-type": "application/json"},
    )
    assert (response.status_code, response.json()) == (200, {"accepted": 5, "rejected": 3})
    rows = _queued(engine)
    assert rows[0].body["data"]["comment"] == "NULhere"
    assert rows[1].body["data"]["comment"] == "half an emoji \ufffd" and rows[1].body["note"] == "\ufffd"
    assert [r.status for r in rows] == ["pending", "pending", "pending", "ignored", "pending"]
    assert rows[3].reason == "unknown resource 'hologram'"
    dead = _dead(engine)
    assert [d.reasons[0].split(" ")[0] for d in dead] == ["resource_id", "company_id", "resource_id"]
    assert dead[0].company_id == 235564 and dead[1].company_id is None


def test_slow_body_times_out(receiver: str, engine: Engine) -> None:
    host, port = receiver.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port))) as sock:
        sock.sendall(
            f"POST {WEBHOOK_PATH}/{SECRET} HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n"
            "Content-Type: application/json\r\n\r\n{".encode()
        )
        time.sleep(1.5)
        answer = sock.recv(1024)
    assert b" 408 " in answer
    assert not _queued(engine)


def test_concurrent_posts_all_land_with_distinct_ids(receiver: str, engine: Engine) -> None:
    with httpx.Client() as http, ThreadPoolExecutor(max_workers=16) as pool:
        codes = list(
            pool.map(
                lambda i: (
                    http.post(
                        f"{receiver}{WEBHOOK_PATH}/{SECRET}", json={**SAMPLE, "resource_id": i}
                    ).status_code
                ),
                range(1, 201),
            )
        )
    assert codes == [200] * 200
    rows = _queued(engine)
    assert len({r.id for r in rows}) == 200
    assert sorted(r.resource_id for r in rows) == list(range(1, 201))


def test_health(receiver: str) -> None:
    assert httpx.get(f"{receiver}/health").json() == {"status": "ok"}


def test_a_database_that_is_down_gets_503_never_a_2xx() -> None:
    app = create_receiver("postgresql+psycopg://nobody@127.0.0.1:9/nowhere", SECRET)
    with serve_in_thread(app) as base:
        assert httpx.post(f"{base}{WEBHOOK_PATH}/{SECRET}", json=SAMPLE).status_code == 503
        assert httpx.get(f"{base}/health").status_code == 503


@pytest.mark.parametrize(
    "path",
    [
        f"{WEBHOOK_PATH}/..%2F..%2Fetc%2Fpasswd",
        f"{WEBHOOK_PATH}/{SECRET}%2F..%2F..",
        f"{WEBHOOK_PATH}/../../{SECRET}",
    ],
)
def test_traversal_in_the_url_is_refused(receiver: str, engine: Engine, path: str) -> None:
    response = httpx.post(f"{receiver}{path}", json=SAMPLE)
    assert response.status_code in (401, 404)
    assert not _queued(engine)


def test_fields_are_data_never_sql(receiver: str, engine: Engine) -> None:
    sneaky = {**SAMPLE, "resource": "record'); DROP TABLE yclients.records; --", "data": {"id": "'; --"}}
    assert httpx.post(f"{receiver}{WEBHOOK_PATH}/{SECRET}", json=sneaky).status_code == 200
    (row,) = _queued(engine)
    assert row.resource == sneaky["resource"] and row.status == "ignored"
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM yclients.records")).scalar_one() == 0


def test_burst_of_ten_thousand_events_lands_whole(receiver: str, engine: Engine) -> None:
    batch = [{**SAMPLE, "resource_id": i} for i in range(1, 101)]

    def post(n: int) -> int:
        body = [{**e, "resource_id": n * 100 + e["resource_id"]} for e in batch]
        if n % 11 == 10:  # every eleventh request is refused whole: none of it may land
            body[5] = {**body[5], "status": "exploded"}
        with httpx.Client(timeout=60) as http:
            return http.post(f"{receiver}{WEBHOOK_PATH}/{SECRET}", json=body).status_code

    with ThreadPoolExecutor(max_workers=8) as pool:
        codes = list(pool.map(post, range(110)))
    assert codes.count(200) == 100 and codes.count(422) == 10
    landed = sorted(r.resource_id for r in _queued(engine))  # 10,000 events
    assert landed == [n * 100 + i for n in range(110) if n % 11 != 10 for i in range(1, 101)]
    assert len(_dead(engine)) == 10
