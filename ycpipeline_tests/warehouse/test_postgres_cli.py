"""`ycpipeline postgres start/stop`: a taken port and an idle directory are said in one line, not a traceback."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ycpipeline.cli.main import app

runner = CliRunner()


def test_start_on_a_taken_port_names_the_port_and_the_way_out(tmp_path: Path) -> None:
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        port = squatter.getsockname()[1]
        result = runner.invoke(
            app, ["postgres", "start", "--data-dir", str(tmp_path / "pg"), "--port", str(port)]
        )
    assert result.exit_code == 1
    said = " ".join(result.output.split())  # the console wraps long lines
    assert f"port {port} is taken" in said and "TEST_PG_PORT" in said
    assert "Traceback" not in result.output
    assert not (tmp_path / "pg").exists()  # nothing was created for a cluster that cannot start


def test_stop_says_when_there_is_nothing_to_stop(tmp_path: Path) -> None:
    result = runner.invoke(app, ["postgres", "stop", "--data-dir", str(tmp_path / "idle")])
    assert result.exit_code == 0
    said = " ".join(result.output.split())  # the console wraps long lines
    assert "nothing to stop" in said and "var/demo/postgres" in said


def test_a_port_left_in_time_wait_by_a_stopped_server_counts_as_free() -> None:
    """`make test` twice on one TEST_PG_PORT: the first cluster's closed connections must not block it."""
    from ycpipeline.warehouse.embedded import port_is_free

    server = socket.socket()
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as Postgres listens
    server.bind(("127.0.0.1", 0))
    server.listen()
    port = server.getsockname()[1]
    assert not port_is_free(port)  # listening: taken
    client = socket.create_connection(("127.0.0.1", port))
    accepted, _ = server.accept()
    accepted.close()  # the server side closes first, as Postgres does: its end waits in TIME_WAIT
    client.recv(1)
    client.close()
    server.close()
    assert port_is_free(port)


@pytest.mark.skipif(os.geteuid() != 0, reason="as root only: the cluster then runs as another user")
def test_a_private_data_directory_as_root_is_one_clear_line() -> None:
    """`demo --data-dir` on a 0700 directory as root: the cluster's user cannot enter it; say so and how
    to fix it, instead of Postgres's own error from deep inside initdb."""
    import shutil

    from ycpipeline.serving import free_port

    private = Path("var").resolve() / f"private-{os.getpid()}"
    private.mkdir(mode=0o700, parents=True)
    try:
        result = runner.invoke(
            app, ["postgres", "start", "--data-dir", str(private / "pg"), "--port", str(free_port())]
        )
    finally:
        shutil.rmtree(private, ignore_errors=True)
    assert result.exit_code == 1
    said = " ".join(result.output.split())
    assert f"cannot enter {private} (mode 0700)" in said, said
    assert f"chmod o+x {private}" in said and "Traceback" not in result.output
