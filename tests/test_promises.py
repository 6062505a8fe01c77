"""The console's promises, case by case, through the installed `quanta` script in fresh processes: every option and path
checked before any work, nothing overwritten, a folder's configuration describing its results, results that travel,
and logs a person can read."""
import hashlib, json, os, shutil, signal, time
from pathlib import Path
import pytest
from conftest import quanta, start, one_line_error, counts

DEMO = ['--preset', 'demo', '--n-train', '64']
SWEEP = ['sweep', *DEMO, '--tasks', 'B', '--layers', '0', '6', '--lam-inits', '0.9', '--runs', '1']
LONG = ['--epochs', '300']        # what a refused command would train: minutes, so a quick refusal trained nothing
QUICK = 60                        # seconds: a fresh process importing torch on a busy CPU, and no training

def hashes(folder:Path) -> dict:
    "SHA-256 of every file under `folder`, by relative path"
    return {str(p.relative_to(folder)):hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(Path(folder).rglob('*')) if p.is_file()}

def timed(*args, **kw):
    t0 = time.time()
    r = quanta(*args, **kw)
    return r, time.time() - t0

@pytest.fixture(scope='module')
def earlier(tmp_path_factory, demo_source):
    "Earlier results that no refused command may change: a run folder and a sweep folder (2 epochs each)"
    root = tmp_path_factory.mktemp('earlier')
    r = quanta('run', *DEMO, '--epochs', '2', '--source', demo_source, '--out', root/'run')
    assert r.returncode == 0, r.stderr[-2000:]
    r = quanta(*SWEEP, '--epochs', '2', '--source', demo_source, '--out', root/'sweep', '--quiet')
    assert counts(r)['done'] == 2
    return root

# 1. Every option and path is checked before any work; each failure is one line naming the option as typed
OFFLINE = dict(https_proxy='http://127.0.0.1:9', http_proxy='http://127.0.0.1:9', HTTPS_PROXY='http://127.0.0.1:9',
               HTTP_PROXY='http://127.0.0.1:9')                       # a download fails at once, as offline
