"Scale-out with Ray: `quanta sweep --ray local` on the CPU writes the same results as the local loop, and resumes."
import json, sys
import pytest
import ray  # noqa: F401  -- part of the dev extra: CI must have it, so no skip
from conftest import quanta
from test_cli import cli

GRID = ('--preset', 'demo', '--tasks', 'B', '--layers', '0', '6', '--lam-inits', '0.9', '--runs', '1',
        '--epochs', '1', '--n-train', '32')

def _counts(r):
    assert r.returncode == 0, r.stderr[-3000:]
    return json.loads(r.stdout.strip().splitlines()[-1].split(': ', 1)[1].replace("'", '"'))

def test_ray_sweep_resumes_and_matches_local_loop(tmp_path):
    out_ray,out_loop = tmp_path/'ray',tmp_path/'loop'
    c = _counts(quanta('sweep', '--out', out_ray, '--ray', 'local', '--group', '1', *GRID))
    assert c == dict(total=2, done=2, skipped=0, failed=0, rerun=0)
    mtimes = {p.name: p.stat().st_mtime_ns for p in (out_ray/'runs').iterdir()}
    c = _counts(cli('sweep', '--out', out_ray, '--ray', 'local', *GRID))             # resume: nothing new
    assert c == dict(total=2, done=0, skipped=2, failed=0, rerun=0)
    assert {p.name: p.stat().st_mtime_ns for p in (out_ray/'runs').iterdir()} == mtimes
    c = _counts(cli('sweep', '--out', out_loop, '--source', out_ray/'source.pt', *GRID))  # the same grid, no Ray
    assert c == dict(total=2, done=2, skipped=0, failed=0, rerun=0)
    names = lambda o: sorted(p.name for p in (o/'runs').iterdir())
    assert names(out_ray) == names(out_loop) == ['quanta_B_L0_lam0.90_r000.json', 'quanta_B_L6_lam0.90_r000.json']
    for n in names(out_ray):
        r = json.loads((out_ray/'runs'/n).read_text())
        assert r['status'] == 'ok' and r['job'] == json.loads((out_loop/'runs'/n).read_text())['job']

def test_missing_ray_is_a_clear_error(tmp_path, monkeypatch):
    from quanta_nb.sweep import run_sweep
    monkeypatch.setitem(sys.modules, 'ray', None)                                     # as if not installed
    with pytest.raises(ValueError, match=r"install quanta-nb\[ray\]"):
        run_sweep(tmp_path, preset='demo', tasks='B', layers=(0,), lam_inits=(0.9,), runs=1, ray='local')
    assert not (tmp_path/'source.pt').exists()                                       # refused before any training
