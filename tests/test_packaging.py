"Packaging: the wheel builds, installs in a fresh venv and works; quanta_nb/ is exactly what nbdev exports."
import os, sys, shutil, subprocess, sysconfig, zipfile, filecmp
from pathlib import Path
import pytest
from conftest import ROOT

def sh(*args, **kw):
    r = subprocess.run(list(map(str, args)), capture_output=True, text=True, **kw)
    assert r.returncode == 0, f"{args}\n{r.stdout[-2000:]}\n{r.stderr[-3000:]}"
    return r

@pytest.fixture(scope='module')
def wheel(tmp_path_factory):
    out = tmp_path_factory.mktemp('dist')
    sh(sys.executable, '-m', 'build', '--wheel', '--no-isolation', '--outdir', out, ROOT, cwd=ROOT)
    whls = list(out.glob('quanta_nb-*.whl'))
    assert len(whls) == 1, whls
    return whls[0]

def test_wheel_contents(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    for f in ('quanta_nb/__init__.py', 'quanta_nb/all.py', 'quanta_nb/cli.py', 'quanta_nb/layer.py',
              'quanta_nb/samples/cifar10-sample.tar.gz', 'quanta_nb/samples/cifar100-sample.tar.gz'):
        assert f in names, f
    ep = next(n for n in names if n.endswith('entry_points.txt'))
    assert 'quanta = quanta_nb.cli:main' in zipfile.ZipFile(wheel).read(ep).decode()

def test_wheel_installs_and_imports_in_fresh_venv(wheel, tmp_path):
    env = tmp_path/'env'
    sh(sys.executable, '-m', 'venv', env)
    py = env/'bin'/'python'
    # reuse this environment's torch/fastai (a path line in a .pth: its own .pth files, e.g. our editable install, are not run)
    site = Path(sh(py, '-c', 'import sysconfig; print(sysconfig.get_paths()["purelib"])').stdout.strip())
    (site/'_deps.pth').write_text(sysconfig.get_paths()['purelib'] + '\n')
    sh(py, '-m', 'pip', 'install', '-q', '--no-deps', '--no-index', wheel)
    r = sh(py, '-c', 'import quanta_nb, quanta_nb.all as a; print(quanta_nb.__file__); print(len(a.__all__))', cwd=tmp_path)
    assert str(env) in r.stdout.splitlines()[0], r.stdout
    r = sh(py, '-c', 'from quanta_nb.data import sample_path; p = sample_path("B"); print(len(list(p.rglob("*.jpg"))))',
           cwd=tmp_path, env={**os.environ, 'QUANTA_NB_CACHE': str(tmp_path/'cache')})
    assert int(r.stdout.strip()) == 800
    r = sh(env/'bin'/'quanta', '--help', cwd=tmp_path, env={**os.environ, 'PYTHONWARNINGS': 'ignore'})
    assert 'train-source' in r.stdout

def test_package_is_what_nbdev_exports(tmp_path):
    "quanta_nb/ must be exactly nbdev-export's output: nothing hand-edited, nothing stale"
    copy = tmp_path/'repo'
    shutil.copytree(ROOT/'nbs', copy/'nbs', ignore=shutil.ignore_patterns('.ipynb_checkpoints', '_out'))
    shutil.copy(ROOT/'pyproject.toml', copy)
    shutil.copytree(ROOT/'quanta_nb', copy/'quanta_nb', ignore=shutil.ignore_patterns('__pycache__'))
    for f in (copy/'quanta_nb').glob('*.py'):
        if f.name != '__init__.py': f.unlink()
    sh(Path(sys.executable).parent/'nbdev-export', cwd=copy)
    mine = sorted(p.name for p in (ROOT/'quanta_nb').glob('*.py'))
    assert mine == sorted(p.name for p in (copy/'quanta_nb').glob('*.py'))
    for name in mine: assert filecmp.cmp(ROOT/'quanta_nb'/name, copy/'quanta_nb'/name, shallow=False), f"{name} differs from its notebook"

def test_readme_is_the_home_page_and_ci_runs_its_test_command():
    "README.md is what nbs/index.ipynb gives, and .ci/run runs the README's test command verbatim"
    sh(sys.executable, ROOT/'tools'/'make_readme.py', '--check')
    readme = (ROOT/'README.md').read_text()
    ci = (ROOT/'.ci'/'run').read_text().strip().splitlines()[-1]
    assert ci in readme, "the README's test command and .ci/run's must be the same"
    assert any(l.startswith('python3 -m venv') and 'quanta demo' in l for l in readme.splitlines())
