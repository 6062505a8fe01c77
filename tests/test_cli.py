"The installed `quanta` script, run as a user runs it: in a fresh process."
import json
import pandas as pd
from PIL import Image
from conftest import quanta, one_line_error

def test_help_lists_every_command():
    r = quanta('--help')
    assert r.returncode == 0
    for cmd in ('demo', 'train-source', 'run', 'sweep', 'status', 'report', 'replay', 'bench'): assert cmd in r.stdout

def test_unknown_command_fails():
    r = quanta('fly')
    assert r.returncode == 2 and "unknown command 'fly'" in r.stderr

def test_command_help_shows_options_and_choices():
    r = quanta('run', '--help')
    assert r.returncode == 0 and '--lam-init' in r.stdout and '--source' in r.stdout and 'fastai' in r.stdout

def test_bad_input_is_one_line_and_status_2(demo_source, tmp_path):
    one_line_error(quanta('run', '--preset', 'demo', '--source', demo_source, '--out', tmp_path, '--lam-init', '1.5'), '--lam-init')

def test_bad_images_are_named_before_training(demo_source, tmp_path):
    "A data folder with unreadable images is refused before anything is trained, naming every bad file"
    data = tmp_path/'data'
    for split in ('train', 'test'):
        for c in ('cat', 'dog'):
            (data/split/c).mkdir(parents=True)
            for i in range(3): Image.new('RGB', (32, 32), (40*i, 0, 0)).save(data/split/c/f'{i}.png')
    (data/'train'/'dog'/'1.png').write_bytes(b'\x89PNG broken')
    Image.new('RGB', (28, 28)).save(data/'test'/'cat'/'2.png')
    out = tmp_path/'out'
    r = quanta('train-source', '--preset', 'demo', '--data', data, '--epochs', '1', '--out', out/'source.pt')
    err = one_line_error(r, '2 image(s)', data/'train'/'dog'/'1.png', data/'test'/'cat'/'2.png', 'is 28x28 pixels', '--skip-bad-images')
    assert not out.exists()                                   # nothing was trained or written
    r = quanta('train-source', '--preset', 'demo', '--data', data, '--epochs', '1', '--out', out/'source.pt', '--skip-bad-images',
               env=dict(PYTHONWARNINGS='default'))
    assert r.returncode == 0 and 'Leaving out 2 unusable image(s)' in r.stderr, r.stderr[-2000:]

def test_demo_prints_table_and_writes_its_files(tmp_path):
    "The README's main job, shortened to one epoch per run: its table, demo.csv (task x layer), the report and Fig. 4"
    out = tmp_path/'demo'
    r = quanta('demo', '--out', out, '--epochs', '1', '--source-epochs', '1')
    assert r.returncode == 0, r.stderr[-3000:]
    df = pd.read_csv(out/'demo.csv')
    assert {'task', 'layer', 'lam_s', 'acc'} <= set(df.columns) and len(df) == 14
    assert sorted(zip(df.task, df.layer)) == [(t, l) for t in 'AB' for l in range(7)]
    assert df.lam_s.between(0, 1).all() and df.acc.between(0, 1).all()
    assert 'lam_s_mean' in pd.read_csv(out/'summary.csv').columns     # the report's own table is left as it is
    assert 'lam_s' in r.stdout and 'wrote' in r.stdout
    assert '\r' not in r.stdout                                        # no progress-bar redraws in a log
    png = (out/'fig4.png').read_bytes()
    assert png[:8] == b'\x89PNG\r\n\x1a\n' and len(png) > 10_000

def test_bench_writes_record(tmp_path):
    "`quanta bench` times both engines and writes the JSON record (tiny settings: this is a CPU)"
    r = quanta('bench', '--preset', 'demo', '--layer', '3', '--ks', '1', '2', '--steps', '3', '--warmup', '2', '--data', 'sample',
               '--out', tmp_path)
    assert r.returncode == 0, r.stderr[-3000:]
    rec = json.loads(next(tmp_path.glob('*.json')).read_text())
    for k in ('device', 'date', 'plain_img_s', 'fast_run_img_s', 'ratio', 'full_protocol_hours', 'k', 'command', 'threads'):
        assert rec[k] is not None, k
    assert [f['K'] for f in rec['fast']] == [1, 2] and abs(rec['ratio'] - rec['fast_run_img_s']/rec['plain_img_s']) < 1e-9
    assert rec['command'].startswith('quanta bench --preset demo')

def test_set_reaches_the_preset():
    "`--set KEY=VALUE` (and `--settings`, its older name) reach the preset the command runs with, beside --n-train"
    import inspect
    from quanta_nb.cli import parse_command, console_preset, cmd_run
    for opt in ('--set', '--settings'):
        func,kw = parse_command(['run', '--preset', 'demo', opt, 'lr=1e-3', 'last_n=2', '--n-train', '100', '--source', 's.pt', '--out', 'o'])
        assert func is cmd_run
        p = console_preset(**{k:kw[k] for k in inspect.signature(console_preset).parameters})
        assert (p.name, p.lr, p.last_n, p.n_train, p.width_mult) == ('demo', 1e-3, 2, 100, 1/8), (opt, p)

