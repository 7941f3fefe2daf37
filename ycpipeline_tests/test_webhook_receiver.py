"""The webhook receiver over real HTTP: auth, limits, shapes, durable writes, concurrency."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from ycpipeline.serving import serve_in_thread
from ycpipeline.webhooks.receiver import WEBHOOK_PATH, create_receiver

SECRET = "hook-secret-9f8e7d6c5b4a"
SAMPLE = json.loads((Path(__file__).parent / "samples" / "webhook_record_update.json").read_text())


@pytest.fixture
def receiver(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    app = create_receiver(tmp_path / "inbox", SECRET, max_body=64 * 1024, read_timeout=1.0)
    with serve_in_thread(app) as base:
        yield base, tmp_path / "inbox"


def _files(inbox: Path, folder: str) -> list[Path]:
    return sorted(p for p in (inbox / folder).iterdir() if not p.name.endswith(".reason.json"))


def test_secret_in_path_or_query_and_durable_content(receiver: tuple[str, Path]) -> None:
    base, inbox = receiver
    r1 = httpx.post(f"{base}{WEBHOOK_PATH}/{SECRET}", json=SAMPLE)
    r2 = httpx.post(
        f"{base}{WEBHOOK_PATH}", params={"secret": SECRET}, json=[SAMPLE, {**SAMPLE, "status": "delete"}]
    )
    assert (r1.status_code, r1.json()) == (200, {"accepted": 1})
    assert (r2.status_code, r2.json()) == (200, {"accepted": 2})
    files = _files(inbox, "new")
    assert len(files) == 3 and files == sorted(files)
    assert json.loads(files[0].read_text()) == SAMPLE
    assert not list((inbox / "tmp").iterdir())


@pytest.mark.parametrize("url_tail", ["", "/wrong-secret", "?secret=" + SECRET[:-1]])
def test_unauthenticated_is_401_and_writes_nothing(receiver: tuple[str, Path], url_tail: str) -> None:
    base, inbox = receiver
    response = httpx.post(f"{base}{WEBHOOK_PATH}{url_tail}", json=SAMPLE)
    assert response.status_code == 401
    assert not _files(inbox, "new") and not _files(inbox, "dead")


@pytest.mark.parametrize(
    ("body", "status", "reason"),
    [
        (b"{not json", 400, "not JSON"),
        (json.dumps({"resource": "record"}).encode(), 422, "company_id"),
        (json.dumps([SAMPLE, {**SAMPLE, "status": "exploded"}]).encode(), 422, "status"),
        (json.dumps([]).encode(), 422, "empty"),
        (b"x" * (65 * 1024), 413, "larger"),
    ],
)
def test_bad_bodies_are_refused_and_dead_lettered(
    receiver: tuple[str, Path], body: bytes, status: int, reason: str
) -> None:
    base, inbox = receiver
    response = httpx.post(
        f"{base}{WEBHOOK_PATH}/{SECRET}", content=body, headers={"content-type": "application/json"}
    )
    assert response.status_code == status
    assert not _files(inbox, "new")  # a list with one bad event accepts none of it
    dead = _files(inbox, "dead")
    assert len(dead) == 1
    reason_file = dead[0].with_name(dead[0].name + ".reason.json")
    assert reason in json.loads(reason_file.read_text())["reason"]


def test_slow_body_times_out(receiver: tuple[str, Path]) -> None:
    base, inbox = receiver
    host, port = base.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port))) as sock:
        sock.sendall(
            f"POST {WEBHOOK_PATH}/{SECRET} HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n"
            "Content-Type: application/json\r\n\r\n{".encode()
        )
        time.sleep(1.5)
        answer = sock.recv(1024)
    assert b" 408 " in answer
    assert not _files(inbox, "new")


def test_concurrent_posts_all_land_with_distinct_names(receiver: tuple[str, Path]) -> None:
    base, inbox = receiver
    with httpx.Client() as http, ThreadPoolExecutor(max_workers=16) as pool:
        codes = list(
            pool.map(
                lambda i: (
                    http.post(f"{base}{WEBHOOK_PATH}/{SECRET}", json={**SAMPLE, "resource_id": i}).status_code
                ),
                range(200),
            )
        )
    assert codes == [200] * 200
    files = _files(inbox, "new")
    assert len({f.name for f in files}) == 200
    assert sorted(json.loads(f.read_text())["resource_id"] for f in files) == list(range(200))


def test_health(receiver: tuple[str, Path]) -> None:
    base, _ = receiver
    assert httpx.get(f"{base}/health").json() == {"status": "ok"}


@pytest.mark.parametrize(
    "path",
    [
        f"{WEBHOOK_PATH}/..%2F..%2Fetc%2Fpasswd",
        f"{WEBHOOK_PATH}/{SECRET}%2F..%2F..",
        f"{WEBHOOK_PATH}/../../{SECRET}",
    ],
)
def test_traversal_in_the_url_is_refused(receiver: tuple[str, Path], path: str) -> None:
    base, inbox = receiver
    response = httpx.post(f"{base}{path}", json=SAMPLE)
    assert response.status_code in (401, 404)
    assert not _files(inbox, "new")


def test_fields_never_name_files(receiver: tuple[str, Path]) -> None:
    base, inbox = receiver
    sneaky = {**SAMPLE, "resource": "record", "company_id": 235564, "data": {"id": "../../../../tmp/pwn"}}
    assert httpx.post(f"{base}{WEBHOOK_PATH}/{SECRET}", json=sneaky).status_code == 200
    bad = {**SAMPLE, "resource_id": "../../x"}
    assert httpx.post(f"{base}{WEBHOOK_PATH}/{SECRET}", json=bad).status_code == 422
    names = [p.name for p in (inbox / "new").iterdir()]
    assert len(names) == 1 and names[0].endswith(".json") and "/" not in names[0] and ".." not in names[0]
    assert not list(inbox.parent.glob("**/pwn*"))


def test_burst_of_ten_thousand_events_lands_whole(receiver: tuple[str, Path]) -> None:
    base, inbox = receiver
    batch = [{**SAMPLE, "resource_id": i} for i in range(100)]

    def post(n: int) -> int:
        body = [{**e, "resource_id": n * 100 + e["resource_id"]} for e in batch]
        if n % 11 == 10:  # every eleventh request is refused whole: none of it may land
            body[5] = {**body[5], "status": "exploded"}
        with httpx.Client(timeout=60) as http:
            return http.post(f"{base}{WEBHOOK_PATH}/{SECRET}", json=body).status_code

    with ThreadPoolExecutor(max_workers=8) as pool:
        codes = list(pool.map(post, range(110)))
    assert codes.count(200) == 100 and codes.count(422) == 10
    landed = sorted(json.loads(f.read_text())["resource_id"] for f in _files(inbox, "new"))  # 10,000 events
    assert landed == [n * 100 + i for n in range(110) if n % 11 != 10 for i in range(100)]
