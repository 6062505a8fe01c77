"Helpers shared by the tests: the `quanta` script in a fresh process or in this one, and a small source checkpoint"
import io, json, os, sys, shutil, subprocess, warnings
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent

def quanta_exe() -> str:
    exe = shutil.which('quanta', path=str(BIN)) or shutil.which('quanta')
    if exe is None: pytest.fail("the `quanta` console script is not installed (pip install -e .)")
    return exe

def _env(extra=None):
    return {**os.environ, 'PYTHONWARNINGS': 'ignore', 'OMP_NUM_THREADS': '1', **(extra or {})}

def quanta(*args, cwd=None, timeout=900, env=None) -> subprocess.CompletedProcess:
    "Run the installed `quanta` script in a fresh process"
    return subprocess.run([quanta_exe(), *map(str, args)], capture_output=True, text=True, cwd=cwd, timeout=timeout, env=_env(env))

def start(*args, env=None) -> subprocess.Popen:
    "Start the installed `quanta` script in the background, in its own process group (so it can be killed whole)"
    return subprocess.Popen([quanta_exe(), *map(str, args)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=_env(env), start_new_session=True)

class Result:
    "What `cli` returns: like a CompletedProcess"
    def __init__(self, code, out, err): self.returncode,self.stdout,self.stderr = code,out,err

def cli(*args) -> Result:
    "`quanta_nb.cli.main(args)` in this process: the console script's code without its start-up time"
    from quanta_nb.cli import main
    out,err = io.StringIO(),io.StringIO()
    with redirect_stdout(out), redirect_stderr(err), warnings.catch_warnings():
        warnings.simplefilter('ignore')
        code = main(list(map(str, args)))
    return Result(code, out.getvalue(), err.getvalue())

def counts(r) -> dict:
    "The counts `quanta sweep` prints as its last line of JSON"
    assert r.returncode == 0, (r.stdout[-2000:], r.stderr[-3000:])
    return json.loads(r.stdout.strip().splitlines()[-1])

def one_line_error(r, *needles) -> str:
    "Check `r` failed with status 2 and one line on stderr holding every needle; return that line"
    assert r.returncode == 2, (r.returncode, r.stdout[-500:], r.stderr[-2000:])
    err = r.stderr.strip()
    assert 'Traceback' not in r.stderr and len(err.splitlines()) == 1, r.stderr
    for n in needles: assert str(n) in err, err
    return err

def events(out:Path, kind:str) -> list:
    "The events `kind` of every worker's log in sweep folder `out`"
    return [e for f in sorted((Path(out)/'logs').glob('*.jsonl')) for e in map(json.loads, f.read_text().splitlines()) if e['event'] == kind]

@pytest.fixture(scope='session')
def demo_source(tmp_path_factory):
    "A small demo-preset source checkpoint trained through the CLI"
    path = tmp_path_factory.mktemp('src')/'source.pt'
    r = quanta('train-source', '--preset', 'demo', '--epochs', '1', '--n-train', '100', '--out', path)
    assert r.returncode == 0, r.stderr
    return path