REFUSED = {
    'run --out not writable':       (['run', *DEMO, *LONG, '--source', '{src}', '--out', '/proc/quanta-nb/run'], ['--out /proc/quanta-nb/run', 'cannot be written']),
    'train-source --out not writable': (['train-source', *DEMO, *LONG, '--out', '/proc/quanta-nb/source.pt'], ['--out /proc/quanta-nb/source.pt', 'cannot be written']),
    'sweep --out not writable':     ([*SWEEP, *LONG, '--source', '{src}', '--out', '/proc/quanta-nb/sweep'], ['--out /proc/quanta-nb/sweep', 'cannot be written']),
    'run --epochs 0':               (['run', *DEMO, '--epochs', '0', '--source', '{src}', '--out', '{new}'], ['--epochs must be at least 1, got 0']),
    'train-source --epochs 0':      (['train-source', *DEMO, '--epochs', '0', '--out', '{new}/source.pt'], ['--epochs must be at least 1, got 0']),
    'run --n-train 0':              (['run', '--preset', 'demo', *LONG, '--n-train', '0', '--source', '{src}', '--out', '{new}'], ['--n-train must be at least 1, got 0']),
    'run --n-train -5':             (['run', '--preset', 'demo', *LONG, '--n-train', '-5', '--source', '{src}', '--out', '{new}'], ['--n-train must be at least 1, got -5']),
    'sweep --runs -1':              ([*SWEEP[:-1], '-1', *LONG, '--source', '{src}', '--out', '{new}'], ['--runs must be at least 0, got -1']),
    'sweep --group 0':              ([*SWEEP, *LONG, '--group', '0', '--source', '{src}', '--out', '{new}'], ['--group must be at least 1']),
    '--settings epochs=0':          (['run', *DEMO, '--settings', 'epochs=0', '--source', '{src}', '--out', '{new}'], ['--settings epochs=0']),
    'offline sweep of the paper preset': (['sweep', '--out', '{new}', '--tasks', 'B', '--layers', '0', '--runs', '1'],
                                          ['--data fastai (the default of --preset paper)', 'could not be obtained', '--preset demo']),
    'missing --data folder':        (['run', *DEMO, *LONG, '--source', '{src}', '--data', '{new}-data', '--out', '{new}'], ['--data ', 'does not exist']),
    'run --out holding a run':      (['run', *DEMO, *LONG, '--source', '{src}', '--out', '{earlier}/run'], ['--out ', 'already holds a run (result.json)', '--force']),
    'train-source --out existing':  (['train-source', *DEMO, *LONG, '--out', '{src}'], ['already holds a checkpoint', '--force']),
    'sweep of other epochs':        ([*SWEEP, '--epochs', '3', '--source', '{src}', '--out', '{earlier}/sweep'], ['epochs: 2 != 3', '--force']),
    '--lam-init named as typed':    (['run', *DEMO, *LONG, '--lam-init', '1.5', '--source', '{src}', '--out', '{new}'], ['--lam-init must be']),
    'sweep --lam-inits named':      ([*SWEEP[:-3], '1.5', '--runs', '1', *LONG, '--source', '{src}', '--out', '{new}'], ['--lam-inits 1.5']),
    'run --layer out of range':     (['run', *DEMO, *LONG, '--layer', '9', '--source', '{src}', '--out', '{new}'], ['--layer 9:', 'outside the network']),
    'run --layer unknown name':     (['run', *DEMO, *LONG, '--layer', 'block9.conv1', '--source', '{src}', '--out', '{new}'], ['--layer block9.conv1:', 'Unknown layer']),
    'run --layer empty':            (['run', *DEMO, *LONG, '--layer', '', '--source', '{src}', '--out', '{new}'], ['--layer must not be empty']),
    'run --out empty':              (['run', *DEMO, *LONG, '--source', '{src}', '--out', ''], ['--out must not be empty']),
    'run --source not a checkpoint': (['run', *DEMO, *LONG, '--source', '{new}.pt', '--out', '{new}'], ['--source ', '.pt:']),
    'sweep --source not a checkpoint': ([*SWEEP, *LONG, '--source', '{new}.pt', '--out', '{new}'], ['--source ', '.pt:']),
    'run --settings lr=-1':         (['run', *DEMO, *LONG, '--settings', 'lr=-1', '--source', '{src}', '--out', '{new}'], ['--settings', 'lr must be a positive number']),
    'run --settings unknown':       (['run', *DEMO, *LONG, '--settings', 'bogus=1', '--source', '{src}', '--out', '{new}'], ['--settings', 'bogus']),
    'sweep --kinds unknown':        ([*SWEEP, *LONG, '--kinds', 'bogus', '--source', '{src}', '--out', '{new}'], ['--kinds bogus: unknown']),
    'sweep --shard out of range':   ([*SWEEP, *LONG, '--shard', '3/2', '--source', '{src}', '--out', '{new}'], ['--shard 3/2:']),
    'sweep --claim-timeout 0':      ([*SWEEP, *LONG, '--claim-timeout', '0', '--source', '{src}', '--out', '{new}'], ['--claim-timeout must be a positive number']),
}

@pytest.mark.parametrize('case', REFUSED)
def test_refused_before_any_work(case, demo_source, earlier, tmp_path):
    args, needles = REFUSED[case]
    src_copy = tmp_path/'source.pt'
    shutil.copy(demo_source, src_copy)
    subs = dict(src=src_copy, new=tmp_path/'new', earlier=earlier)
    before, src_before = hashes(earlier), hashes(tmp_path)
    r, took = timed(*[str(a).format(**subs) for a in args], env=dict(OFFLINE, FASTAI_HOME=str(tmp_path/'fastai')))
    err = one_line_error(r, *needles)
    assert 'force=True' not in err and 'source=' not in err and 'lam_init' not in err, err   # options, not Python arguments
    assert took < QUICK, took                                           # refused before training
    assert not (tmp_path/'new').exists()                                # nothing written
    assert hashes(earlier) == before                                    # no earlier result changed
    assert {k:v for k,v in hashes(tmp_path).items() if not k.startswith('fastai')} == src_before

def test_no_arguments_prints_usage_and_exits_2():
    r = quanta()
    assert r.returncode == 2 and 'usage: quanta COMMAND' in r.stderr and 'sweep' in r.stderr

def test_sweep_runs_0_still_prepares_a_folder(demo_source, tmp_path):
    c = counts(quanta(*SWEEP[:-1], '0', '--epochs', '1', '--source', demo_source, '--out', tmp_path/'s', '--quiet'))
    assert c['total'] == 0 and (tmp_path/'s'/'sweep.json').exists()

def test_a_failed_first_command_leaves_nothing_that_blocks_the_corrected_one(demo_source, tmp_path):
    "The offline paper preset is refused before any file; the corrected command with --preset demo then runs"
    out = tmp_path/'sweep'
    one_line_error(quanta('sweep', '--out', out, '--tasks', 'B', '--layers', '0', '--runs', '1', env=dict(OFFLINE, FASTAI_HOME=str(tmp_path/'fa'))), '--data fastai')
    assert not out.exists()
    assert counts(quanta(*SWEEP, '--epochs', '1', '--source', demo_source, '--out', out, '--quiet'))['done'] == 2

