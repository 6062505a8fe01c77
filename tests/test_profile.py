"""`quanta profile` on a network its authors did not write for it: a user's module named on the console, its weights as a
plain `state_dict`, fastai's `learn.save` file or a quanta-nb checkpoint, an image folder in fastai's layout; the profile,
its resume and `quanta report` on its folder; and every bad input refused before any training, in one line."""
import csv, json, re, shutil, time
from pathlib import Path
import pytest
from conftest import quanta, cli, one_line_error

NET = '''from torch import nn
def cnn(n_out):
    return nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(inplace=True), nn.MaxPool2d(2),
                         nn.Conv2d(8, 8, 3, padding=1), nn.ReLU(inplace=True), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                         nn.Linear(8, 8), nn.ReLU(inplace=True), nn.Linear(8, n_out))
def broken(n_out):
    raise RuntimeError('factory exploded')
def wide(n_out):
    return nn.Sequential(nn.Conv2d(3, 16, 3, padding=1), *list(cnn(n_out))[1:])
class Skip(nn.Module):
    "A residual forward, as a ResNet's blocks: not a chain of modules"
    def __init__(self, n_out):
        super().__init__()
        self.stem,self.body = nn.Conv2d(3, 8, 3, padding=1),cnn(n_out)
        self.body[0] = nn.Conv2d(8, 8, 3, padding=1)
    def forward(self, x): x = self.stem(x); return self.body(x + x.relu())
def skip(n_out): return Skip(n_out)
'''

@pytest.fixture(scope='module')
def user(tmp_path_factory):
    "A user's folder: `nets.py`, source weights saved three ways, and an image folder in fastai's train/ + valid/ layout"
    import torch
    from fastai.vision.all import ImageDataLoaders, Learner, accuracy, set_seed
    from quanta_nb.data import sample_path
    from quanta_nb.source import save_source
    root = tmp_path_factory.mktemp('user')
    (root/'nets.py').write_text(NET)
    ns = {}; exec(NET, ns)
    data = root/'images'
    shutil.copytree(sample_path('cifar100')/'train', data/'train'); shutil.copytree(sample_path('cifar100')/'test', data/'valid')
    set_seed(0)
    learn = Learner(ImageDataLoaders.from_folder(sample_path('cifar10'), train='train', valid='test', bs=32, num_workers=0),
                    ns['cnn'](10), metrics=accuracy, path=root)
    with learn.no_bar(), learn.no_logging(): learn.fit(1, 1e-3)
    torch.save(learn.model.state_dict(), root/'plain.pth')
    learn.save('fastai_way')                                            # root/models/fastai_way.pth, with the optimiser
    save_source(learn.model, root/'ckpt.pt', dict(task='cifar10'))
    return root

def engine(path) -> str: return json.loads(Path(path).read_text())['provenance']['engine']['name']

def rows(path) -> list[dict]:
    with open(path) as f: return list(csv.DictReader(f))

def test_profile_of_a_users_network_resumes_and_reports(user, tmp_path):
    out = tmp_path/'prof'
    args = ['profile', '--model', 'nets:cnn', '--source', user/'plain.pth', '--data', user/'images', '--out', out,
            '--layers', '0', '3', '--runs', '2', '--epochs', '1', '--bs', '32']
    r = quanta(*args, cwd=user)
    assert r.returncode == 0, r.stderr[-3000:]
    assert re.search(r'\bengine (fast|fastai)\b', r.stdout) and re.search(r'^freeze (nothing:|all \d+ |the first \d+ )', r.stdout, re.M), r.stdout
    prof = rows(out/'profile.csv')
    assert [p['layer'] for p in prof] == ['0', '3'] and [p['n_runs'] for p in prof] == ['2', '2']
    assert all(0 < float(p['lam_s_mean']) < 1 for p in prof)
    assert (out/'profile.png').stat().st_size > 0 and len(list((out/'runs').glob('*.json'))) == 4
    assert {engine(p) for p in (out/'runs').glob('*.json')} == {'fast'}        # a chain of modules: the fast engine
    stamps = {p.name: p.stat().st_mtime_ns for p in (out/'runs').glob('*.json')}
    t0 = time.time(); r = quanta(*args, cwd=user)                       # the same command again: nothing re-run
    assert r.returncode == 0 and {p.name: p.stat().st_mtime_ns for p in (out/'runs').glob('*.json')} == stamps
    assert rows(out/'profile.csv') == prof
    r = quanta(*[a if a != '1' else '2' for a in args], cwd=user)          # other epochs into the same folder: refused
    one_line_error(r, 'holds runs made with other settings (epochs: 1 != 2)')
    assert {p.name: p.stat().st_mtime_ns for p in (out/'runs').glob('*.json')} == stamps
    r = quanta('report', out)
    assert r.returncode == 0, r.stderr[-3000:]
    summ = rows(out/'summary.csv')
    assert [(s['label'], s['layer']) for s in summ] == [('target', '0'), ('target', '3')]
    assert [round(float(s['lam_s_mean']), 6) for s in summ] == [round(float(p['lam_s_mean']), 6) for p in prof]

@pytest.mark.parametrize('weights', ['models/fastai_way.pth', 'ckpt.pt'])
def test_weights_saved_the_fastai_way_or_as_a_checkpoint_load(user, tmp_path, weights):
    out = tmp_path/'prof'
    r = quanta('profile', '--model', 'nets:cnn', '--source', user/weights, '--data', user/'images', '--out', out,
               '--layers', '2', '--runs', '1', '--epochs', '1', cwd=user)
    assert r.returncode == 0, r.stderr[-3000:]
    assert [p['layer'] for p in rows(out/'profile.csv')] == ['7']

