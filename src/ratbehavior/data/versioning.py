"""The data version: `data.dvc` names it, a DVC remote holds it, the simulator can remake it.

A fresh clone's local remote is empty, so the demo dataset is rebuilt from the seed recorded in
`data.dvc` and accepted only if DVC finds it identical to the recorded md5; it is then pushed so
the remote serves it from then on.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import yaml

DVC_FILE = "data.dvc"


class DataVersionError(RuntimeError):
    """The data in the workspace cannot be brought to the version `data.dvc` records."""


@dataclass(frozen=True)
class DataVersion:
    md5: str
    path: str
    files: int
    size: int
    simulate_config: str | None  # the config whose `simulation` section remakes this data, if any

    @property
    def short(self) -> str:
        return self.md5.removesuffix(".dir")[:12]


def read_data_version(repo: Path) -> DataVersion:
    dvc_file = repo / DVC_FILE
    if not dvc_file.is_file():
        raise DataVersionError(f"{dvc_file}: not found; track the data with `dvc add data`")
    record = yaml.safe_load(dvc_file.read_text())
    out = record["outs"][0]
    meta = record.get("meta") or {}
    return DataVersion(
        md5=out["md5"], path=out["path"], files=int(out.get("nfiles", 0)), size=int(out.get("size", 0)),
        simulate_config=meta.get("simulate_config"),
    )  # fmt: skip


def dvc(repo: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    """Run the DVC of this environment in `repo`."""
    result = subprocess.run([sys.executable, "-m", "dvc", *args], cwd=repo, capture_output=True, text=True, check=False)
    if check and result.returncode != 0:
        last = (result.stderr.strip() or result.stdout.strip()).splitlines()[-1:] or ["(no output)"]
        raise DataVersionError(f"dvc {' '.join(args)} failed: {last[0]}")
    return result


def workspace_md5(folder: Path) -> str:
    """DVC 3's directory hash (md5 of the sorted JSON list of file md5s), computed without a cache:
    `dvc status` cannot compare a workspace whose cache is empty, as on a fresh clone."""
    entries = sorted(
        ({"md5": hashlib.md5(p.read_bytes()).hexdigest(), "relpath": p.relative_to(folder).as_posix()}
         for p in folder.rglob("*") if p.is_file()),
        key=lambda e: e["relpath"],
    )  # fmt: skip
    return hashlib.md5(json.dumps(entries, sort_keys=True).encode()).hexdigest() + ".dir"


def workspace_matches(repo: Path) -> bool:
    """True when the data folder holds exactly the recorded version."""
    version = read_data_version(repo)
    folder = repo / version.path
    return folder.is_dir() and workspace_md5(folder) == version.md5


def ensure_data(repo: Path, regenerate) -> str:
    """Bring the recorded data version into the workspace; say how ('present', 'pulled', 'regenerated').

    `regenerate(config_path, out_dir)` remakes the data from a simulator config. Data in the
    workspace that differs from the recorded version is never deleted: the call stops instead.
    """
    version = read_data_version(repo)
    target = repo / version.path
    if workspace_matches(repo):
        return "present"
    if target.exists() and any(target.iterdir()):
        raise DataVersionError(
            f"{target} differs from the version in {DVC_FILE} ({version.short}); "
            "move it away or `dvc checkout data.dvc` to discard local changes"
        )
    if dvc(repo, "pull", DVC_FILE, check=False).returncode == 0 and workspace_matches(repo):
        return "pulled"
    if version.simulate_config is None:
        raise DataVersionError(f"the DVC remote does not have {version.short} and {DVC_FILE} names no simulator config")
    shutil.rmtree(target, ignore_errors=True)
    regenerate(repo / version.simulate_config, target)
    if not workspace_matches(repo):
        raise DataVersionError(
            f"data regenerated from {version.simulate_config} differs from {version.short} in {DVC_FILE}: "
            "the simulator's output changed; record the new version deliberately with `dvc add data`"
        )
    dvc(repo, "commit", "--force", DVC_FILE)
    dvc(repo, "push", DVC_FILE)
    return "regenerated"


def default_remote(repo: Path) -> tuple[str, dict[str, str]]:
    """(name, settings) of the project's default DVC remote, as `dvc config --list` resolves them
    (a local remote's path made absolute, config.local merged in)."""
    listing = dvc(repo, "config", "--list", check=False)
    if listing.returncode != 0:
        raise DataVersionError(f"{repo}: not a DVC project")
    entries = dict(line.split("=", 1) for line in listing.stdout.splitlines() if "=" in line)
    name = entries.get("core.remote")
    if not name:
        raise DataVersionError(f"{repo}: no default DVC remote; add one with `dvc remote add -d`")
    prefix = f"remote.{name}."
    return name, {key.removeprefix(prefix): value for key, value in entries.items() if key.startswith(prefix)}


def fetch_version(repo: Path, md5: str, destination: Path) -> Path:
    """Bring data version `md5` from the project's DVC remote into `destination`/data, whatever the
    workspace holds now. A throwaway DVC project at `destination` does the pull, because DVC refuses
    a .dvc file in the project's git-ignored or DVC-internal folders; it shares the project's cache,
    so a version already cached costs no download. Returns the data folder."""
    _, remote = default_remote(repo)
    cache = dvc(repo, "cache", "dir").stdout.strip()
    destination.mkdir(parents=True, exist_ok=True)
    if not (destination / ".dvc").is_dir():
        dvc(destination, "init", "--no-scm", "-q")
    dvc(destination, "config", "core.analytics", "false")
    dvc(destination, "remote", "add", "--force", "--default", "source", remote.pop("url"))
    for key, value in remote.items():
        # --local: credentials the project keeps out of git stay out of the copy's shared config too.
        dvc(destination, "remote", "modify", "--local", "source", key, value)
    dvc(destination, "cache", "dir", cache)
    (destination / DVC_FILE).write_text(yaml.safe_dump({"outs": [{"md5": md5, "hash": "md5", "path": "data"}]}))
    pulled = dvc(destination, "pull", DVC_FILE, check=False)
    data = destination / "data"
    if pulled.returncode != 0 or workspace_md5(data) != md5:
        reason = (pulled.stderr.strip() or pulled.stdout.strip()).splitlines()[-1:] or ["the pulled data differs"]
        raise DataVersionError(f"data version {md5.removesuffix('.dir')[:12]} could not be fetched: {reason[0]}")
    return data


def resolve_rev(repo: Path, rev: str) -> tuple[str, str]:
    """(commit id, data md5) of a git revision: a moving name (a branch, HEAD) becomes the commit it
    points to now, and that commit's data.dvc names the data version."""
    commit = subprocess.run(
        ["git", "rev-parse", "--verify", f"{rev}^{{commit}}"], cwd=repo, capture_output=True, text=True, check=False
    )
    if commit.returncode != 0:
        raise DataVersionError(f"{repo}: {rev!r} is not a git revision")
    sha = commit.stdout.strip()
    shown = subprocess.run(["git", "show", f"{sha}:{DVC_FILE}"], cwd=repo, capture_output=True, text=True, check=False)
    if shown.returncode != 0:
        raise DataVersionError(f"{repo}: commit {sha[:12]} has no {DVC_FILE}")
    return sha, yaml.safe_load(shown.stdout)["outs"][0]["md5"]