def test_run_replaced_only_with_force(demo_source, tmp_path):
    out = tmp_path/'run'
    assert quanta('run', *DEMO, '--epochs', '1', '--source', demo_source, '--out', out).returncode == 0
    first = hashes(out)
    r = quanta('run', *DEMO, '--epochs', '2', '--source', demo_source, '--out', out, '--force')
    assert r.returncode == 0, r.stderr[-2000:]
    assert hashes(out) != first and json.loads((out/'result.json').read_text())['config']['epochs'] == 2

# 2. A folder's configuration always describes its results

def status_states(out) -> dict:
    "`quanta status`'s rows by job (the done ones are counted on the first line only)"
    r = quanta('status', out)
    assert r.returncode == 0, r.stderr[-2000:]
    lines = r.stdout.strip().splitlines()
    first = dict(reversed(part.split(' ', 1)) for part in lines[0].split(', '))
    rows = {l.split()[0]:l.split()[1] for l in lines[2:]}
    return {k:int(v) for k,v in first.items()}, rows

def report_files(out) -> tuple[dict, str]:
    r = quanta('report', out, '--no-figures')
    assert r.returncode == 0, r.stderr[-2000:]
    return json.loads((Path(out)/'report.json').read_text()), r.stdout

def copy_result(src:Path, dest:Path, **config):
    "Copy a sweep's result to `dest` as the result of the job named by `dest`, its config changed by `config`"
    res = json.loads(src.read_text())
    res['config'].update(config)
    res['job']['name'] = dest.stem
    dest.write_text(json.dumps(res))

FOLDER_CASES = {
    'foreign: another grid': lambda runs: copy_result(runs/'quanta_B_L0_lam0.90_r000.json', runs/'quanta_B_L3_lam0.90_r000.json'),
    'foreign: another configuration': lambda runs: copy_result(runs/'quanta_B_L0_lam0.90_r000.json', runs/'quanta_B_L0_lam0.90_r000.json', epochs=5),
    'damaged: cut short': lambda runs: (runs/'quanta_B_L6_lam0.90_r000.json').write_text((runs/'quanta_B_L6_lam0.90_r000.json').read_text()[:300]),
}

@pytest.mark.parametrize('case', FOLDER_CASES)
def test_status_and_report_agree_on_what_belongs(case, earlier, tmp_path):
    out = tmp_path/'sweep'
    shutil.copytree(earlier/'sweep', out)
    FOLDER_CASES[case](out/'runs')
    state = case.split(':')[0]
    counted, rows = status_states(out)
    assert counted.get(state) == 1 and state in rows.values(), (counted, rows)
    rep, printed = report_files(out)
    left_out = rep['foreign_files'] if state == 'foreign' else rep['bad_files']
    assert len(left_out) == 1 and Path(left_out[0]).stem in rows and f'left out 1 {state}' in printed
    assert rep['n_results'] == counted.get('done', 0)                  # the report counts exactly the folder's results

def test_force_with_other_epochs_runs_again_what_no_longer_matches(earlier, tmp_path):
    out = tmp_path/'sweep'
    shutil.copytree(earlier/'sweep', out)
    c = counts(quanta(*SWEEP, '--epochs', '1', '--source', out/'source.pt', '--out', out, '--force', '--quiet'))
    assert (c['rerun'], c['done']) == (2, 2)
    cfg = json.loads((out/'sweep.json').read_text())['config']
    assert cfg['epochs'] == 1
    assert {json.loads(p.read_text())['config']['epochs'] for p in (out/'runs').glob('*.json')} == {1}
    assert status_states(out)[0] == {'done': 2}

# 3. Results travel: a moved or copied folder still replays and reports

def test_moved_sweep_folder_replays_and_reports(earlier, tmp_path):
    out = tmp_path/'elsewhere'
    shutil.copytree(earlier/'sweep', out)
    res = json.loads((out/'runs'/'quanta_B_L6_lam0.90_r000.json').read_text())
    assert res['provenance']['relative'] == dict(source='../source.pt')
    hidden = Path(res['provenance']['source'])                          # the recorded absolute path: not what is used
    hidden.rename(hidden.with_suffix('.away'))
    try:
        r = quanta('replay', out/'runs'/'quanta_B_L6_lam0.90_r000.json', cwd=tmp_path)
        assert r.returncode == 0, r.stderr[-2000:]
        assert json.loads(r.stdout)['max_diff'] == 0
        assert report_files(out)[0]['n_results'] == 2
    finally: hidden.with_suffix('.away').rename(hidden)

