"""A real MLflow tracking server on loopback for the tests: its backend store in a database of the
machine's PostgreSQL (created here, dropped afterwards), its artifacts proxied to an S3 server."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg

from tests.s3server import ACCESS_KEY, SECRET_KEY, S3Server, free_port, stop

POSTGRES = {"host": "127.0.0.1", "port": 5432, "user": "postgres", "dbname": "test"}


@contextmanager
def postgres_database() -> Iterator[str]:
    """A fresh database; yields its SQLAlchemy URI."""
    name = f"mlflow_{uuid.uuid4().hex[:12]}"
    admin = psycopg.connect(**POSTGRES, autocommit=True)
    try:
        admin.execute(f"CREATE DATABASE {name}")
        yield f"postgresql://{POSTGRES['user']}@{POSTGRES['host']}:{POSTGRES['port']}/{name}"
    finally:
        admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        admin.close()


def s3_environment(s3: S3Server) -> dict[str, str]:
    return {
        "MLFLOW_S3_ENDPOINT_URL": s3.endpoint, "AWS_ACCESS_KEY_ID": ACCESS_KEY, "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
        "AWS_DEFAULT_REGION": "us-east-1",
    }  # fmt: skip


@contextmanager
def mlflow_server(backend_uri: str, artifacts: str, s3: S3Server, folder: Path) -> Iterator[str]:
    """`mlflow server` with --serve-artifacts to `artifacts` (s3://...); yields its URL once it answers."""
    port = free_port()
    folder.mkdir(parents=True, exist_ok=True)
    log = (folder / "mlflow-server.log").open("w")
    server = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "mlflow"), "server", "--backend-store-uri", backend_uri,
            "--serve-artifacts", "--artifacts-destination", artifacts, "--host", "127.0.0.1", "--port", str(port),
            "--workers", "1",
        ],
        stdout=log, stderr=subprocess.STDOUT, env={**os.environ, **s3_environment(s3)}, cwd=folder,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                with urllib.request.urlopen(f"{url}/health", timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            if server.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"mlflow server did not start: {(folder / 'mlflow-server.log').read_text()[-2000:]}")
            time.sleep(0.5)
        yield url
    finally:
        stop(server)
        log.close()
