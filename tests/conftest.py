import os, sys, shutil, subprocess
from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent

def quanta_exe():
    exe = shutil.which('quanta', path=str(BIN)) or shutil.which('quanta')
    if exe is None: pytest.fail("the `quanta` console script is not installed (pip install -e .)")
    return exe

def quanta(*args, cwd=None, timeout=600, env=None):
    "Run the installed `quanta` script; returns the CompletedProcess"
    e = {**os.environ, 'PYTHONWARNINGS': 'ignore', **(env or {})}
    return subprocess.run([quanta_exe(), *map(str, args)], capture_output=True, text=True, cwd=cwd, timeout=timeout, env=e)

@pytest.fixture(scope='session')
def demo_source(tmp_path_factory):
    "A tiny demo-preset source checkpoint trained through the CLI"
    path = tmp_path_factory.mktemp('src')/'source.pt'
    r = quanta('train-source', '--preset', 'demo', '--epochs', '1', '--n-train', '100', '--out', path)
    assert r.returncode == 0, r.stderr
    return path
