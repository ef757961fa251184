"""A real S3-compatible server (SeaweedFS) on loopback for the tests, with its own ports and folder."""

from __future__ import annotations

import json
import random
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pyarrow.fs as pafs

WEED = Path(sys.executable).parent / "weed"
ACCESS_KEY, SECRET_KEY = "ratbehavior-test", "ratbehavior-test-secret"


def _bindable(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def free_port_with_grpc_twin(rng: random.Random) -> int:
    """SeaweedFS serves gRPC on its HTTP port + 10000: both must be free (and below 65536)."""
    while True:
        port = rng.randrange(20000, 40000)
        if _bindable(port) and _bindable(port + 10000):
            return port


def stop(server: subprocess.Popen) -> None:
    """Terminate a test server; kill it if it ignores SIGTERM (SeaweedFS does while a client still
    holds connections open)."""
    server.terminate()
    try:
        server.wait(timeout=30)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()


@dataclass(frozen=True)
class S3Server:
    endpoint: str

    def filesystem(self) -> pafs.S3FileSystem:
        return pafs.S3FileSystem(
            endpoint_override=self.endpoint, scheme="http", access_key=ACCESS_KEY, secret_key=SECRET_KEY,
            region="us-east-1", allow_bucket_creation=True,
        )  # fmt: skip

    def make_bucket(self, name: str) -> None:
        self.filesystem().create_dir(name)


@contextmanager
def s3_server(folder: Path) -> Iterator[S3Server]:
    folder.mkdir(parents=True, exist_ok=True)
    identities = {"identities": [{"name": "test", "credentials": [{"accessKey": ACCESS_KEY, "secretKey": SECRET_KEY}],
                                  "actions": ["Admin", "Read", "Write", "List", "Tagging"]}]}  # fmt: skip
    (folder / "s3.json").write_text(json.dumps(identities))
    rng = random.Random()
    s3_port, *ports = (free_port_with_grpc_twin(rng) for _ in range(4))
    log = (folder / "weed.log").open("w")
    server = subprocess.Popen(
        [
            str(WEED), "server", f"-dir={folder}", "-ip=127.0.0.1", "-ip.bind=127.0.0.1", "-s3",
            f"-s3.port={s3_port}", "-s3.port.iceberg=0", "-s3.port.lance=0", f"-s3.config={folder / 's3.json'}",
            f"-master.port={ports[0]}", f"-volume.port={ports[1]}", f"-filer.port={ports[2]}",
            # Every bucket grows its own set of volumes, 7 at a time: with the default cap of 8, the
            # second bucket written to (MLflow's after DVC's) found none left and every PUT failed.
            "-volume.max=64", "-master.volumeSizeLimitMB=256",
        ],
        stdout=log, stderr=subprocess.STDOUT, cwd=folder,
    )  # fmt: skip
    s3 = S3Server(f"http://127.0.0.1:{s3_port}")
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                s3.filesystem().get_file_info(pafs.FileSelector("", allow_not_found=True))
                break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise RuntimeError(f"the S3 server did not come up; see {folder / 'weed.log'}") from None
                time.sleep(0.5)
        yield s3
    finally:
        stop(server)
        # The folder (data and weed.log) stays for pytest's tmp_path retention to clean up.
        log.close()