def test_run_made_with_a_relative_source_replays_from_another_folder(demo_source, tmp_path):
    project = tmp_path/'project'
    project.mkdir()
    shutil.copy(demo_source, project/'source.pt')
    r = quanta('run', *DEMO, '--epochs', '1', '--source', 'source.pt', '--out', 'run', cwd=project)
    assert r.returncode == 0, r.stderr[-2000:]
    moved = tmp_path/'moved'
    project.rename(moved)                                               # the project moves, source and result together
    r = quanta('replay', moved/'run'/'result.json', cwd=tmp_path)
    assert r.returncode == 0, r.stderr[-2000:]
    assert json.loads(r.stdout)['max_diff'] == 0

def test_replay_without_its_source_names_the_option(earlier, tmp_path):
    res = json.loads((earlier/'run'/'result.json').read_text())
    res['provenance'].update(source=str(tmp_path/'gone.pt'), relative={})
    (tmp_path/'result.json').write_text(json.dumps(res))
    r, took = timed('replay', tmp_path/'result.json')
    err = one_line_error(r, 'does not exist', '--source')
    assert 'source=' not in err and took < QUICK

# 4. Logs a person can read: a header, then one line per epoch naming its metrics, the last one included

LOGS = {
    'train-source':    (['train-source', *DEMO, '--epochs', '3', '--out', '{tmp}/s.pt'], 'training 3 epoch(s)', 'epoch {i}/3: '),
    'run, fast':       (['run', *DEMO, '--epochs', '3', '--engine', 'fast', '--source', '{src}', '--out', '{tmp}/r'], 'fast engine: 1 run(s)', ' epochs: {i}/3 done'),
    'run, fastai':     (['run', *DEMO, '--epochs', '3', '--engine', 'fastai', '--source', '{src}', '--out', '{tmp}/r'], 'training 3 epoch(s)', 'epoch {i}/3: '),
    "sweep's source":  ([*SWEEP, '--epochs', '1', '--settings', 'source_epochs=3', '--out', '{tmp}/s'], "training the sweep's source", 'epoch {i}/3: '),
}

@pytest.mark.parametrize('case', LOGS)
def test_log_has_a_header_and_every_epoch_with_named_metrics(case, demo_source, tmp_path):
    args, header, line = LOGS[case]
    r = quanta(*[str(a).format(src=demo_source, tmp=tmp_path) for a in args])
    assert r.returncode == 0, r.stderr[-2000:]
    out = r.stdout.splitlines()
    assert any(header in l for l in out), r.stdout[:2000]
    for i in (1, 2, 3):
        [l] = [l for l in out if line.format(i=i) in l]
        for name in ('train_loss ', 'loss ', 'acc ', 'top3 '): assert name in l, l
        if case.startswith('run'): assert 'lam_s ' in l, l
    assert out.index(next(l for l in out if header in l)) < out.index(next(l for l in out if line.format(i=1) in l))
    assert not any(l.lstrip().startswith('[') for l in out), r.stdout[:2000]       # no bare lists

# 5. A single run resumes from its last finished epoch

def test_killed_run_resumes_from_its_last_finished_epoch(demo_source, tmp_path):
    args = ['run', *DEMO, '--epochs', '30', '--source', demo_source]
    p = start(*args, '--out', tmp_path/'cut')
    for line in p.stdout:
        if ' epochs: 3/30 done' in line: break
    os.killpg(p.pid, signal.SIGKILL); p.wait()
    assert (tmp_path/'cut'/'checkpoint.pt').exists() and not (tmp_path/'cut'/'result.json').exists()
    r = quanta(*args, '--out', tmp_path/'cut')
    assert r.returncode == 0 and 'resumed after epoch' in r.stdout, (r.stdout[-2000:], r.stderr[-2000:])
    assert not (tmp_path/'cut'/'checkpoint.pt').exists()
    assert quanta(*args, '--out', tmp_path/'whole').returncode == 0
    cut, whole = (json.loads((tmp_path/f/'result.json').read_text()) for f in ('cut', 'whole'))
    assert cut['provenance']['engine']['resumed_at'] >= 3 and whole['provenance']['engine']['resumed_at'] is None
    assert cut['epochs'] == whole['epochs']                             # exactly the uninterrupted run
