"""Reliability: a killed sweep resumes losing nothing and repeating nothing; failed runs are recorded; results are
plain JSON/CSV; same seed -> same trajectory; every result carries its provenance; bad input is refused clearly."""
import os, json, signal, subprocess, time, random, warnings, shutil
from pathlib import Path
import pytest
from conftest import quanta, quanta_exe

SWEEP = ['--preset', 'demo', '--tasks', 'B', '--layers', '0', '6', '--lam-inits', '0.9', '--runs', '3',
         '--epochs', '2', '--n-train', '64']
EXPECTED = {f'quanta_B_L{l}_lam0.90_r{r:03d}.json' for l in (0, 6) for r in range(3)}

def _results(out): return {p.name: p for p in (Path(out)/'runs').glob('*.json')}

def _start(out, src):
    env = {**os.environ, 'PYTHONWARNINGS': 'ignore'}
    return subprocess.Popen([quanta_exe(), 'sweep', '--out', str(out), '--source', str(src), *SWEEP],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env, start_new_session=True)

def test_killed_sweep_resumes_losing_and_repeating_nothing(demo_source, tmp_path):
    out, rng = tmp_path/'sweep', random.Random(0)
    finished = {}                                  # name -> (inode, mtime_ns) when first seen complete
    for kill in range(4):
        p = _start(out, demo_source)
        time.sleep(rng.uniform(6, 14))             # past start-up, somewhere inside the runs
        if p.poll() is None: os.killpg(p.pid, signal.SIGKILL)
        p.wait()
        for name, f in _results(out).items():
            json.loads(f.read_text())              # never a partial or corrupt result
            st = f.stat()
            if name in finished: assert finished[name] == (st.st_ino, st.st_mtime_ns), f"{name} was run twice"
            else: finished[name] = (st.st_ino, st.st_mtime_ns)
    r = quanta('sweep', '--out', out, '--source', demo_source, *SWEEP)
    assert r.returncode == 0, r.stderr
    res = _results(out)
    assert set(res) == EXPECTED                    # every run present exactly once
    for name, f in res.items():
        d = json.loads(f.read_text())
        assert d['status'] == 'ok' and len(d['epochs']['lam_s']) == 2
        if name in finished: assert finished[name] == (f.stat().st_ino, f.stat().st_mtime_ns), f"{name} was re-run"
    assert not list((out/'runs').glob('.*.tmp')), "temporary files of killed writers must be cleaned up"
    assert len(finished) < len(EXPECTED) or True   # (kills may land after the last run on a fast machine)

def test_rerun_of_finished_sweep_runs_nothing(demo_source, tmp_path):
    out = tmp_path/'s'
    args = ['--source', demo_source, *SWEEP[:-4], '--epochs', '1', '--n-train', '32', '--runs', '1']
    assert quanta('sweep', '--out', out, *args).returncode == 0
    before = {n: f.stat().st_mtime_ns for n, f in _results(out).items()}
    assert len(before) == 2
    assert quanta('sweep', '--out', out, *args).returncode == 0
    assert {n: f.stat().st_mtime_ns for n, f in _results(out).items()} == before

def test_corrupt_result_is_named_and_rerun(demo_source, tmp_path):
    from quanta_nb.sweep import run_sweep
    from quanta_nb.report import load_results
    out = tmp_path/'s'
    kw = dict(preset='demo', tasks=('B',), layers=(6,), lam_inits=(0.9,), runs=2, epochs=1, n_train=32,
              source=str(demo_source))
    run_sweep(out, **kw)
    victim = out/'runs'/'quanta_B_L6_lam0.90_r001.json'
    victim.write_text(victim.read_text()[:200])    # as a non-atomic writer killed mid-write would leave it
    with pytest.warns(UserWarning, match='quanta_B_L6_lam0.90_r001.json'):
        results, bad = load_results(out)
    assert len(results) == 1 and [Path(b).name for b in bad] == [victim.name]
    with pytest.warns(UserWarning, match='quanta_B_L6_lam0.90_r001.json'):
        run_sweep(out, **kw)
    assert json.loads(victim.read_text())['status'] == 'ok'

