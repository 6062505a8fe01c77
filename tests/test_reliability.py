"""A killed sweep resumes losing at most the work in flight and repeating nothing, on both engines; a killed group of
the fast engine resumes from its last finished epoch and ends exactly where it would have."""
import json, os, random, signal, time
from pathlib import Path
import pytest
import torch
from conftest import quanta, start, counts, events

GRID = ['--preset', 'demo', '--tasks', 'B', '--layers', '0', '6', '--lam-inits', '0.9', '--runs', '3', '--epochs', '2',
        '--n-train', '64', '--quiet', '--claim-timeout', '2']
NAMES = {f'quanta_B_L{l}_lam0.90_r{r:03d}.json' for l in (0, 6) for r in range(3)}

def _results(out): return {p.name: p for p in (Path(out)/'runs').glob('*.json')}

def _kill(p):
    if p.poll() is None: os.killpg(p.pid, signal.SIGKILL)
    p.wait()

@pytest.mark.parametrize('engine', ['fast', 'fastai'])
def test_killed_sweep_resumes_losing_and_repeating_nothing(demo_source, tmp_path, engine):
    out, rng = tmp_path/'sweep', random.Random(0)
    args = ['sweep', '--out', out, '--source', demo_source, '--engine', engine, '--group', '2', *GRID]
    finished = {}                                      # name -> (inode, mtime_ns) when first seen complete
    for _ in range(3):
        p = start(*args)
        time.sleep(rng.uniform(4, 9))                  # past start-up, somewhere inside the runs
        _kill(p)
        for name, f in _results(out).items():
            json.loads(f.read_text())                  # never a partial or corrupt result
            st = f.stat()
            if name in finished: assert finished[name] == (st.st_ino, st.st_mtime_ns), f"{name} was run twice"
            else: finished[name] = (st.st_ino, st.st_mtime_ns)
    c = counts(quanta(*args))
    assert c['skipped'] == len(finished) and c['done'] == len(NAMES) - len(finished)
    res = _results(out)
    assert set(res) == NAMES                           # every run present exactly once
    for name, f in res.items():
        d = json.loads(f.read_text())
        assert d['status'] == 'ok' and len(d['epochs']['lam_s']) == 2 and d['provenance']['engine']['name'] == engine
        if name in finished: assert finished[name] == (f.stat().st_ino, f.stat().st_mtime_ns), f"{name} was re-run"
    done = [e['job'] for e in events(out, 'finish')]
    assert sorted(done) == sorted(n[:-5] for n in NAMES)   # each run finished once, by whichever worker
    assert not list((out/'runs').glob('.*.tmp')), "temporary files of killed writers must be cleaned up"
    assert not list((out/'claims').glob('*.claim')), "claims are released"

def test_killed_group_resumes_from_its_last_finished_epoch(demo_source, tmp_path):
    "SIGKILL in the middle of a group of the fast engine: the rerun starts after the last checkpointed epoch, and ends as a run never killed"
    grid = ['--preset', 'demo', '--tasks', 'B', '--layers', '3', '--lam-inits', '0.9', '0.5', '--runs', '2', '--epochs', '4',
            '--n-train', '192', '--engine', 'fast', '--group', '4', '--source', demo_source, '--quiet', '--claim-timeout', '2']
    out = tmp_path/'killed'
    p = start('sweep', '--out', out, *grid)
    ck, deadline = out/'groups'/'quanta_B_L3_g00.pt', time.time() + 300
    while time.time() < deadline:
        if ck.exists():
            try: epoch = torch.load(ck, weights_only=True)['epoch']
            except Exception: epoch = -1                # being replaced atomically: read it again
            if epoch >= 1: break
        if p.poll() is not None: pytest.fail(f"the sweep ended before its second epoch was checkpointed: {p.stderr.read()[-2000:]}")
        time.sleep(0.2)
    else: pytest.fail("no checkpoint of the second epoch within 5 minutes")
    _kill(p)
    ck_epoch = torch.load(ck, weights_only=True)['epoch']
    assert not _results(out), "killed before any result was written"
    counts(quanta('sweep', '--out', out, *grid))
    whole = tmp_path/'whole'
    counts(quanta('sweep', '--out', whole, *grid))
    assert set(_results(out)) == set(_results(whole)) and len(_results(out)) == 4
    for name, f in _results(out).items():
        d, w = json.loads(f.read_text()), json.loads((whole/'runs'/name).read_text())
        assert d['provenance']['engine']['resumed_at'] == ck_epoch + 1      # the finished epochs were not trained again
        assert d['epochs'] == w['epochs'], name                             # and the result is the uninterrupted one
    assert not ck.exists(), "the group's checkpoint is removed once its results are written"
