"""Several `quanta sweep` processes on one folder, as on several machines: every job and the source trained once, the
report the same as one worker's, and the job of a worker killed mid-job taken over by another."""
import json, os, signal, time
from collections import Counter
from pathlib import Path
import pandas as pd
from conftest import quanta, start, counts, events

GRID = ['--preset', 'demo', '--tasks', 'B', '--layers', '0', '3', '6', '--lam-inits', '0.9', '--runs', '2', '--n-train', '64',
        '--engine', 'fastai', '--quiet', '--claim-timeout', '3']

def wait_until_holding(out:Path, pid:int, timeout=120):
    "Wait until worker `pid` holds a claim in sweep folder `out`"
    deadline = time.time() + timeout
    while time.time() < deadline:
        held = [json.loads(f.read_text() or '{}') for f in (out/'claims').glob('*.claim')] if (out/'claims').is_dir() else []
        if any(c.get('pid') == pid for c in held): return
        time.sleep(0.05)
    raise AssertionError(f"worker {pid} never claimed a job")

def test_three_workers_share_one_folder(tmp_path):
    out = tmp_path/'shared'
    args = ['sweep', '--out', out, *GRID, '--epochs', '2', '--settings', 'source_epochs=1']
    ps = [start(*args) for _ in range(3)]
    outs = [p.communicate(timeout=900) for p in ps]
    for p,(o,e) in zip(ps, outs): assert p.returncode == 0, e[-3000:]
    assert len(events(out, 'source_finish')) == 1 and len(events(out, 'source_start')) == 1   # the source, trained once
    finished = Counter(e['job'] for e in events(out, 'finish'))
    assert len(finished) == 6 and set(finished.values()) == {1}                          # every job, trained once
    per_worker = [json.loads(o.strip().splitlines()[-1]) for o,_ in outs]
    assert sum(c['done'] for c in per_worker) == 6 and all(c['total'] == 6 for c in per_worker)
    alone = tmp_path/'alone'
    counts(quanta(*args[:2], alone, *args[3:]))
    for o in (out, alone): assert quanta('report', o, '--no-figures').returncode == 0
    a, b = (pd.read_csv(o/'summary.csv') for o in (out, alone))
    pd.testing.assert_frame_equal(a, b)                                                  # the same report as one worker's

def test_a_killed_workers_job_is_taken_over(demo_source, tmp_path):
    out = tmp_path/'shared'
    args = ['sweep', '--out', out, '--source', demo_source, *GRID, '--epochs', '3']
    w1 = start(*args)
    wait_until_holding(out, w1.pid)
    w2 = start(*args)
    time.sleep(1)
    os.killpg(w1.pid, signal.SIGKILL); w1.wait()
    o,e = w2.communicate(timeout=900)
    assert w2.returncode == 0, e[-3000:]
    assert json.loads(o.strip().splitlines()[-1])['total'] == 6
    results = {p.stem: json.loads(p.read_text()) for p in (out/'runs').glob('*.json')}
    assert len(results) == 6 and all(r['status'] == 'ok' for r in results.values())    # nothing lost
    finished = Counter(e['job'] for e in events(out, 'finish'))
    assert set(finished) == set(results) and set(finished.values()) == {1}              # nothing run twice to completion
    taken = [r for r in results.values() if (r['provenance']['claim']['took_over'] or {}).get('pid') == w1.pid]
    assert taken, "the killed worker's job was taken over, and its result says so"
    assert not list((out/'claims').glob('*.claim'))

def test_a_frozen_workers_job_is_taken_over_and_it_writes_nothing(demo_source, tmp_path):
    out = tmp_path/'shared'
    args = ['sweep', '--out', out, '--source', demo_source, '--preset', 'demo', '--tasks', 'B', '--layers', '3', '--lam-inits', '0.9',
            '--runs', '1', '--n-train', '64', '--engine', 'fastai', '--quiet', '--claim-timeout', '2', '--epochs', '3']
    w1 = start(*args)
    wait_until_holding(out, w1.pid)
    os.killpg(w1.pid, signal.SIGSTOP)                 # frozen past the timeout: its heartbeat stops too
    time.sleep(3)
    counts = json.loads(quanta(*args).stdout.strip().splitlines()[-1])
    assert counts['done'] == 1                        # worker 2 took the job over and ran it
    os.killpg(w1.pid, signal.SIGCONT)
    o,e = w1.communicate(timeout=300)
    assert w1.returncode == 0, e[-2000:]              # (its warning is silenced here: PYTHONWARNINGS=ignore)
    assert json.loads(o.strip().splitlines()[-1])['done'] == 0
    (res,) = [json.loads(p.read_text()) for p in (out/'runs').glob('*.json')]
    assert res['provenance']['claim']['took_over']['pid'] == w1.pid and res['provenance']['claim']['pid'] != w1.pid
    assert [e['pid'] for e in events(out, 'finish')] == [res['provenance']['claim']['pid']]   # only the new holder finished
    assert [(e['pid'], e['jobs']) for e in events(out, 'lost')] == [(w1.pid, [res['job']['name']])]
    assert not list((out/'claims').glob('*.claim')) and not list((out/'claims').glob('.*'))