def test_set_refuses_an_unknown_key_before_any_work(tmp_path):
    out = tmp_path/'source.pt'
    for opt in ('--set', '--settings'):
        r = quanta('train-source', '--preset', 'demo', opt, 'lrate=1e-3', '--out', out)
        err = one_line_error(r, f"{opt}: Unknown preset setting 'lrate'", "did you mean 'lr'")
        assert 'Traceback' not in err and not out.exists()

def test_every_training_command_takes_set():
    for cmd in ('train-source', 'run', 'sweep', 'profile'):
        r = quanta(cmd, '--help')
        assert r.returncode == 0 and '--set' in r.stdout and '--settings' in r.stdout and 'lam_lr_mult' in r.stdout, (cmd, r.stdout)

def test_names_are_the_packages():
    from quanta_nb.cli import TASK_NAMES, ENGINE_NAMES, PRESET_NAMES
    from quanta_nb.data import TASKS
    from quanta_nb.records import ENGINES
    from quanta_nb.presets import PRESETS
    assert list(TASK_NAMES) == [*TASKS, *TASKS.values()] == ['A', 'B', 'cifar10', 'cifar100']
    assert list(ENGINE_NAMES) == list(ENGINES) and PRESET_NAMES == list(PRESETS)

def test_report_of_a_studys_folders_writes_its_plateau_and_verdicts(tmp_path):
    "`quanta report s0 s1`: each folder's summary, then the plateau and verdict tables of both sources, in their parent"
    import shutil
    from conftest import ROOT
    from quanta_nb.report import load_results
    from quanta_nb.verdicts import run_frame, plateau_table, verdicts, budget_table
    dirs = [tmp_path/'study'/s for s in ('s0', 's1')]
    for s,d in zip(('s0', 's1'), dirs): shutil.copytree(ROOT/'results'/'cifar-converged'/s/'runs', d/'runs')
    shutil.copytree(ROOT/'results'/'cifar-cpu'/'runs', tmp_path/'short'/'runs')
    r = quanta('report', *dirs, '--no-figures', '--against', tmp_path/'short')
    assert r.returncode == 0, r.stderr[-3000:]
    assert all((d/'summary.csv').exists() for d in dirs)
    runs = run_frame([x for d in dirs for x in load_results(d)[0]])
    got = pd.read_csv(tmp_path/'study'/'verdicts.csv')
    assert got.verdict.tolist() == verdicts(runs, 5).verdict.tolist()
    assert pd.read_csv(tmp_path/'study'/'plateau.csv').settled.tolist() == plateau_table(runs, 5).settled.tolist()
    assert runs.source.nunique() == 2 and 'plateau:' in r.stdout and 'verdicts:' in r.stdout
    bt = pd.read_csv(tmp_path/'study'/'budget.csv')                     # --against: the other budget's cells beside these
    want = budget_table([tmp_path/'short'], dirs)
    assert len(bt) == len(want) > 0 and (bt.lam_s_change - want.lam_s_change).abs().max() < 1e-12 and 'budget.csv' in r.stdout
    assert quanta('report', dirs[0], '--no-figures', '--against', tmp_path/'nope').returncode != 0
    r = quanta('report', dirs[0], str(dirs[0]) + '/.', '--no-figures')                   # the same folder twice: every run would count twice
    assert r.returncode != 0 and 'given twice' in r.stderr
    (tmp_path/'empty'/'runs').mkdir(parents=True); (dirs[0]/'summary.csv').unlink()
    r = quanta('report', dirs[0], '--no-figures', '--against', tmp_path/'empty')        # refused before anything is written
    assert r.returncode != 0 and 'No finished QUANTA runs' in r.stderr and not (dirs[0]/'summary.csv').exists()
    r = quanta('report', dirs[0], tmp_path/'short', '--no-figures')                    # two budgets are two studies, not one
    assert r.returncode != 0 and 'one budget per study' in r.stderr and not (tmp_path/'short'/'summary.csv').exists()
    r = quanta('report', *dirs, '--no-figures', '--out', tmp_path/'tables')             # the study's tables where asked
    assert r.returncode == 0 and (tmp_path/'tables'/'verdicts.csv').exists() and (tmp_path/'tables'/'plateau.csv').exists()
    r = quanta('report', '--against', tmp_path/'short', *dirs)                             # --against took every folder: say why
    assert r.returncode == 2 and "give the study's folders first" in r.stderr
    r = quanta('report', tmp_path/'study', '--no-figures')                                 # the study's parent: name its folders
    assert r.returncode == 2 and f"give those ({dirs[0]} {dirs[1]})" in r.stderr, r.stderr
