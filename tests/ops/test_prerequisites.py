"""What `make run` needs before it can install the rest (make, curl, python3-venv, sudo for a
user other than root): scripts/stack.sh names what is missing and installs nothing."""
from __future__ import annotations

import os
import subprocess
from pathlib import Path

from scripts.supervise import config, procfile
from shared.config import ROOT


def _path_without(tmp_path: Path, *tools: str) -> str:
    """A PATH with every program of this machine's PATH but `tools` (symlinks in one directory)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for directory in os.environ["PATH"].split(os.pathsep):
        if not os.path.isdir(directory) or directory.startswith(str(ROOT)):
            continue
        for entry in os.scandir(directory):
            link = bin_dir / entry.name
            if entry.name not in tools and not link.exists() and os.access(entry.path, os.X_OK):
                link.symlink_to(entry.path)
    return str(bin_dir)


def test_a_missing_curl_is_named_before_anything_is_installed(tmp_path):
    env = dict(os.environ, PATH=_path_without(tmp_path, "curl", "apt-get"), CHITIEU_STACK_DIR=str(tmp_path / "stack"))
    result = subprocess.run(["bash", str(ROOT / "scripts" / "stack.sh"), "install"], env=env,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode != 0
    assert "missing: curl" in result.stderr, result.stderr
    assert "make, curl, python3-venv" in result.stderr and "apt-get install -y make curl" in result.stderr
    assert "apt-get" not in result.stdout  # nothing was tried (apt-get is not even on the PATH)


def test_the_supervisor_runs_every_procfile_process_and_restarts_it(tmp_path):
    processes = procfile()
    text = config(tmp_path, processes)
    for name, command in processes.items():
        block = text.split(f"[program:{name}]\n", 1)[1].split("\n[", 1)[0]
        assert "autorestart=true" in block and "stopasgroup=true" in block, name
        assert f"stdout_logfile={tmp_path / 'logs' / name}.log" in block
        assert "exec " + command.replace("%", "%%") in block.replace("'\"'\"'", "'"), name
