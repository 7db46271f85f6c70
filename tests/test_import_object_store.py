"""Imports from object stores (SPEC §3.2): ``s3://`` URLs read through fsspec and s3fs, tested against moto's S3
server started on 127.0.0.1 (a real S3 protocol over HTTP, no network), holding an export in Braze's layout.

The server runs as a subprocess for the module and is stopped afterwards; s3fs finds it through
``AWS_ENDPOINT_URL`` and dummy credentials, as it would find a real store through its usual environment.
"""

from __future__ import annotations

import importlib
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import currentskit as kit
import pytest
from clikit import cli

from campaign_connector.errors import InputError
from campaign_connector.importer import import_event_files, import_user_files
from campaign_connector.store import Store

#: Slow: a moto S3 server in a process of its own for the module.
pytestmark = pytest.mark.slow

BUCKET = "braze-exports"

#: The module starts moto's server (a process of its own); CI runs it like every other test.
pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="module")
def s3_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """moto's S3 server on a free port of 127.0.0.1, holding the export under ``s3://braze-exports/``."""
    port = _free_port()
    log = (tmp_path_factory.mktemp("moto") / "server.log").open("w")
    server = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                              stdout=log, stderr=subprocess.STDOUT)
    endpoint = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"moto's S3 server did not start (see {log.name})") from None
                time.sleep(0.1)
        import boto3

        client = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="testing",
                              aws_secret_access_key="testing")
        client.create_bucket(Bucket=BUCKET)
        root = tmp_path_factory.mktemp("export")
        for key, path in kit.write_export(root).items():
            client.put_object(Bucket=BUCKET, Key=key, Body=path.read_bytes())
        client.create_bucket(Bucket="braze-users")
        client.put_object(Bucket="braze-users", Key="users.csv", Body=b"user_id,timezone\nbraze-1,Europe/Berlin\n")
        yield endpoint
    finally:
        server.terminate()
        server.wait(timeout=10)
        log.close()


@pytest.fixture
def s3_env(s3_server: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """The environment s3fs reads: the local endpoint and dummy credentials."""
    monkeypatch.setenv("AWS_ENDPOINT_URL", s3_server)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    import fsspec

    fsspec.AbstractFileSystem.clear_instance_cache()  # s3fs reads the environment when an instance is made
    return s3_server


def test_the_whole_export_imports_from_an_s3_url_with_nothing_rejected_or_lost(s3_env: str) -> None:
    store = Store.open(":memory:")
    summary = import_event_files(store, [f"s3://{BUCKET}/currents/"])
    assert summary.rejected == 0
    assert summary.by_event == dict(sorted(kit.STORED.items()))
    assert summary.no_user == kit.NO_USER
    assert summary.bot_clicks == kit.BOT_CLICKS
    assert summary.skipped_files == 1
    assert summary.stored + sum(summary.no_user.values()) == sum(len(r) for r in kit.RECORDS.values())
    assert all(name.startswith(f"s3://{BUCKET}/{kit.PREFIX}/event_type=") for name in summary.files)
    assert list(summary.files) == sorted(summary.files)


def test_an_s3_folder_and_a_local_folder_store_the_same_events(s3_env: str, tmp_path: Path) -> None:
    kit.write_export(tmp_path)
    local, remote = Store.open(":memory:"), Store.open(":memory:")
    import_event_files(local, [tmp_path])
    import_event_files(remote, [f"s3://{BUCKET}"])
    query = "SELECT id, user_id, time, event, campaign, properties, bot FROM events ORDER BY seq"
    assert remote.conn.execute(query).fetchall() == local.conn.execute(query).fetchall()


def test_one_s3_object_and_a_users_file(s3_env: str) -> None:
    store = Store.open(":memory:")
    key = kit.key_for("users.messages.email.Open", "dataexport.prod-03.S3.integration.5f0e8a1b+0+0000000002.avro")
    summary = import_event_files(store, [f"s3://{BUCKET}/{key}"])
    assert summary.files == (f"s3://{BUCKET}/{key}",) and summary.by_event == {"open_email": 2}
    users = import_user_files(store, "s3://braze-users/users.csv")
    assert users.stored == 1


@pytest.mark.parametrize(("url", "message"), [
    (f"s3://{BUCKET}/nothing-here/", f"s3://{BUCKET}/nothing-here/: no such object or folder in the store"),
    ("s3://no-such-bucket/x.avro", "s3://no-such-bucket/x.avro: no such object or folder in the store"),
])
def test_a_missing_object_is_one_line(s3_env: str, url: str, message: str) -> None:
    with pytest.raises(InputError) as caught:
        import_event_files(Store.open(":memory:"), [url])
    assert str(caught.value) == message


def test_the_command_line_imports_an_s3_url(s3_env: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    ran = cli(["import", f"s3://{BUCKET}/currents", "--db", str(tmp_path / "t.db")], monkeypatch, capsys)
    assert ran.returncode == 0, ran.stderr
    assert ran.stderr.startswith("Imported 25 events from 21 files in ")
    assert "testing" not in ran.stderr + ran.stdout  # no credential is ever printed


@pytest.mark.parametrize(("url", "extra", "package"), [
    ("s3://bucket/export/", "s3", "s3fs"), ("gs://bucket/export/", "gcs", "gcsfs"),
    ("az://container/export/", "azure", "adlfs"),
])
def test_without_the_extra_one_line_names_the_pip_install(url: str, extra: str, package: str,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    registry = importlib.import_module("fsspec.registry")  # the module (``fsspec.registry`` is its read-only view)
    for module in ("s3fs", "gcsfs", "adlfs"):
        monkeypatch.setitem(sys.modules, module, None)  # as if not installed: importing it raises ImportError
    for protocol in ("s3", "gs", "az"):
        monkeypatch.delitem(registry._registry, protocol, raising=False)  # forget a class already loaded
    with pytest.raises(InputError) as caught:
        import_event_files(Store.open(":memory:"), [url])
    scheme = url.split(":", 1)[0]
    assert str(caught.value) == (f"{url}: reading {scheme}:// URLs needs the {package} package: "
                                 f"pip install 'campaign-connector[{extra}]'")