def mixed_sizes(user, tmp_path) -> Path:
    from PIL import Image
    d = tmp_path/'mixed'; shutil.copytree(user/'images', d)
    one = next((d/'train').rglob('*.jpg')); Image.open(one).resize((40, 40)).save(one)
    return d

REFUSED = {
    'factory cannot be imported':  (dict(model='nothere:cnn'), ['--model nothere:cnn', "module 'nothere' cannot be imported"]),
    'factory not in the module':   (dict(model='nets:resnet'), ['--model nets:resnet', "has no 'resnet'"]),
    'factory that raises':         (dict(model='nets:broken'), ['--model nets:broken', 'failed (RuntimeError: factory exploded)']),
    'factory without a colon':     (dict(model='nets.cnn'), ['--model', 'package.module:function']),
    'state_dict does not fit':     (dict(model='nets:wide'), ['--source', 'plain.pth does not fit the network', 'size mismatch for 0.weight']),
    'not a weights file':          (dict(source='nets.py'), ['--source nets.py', 'not a PyTorch weights file']),
    'images of mixed sizes':       (dict(data='{mixed}'), ['--data', 'images of different sizes', '--size']),
    'no valid folder':             (dict(data='{user}/images/train'), ['--data', 'needs a train/ folder and a valid/ (or test/) folder']),
    'unknown layer name':          (dict(layers=['block9']), ['--layers block9', 'Unknown layer']),
    'layer that is not conv/linear': (dict(layers=['name:1']), ['--layers name:1', 'not a conv or linear layer']),
    'output layer':                (dict(layers=['name:9']), ['--layers name:9', 'output layer']),
    'runs 0':                      (dict(runs='0'), ['--runs must be at least 1, got 0']),
    'threshold above 1':           (dict(threshold='1.5'), ['--threshold must be in (0, 1]']),
    'a setting a profile ignores': (dict(set='widths=8'), ['--set widths=8', 'widths does nothing for your own network']),
    'the same, as --settings':     (dict(settings='act=relu'), ['--settings act=relu', 'a profile uses lr']),
}

@pytest.mark.parametrize('case', REFUSED)
def test_bad_input_refused_before_any_training(case, user, tmp_path, monkeypatch):
    "In this process (`main`, the script's code without its start-up time), from the user's folder"
    given, needles = REFUSED[case]
    opts = dict(model='nets:cnn', source='plain.pth', data=str(user/'images'), out=str(tmp_path/'new'), epochs='300') | given
    if opts['data'] == '{mixed}': opts['data'] = str(mixed_sizes(user, tmp_path))
    opts['data'] = opts['data'].format(user=user)
    args = ['profile'] + [a for k,v in opts.items() for a in (f'--{k}', *(v if isinstance(v, list) else [v]))]
    monkeypatch.chdir(user)
    t0 = time.time(); r = cli(*args)
    one_line_error(r, *needles)
    assert time.time() - t0 < 60                                         # refused before any run trained
    assert not (tmp_path/'new').exists()                                 # nothing written

def test_fine_tune_checks_the_decision_against_frozen_transfer(user, tmp_path):
    out = tmp_path/'prof'
    r = quanta('profile', '--model', 'nets:cnn', '--source', user/'plain.pth', '--data', user/'images', '--out', out,
               '--layers', '0', '3', '--runs', '1', '--epochs', '1', '--fine-tune', cwd=user)
    assert r.returncode == 0, r.stderr[-3000:]
    prof = rows(out/'profile.csv')
    assert {'layer', 'lam_s_mean', 'lam_s_ci95', 'frozen_acc_mean', 'frozen_acc_ci95', 'n_runs'} <= set(prof[0])
    assert [p['layer'] for p in prof] == ['0', '3']
    names = sorted(p.stem for p in (out/'runs').glob('*.json'))
    assert names == ['freeze_to_target_L0_r000', 'freeze_to_target_L1_r000', 'freeze_to_target_L2_r000',
                     'quanta_target_L0_lam0.90_r000', 'quanta_target_L1_lam0.90_r000', 'scratch_target_L0_r000']
    assert 'Spearman rho' in r.stdout and (out/'check.png').stat().st_size > 0

def test_a_network_that_is_not_a_chain_is_profiled_by_the_fastai_engine(user, tmp_path):
    import torch
    ns = {}; exec(NET, ns)
    torch.manual_seed(0); torch.save(ns['skip'](10).state_dict(), tmp_path/'skip.pth')
    out = tmp_path/'prof'
    r = quanta('profile', '--model', 'nets:skip', '--source', tmp_path/'skip.pth', '--data', user/'images', '--out', out,
               '--layers', '0', '--runs', '1', '--epochs', '1', cwd=user)
    assert r.returncode == 0, r.stderr[-3000:]
    assert [p['layer'] for p in rows(out/'profile.csv')] == ['stem']
    assert [engine(p) for p in (out/'runs').glob('*.json')] == ['fastai']       # a residual forward: a Learner per run
    assert 'engine fastai (a Learner per run): the fast engine cannot train this network' in r.stdout, r.stdout
    again = quanta('profile', '--model', 'nets:skip', '--source', tmp_path/'skip.pth', '--data', user/'images', '--out', out,
                   '--layers', '0', '--runs', '1', '--epochs', '1', cwd=user)
    assert again.returncode == 0 and '1 of the 1 runs were already in' in again.stdout, again.stdout