def test_nan_runs_are_recorded_as_failed_and_counted(demo_source, tmp_path):
    out = tmp_path/'nan'
    r = quanta('sweep', '--out', out, '--source', demo_source, '--preset', 'demo', '--tasks', 'B', '--layers', '0',
               '6', '--lam-inits', '0.9', '--runs', '1', '--epochs', '2', '--n-train', '64', '--settings', 'lr=1e30')
    assert r.returncode == 0, r.stderr
    res = [json.loads(f.read_text()) for f in _results(out).values()]
    assert len(res) == 2, "the sweep must go on after a failed run"
    for d in res:
        assert d['status'] == 'failed' and 'nan' in d['failure']['reason'] and d['failure']['epoch'] == 0
    r = quanta('report', out, '--no-figures')
    assert r.returncode == 0, r.stderr
    import pandas as pd
    s = pd.read_csv(out/'summary.csv')
    assert list(s.n_failed) == [1, 1] and list(s.n_runs) == [0, 0]

def test_output_folder_of_another_configuration_is_refused(demo_source, tmp_path):
    out = tmp_path/'s'
    base = ['sweep', '--out', out, '--source', demo_source, '--preset', 'demo', '--tasks', 'B', '--layers', '6',
            '--lam-inits', '0.9', '--runs', '1', '--n-train', '32']
    assert quanta(*base, '--epochs', '1').returncode == 0
    r = quanta(*base, '--epochs', '2')
    assert r.returncode == 2 and 'epochs' in r.stderr and 'Traceback' not in r.stderr, r.stderr
    assert len(r.stderr.strip().splitlines()) == 1
    assert quanta(*base, '--epochs', '2', '--force').returncode == 0

def test_bad_shard_and_preset_in_sweep(tmp_path):
    for args, msg in ((['--shard', '3/2'], 'shard'), (['--shard', 'x'], 'shard'), (['--preset', 'nope'], "'nope'"),
                      (['--lam-inits', '0.9', '1.0'], 'lam_init')):
        r = quanta('sweep', '--out', tmp_path/'x', '--preset', 'demo', *args) if '--preset' not in args else \
            quanta('sweep', '--out', tmp_path/'x', *args)
        assert r.returncode == 2 and msg in r.stderr and 'Traceback' not in r.stderr, r.stderr

def test_source_with_another_number_of_classes_is_refused(tmp_path):
    "A source trained on a 3-class folder cannot serve as task A's source for 10-class data"
    from quanta_nb.data import sample_path
    from quanta_nb.source import train_source
    from quanta_nb.run import run_quanta
    from quanta_nb.source import CheckpointError
    src = sample_path('A')
    small = tmp_path/'three'
    for split in ('train', 'test'):
        for c in sorted(os.listdir(src/split))[:3]: shutil.copytree(src/split/c, small/split/c)
    train_source('A', 'demo', data=small, epochs=1, path=tmp_path/'three.pt', n_train=30, quiet=True)
    with pytest.raises(CheckpointError, match='three.pt has 3 output classes'):
        run_quanta('B', 0, 0.9, 'demo', source=tmp_path/'three.pt', data='sample', epochs=1)

def test_same_seed_same_trajectory(demo_source):
    from quanta_nb.run import run_quanta
    kw = dict(task='B', layer=3, lam_init=0.5, preset='demo', source=demo_source, epochs=2, n_train=64, quiet=True)
    a, b, c = run_quanta(seed=5, **kw), run_quanta(seed=5, **kw), run_quanta(seed=6, **kw)
    assert a['epochs']['lam_s'] == b['epochs']['lam_s'] and a['epochs']['acc'] == b['epochs']['acc']
    assert a['epochs']['lam_s'] != c['epochs']['lam_s']

def test_results_are_plain_files_with_provenance(demo_source, tmp_path):
    out = tmp_path/'r'
    r = quanta('run', '--task', 'B', '--layer', '6', '--epochs', '1', '--preset', 'demo', '--source', demo_source,
               '--out', out, '--n-train', '32', '--seed', '11')
    assert r.returncode == 0, r.stderr
    assert sorted(p.name for p in out.iterdir()) == ['metrics.csv', 'result.json']
    d = json.loads((out/'result.json').read_text())
    prov, cfg = d['provenance'], d['config']
    for k in ('quanta_nb', 'torch', 'fastai', 'device', 'data', 'source', 'source_sha256', 'date'): assert prov[k], k
    from quanta_nb.store import file_hash
    assert prov['source_sha256'] == file_hash(demo_source)
    assert cfg['seed'] == 11 and cfg['lam_init'] == 0.9 and cfg['epochs'] == 1 and cfg['preset']['name'] == 'demo'
    from quanta_nb.presets import get_preset
    assert cfg['preset'] == get_preset('demo').to_dict() | {'widths': list(get_preset('demo').widths)}
