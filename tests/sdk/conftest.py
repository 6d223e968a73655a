"""The SDK project (package.json, its lock and the Node scripts), installed once per run."""

import shutil
import subprocess
from pathlib import Path

import pytest

from tests.services import node_binary

HERE = Path(__file__).resolve().parent
SDK_FILES = ("package.json", "package-lock.json", "page.js", "flow.js", "messaging.js")


@pytest.fixture(scope="session")
def sdk_dir(tmp_path_factory) -> Path:
    """A temporary copy of the SDK project with its locked dependencies installed."""
    node = node_binary()
    npm = shutil.which("npm", path=str(Path(node).parent)) or shutil.which("npm")
    workdir = tmp_path_factory.mktemp("sdk")
    for name in SDK_FILES:
        shutil.copy(HERE / name, workdir / name)
    result = subprocess.run(
        [npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"],
        cwd=workdir,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return workdir
