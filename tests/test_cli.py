"The `quanta` console script, run as a user would: in a fresh process."
import json
import pandas as pd
from PIL import Image
import pytest
from conftest import quanta

def test_help_lists_every_command():
    r = quanta('--help')
    assert r.returncode == 0
    for cmd in ('demo', 'train-source', 'run', 'sweep', 'report', 'bench'): assert cmd in r.stdout

def test_unknown_command_fails():
    r = quanta('fly')
    assert r.returncode == 2 and "unknown command 'fly'" in r.stderr

def test_command_help():
    r = quanta('run', '--help')
    assert r.returncode == 0 and '--lam-init' in r.stdout and '--source' in r.stdout

def test_train_source_writes_checkpoint(demo_source):
    import torch
    ck = torch.load(demo_source, weights_only=True)
    assert ck['meta']['n_out'] == 10 and 0 <= ck['meta']['test_acc'] <= 1

def test_run_writes_metrics_and_result(demo_source, tmp_path):
    out = tmp_path/'run'
    r = quanta('run', '--task', 'B', '--layer', '3', '--lam-init', '0.75', '--epochs', '2', '--preset', 'demo',
               '--source', demo_source, '--out', out, '--n-train', '100', '--seed', '3')
    assert r.returncode == 0, r.stderr
    df = pd.read_csv(out/'metrics.csv')
    assert list(df.columns) == ['epoch', 'train_loss', 'loss', 'acc', 'top3', 'precision', 'recall', 'lam_s']
    assert len(df) == 2 and df.lam_s.between(0, 1).all()
    res = json.loads((out/'result.json').read_text())
    assert res['status'] == 'ok' and res['config']['lam_init'] == 0.75 and res['config']['layer'] == 3
    assert res['provenance']['source_sha256'] and res['config']['seed'] == 3

class _Res:
    "The outcome of `quanta_nb.cli.main(args)` run in this process (same code as the console script, no start-up cost)"
    def __init__(self, code, out, err): self.returncode,self.stdout,self.stderr = code,out,err

def cli(*args):
    import io, warnings
    from contextlib import redirect_stderr, redirect_stdout
    from quanta_nb.cli import main
    out,err = io.StringIO(),io.StringIO()
    with redirect_stdout(out), redirect_stderr(err), warnings.catch_warnings():
        warnings.simplefilter('ignore')
        code = main(list(map(str, args)))
    return _Res(code, out.getvalue(), err.getvalue())

def _one_line_error(r, *needles):
    assert r.returncode == 2, (r.returncode, r.stdout[-500:], r.stderr[-2000:])
    err = r.stderr.strip()
    assert 'Traceback' not in r.stderr and len(err.splitlines()) == 1, r.stderr
    for n in needles: assert n in err, err
    return err

def _run(src, out, *extra):
    return cli('run', '--preset', 'demo', '--epochs', '1', '--n-train', '64', '--source', src, '--out', out, *extra)

def test_bad_lam_init(demo_source, tmp_path):
    for v in ('0', '1', '1.5', '-0.2'): _one_line_error(_run(demo_source, tmp_path, '--lam-init', v), 'lam_init')

def test_layer_outside_network(demo_source, tmp_path):
    _one_line_error(_run(demo_source, tmp_path, '--layer', '7'), 'layer 7 is outside the network')
    _one_line_error(_run(demo_source, tmp_path, '--layer', 'block9.conv1'), "Unknown layer 'block9.conv1'")

def test_unknown_preset(demo_source, tmp_path):
    _one_line_error(_run(demo_source, tmp_path, '--preset', 'papr'), "Unknown preset 'papr'")

def test_missing_data_path_is_named(demo_source, tmp_path):
    missing = tmp_path/'no-such-data'
    _one_line_error(_run(demo_source, tmp_path/'o', '--data', missing), str(missing))

def test_folder_without_images(demo_source, tmp_path):
    d = tmp_path/'empty'
    for s in ('train', 'test'): (d/s/'cat').mkdir(parents=True)
    _one_line_error(_run(demo_source, tmp_path/'o', '--data', d), str(d))

def test_images_of_wrong_size(demo_source, tmp_path):
    d = tmp_path/'small'
    for s in ('train', 'test'):
        for c in ('cat', 'dog'):
            (d/s/c).mkdir(parents=True)
            Image.new('RGB', (16, 16)).save(d/s/c/'0.jpg')
    _one_line_error(_run(demo_source, tmp_path/'o', '--data', d), '16')

def test_missing_and_corrupt_checkpoint(demo_source, tmp_path):
    _one_line_error(_run(tmp_path/'none.pt', tmp_path/'o'), 'none.pt', 'does not exist')
    bad = tmp_path/'bad.pt'
    bad.write_bytes(demo_source.read_bytes()[:3000])
    _one_line_error(_run(bad, tmp_path/'o'), 'bad.pt')

def test_checkpoint_of_another_preset(demo_source, tmp_path):
    r = cli('run', '--preset', 'paper', '--epochs', '1', '--source', demo_source, '--out', tmp_path, '--data', 'sample')
    _one_line_error(r, str(demo_source), "'demo'")

def test_run_requires_source(tmp_path):
    _one_line_error(cli('run', '--preset', 'demo', '--out', tmp_path), '--source')

def test_console_script_bad_input_is_one_line(demo_source, tmp_path):
    "The installed script itself: exit status 2 and one line on stderr, no traceback"
    r = quanta('run', '--preset', 'demo', '--source', demo_source, '--out', tmp_path, '--lam-init', '1.5')
    _one_line_error(r, 'lam_init')

def test_demo_prints_table_and_writes_summary_and_figure(tmp_path):
    "The README's main job, shortened to one epoch per run: its table, summary.csv (task x layer) and Fig.-4 PNG"
    out = tmp_path/'demo'
    r = quanta('demo', '--out', out, '--epochs', '1', '--source-epochs', '1')
    assert r.returncode == 0, r.stderr[-3000:]
    df = pd.read_csv(out/'summary.csv')
    assert {'task', 'layer', 'lam_s', 'acc'} <= set(df.columns) and len(df) == 14
    assert sorted(zip(df.task, df.layer)) == [(t, l) for t in 'AB' for l in range(7)]
    assert df.lam_s.between(0, 1).all() and df.acc.between(0, 1).all()
    assert 'lam_s' in r.stdout and 'wrote' in r.stdout          # the table is printed
    png = (out/'fig4.png').read_bytes()
    assert png[:8] == b'\x89PNG\r\n\x1a\n' and len(png) > 10_000

def test_bench_writes_record(tmp_path):
    "`quanta bench` times both paths and writes the JSON record (tiny settings: this is the CPU)"
    r = quanta('bench', '--preset', 'demo', '--ks', '1', '2', '--steps', '3', '--warmup', '2', '--data', 'sample',
               '--out', tmp_path)
    assert r.returncode == 0, r.stderr[-3000:]
    recs = list(tmp_path.glob('*.json'))
    assert len(recs) == 1
    rec = json.loads(recs[0].read_text())
    for k in ('device', 'date', 'plain_img_s', 'fast_run_img_s', 'ratio', 'full_protocol_hours', 'k', 'command'):
        assert rec[k] is not None, k
    assert rec['k'] in (1, 2) and rec['plain_img_s'] > 0 and [f['K'] for f in rec['fast']] == [1, 2]
    assert abs(rec['ratio'] - rec['fast_run_img_s']/rec['plain_img_s']) < 1e-9 and rec['gflop_per_img'] > 0
