"Scale-out with Ray: `quanta sweep --ray local` on the CPU writes the same results as the local loop, and resumes."
import json, sys
from pathlib import Path
import pytest
import ray  # noqa: F401  -- part of the dev extra: CI must have it, so no skip
from conftest import quanta, cli, counts

GRID = ('--preset', 'demo', '--tasks', 'B', '--layers', '0', '6', '--lam-inits', '0.9', '--runs', '1',
        '--epochs', '1', '--n-train', '32', '--quiet')

def test_ray_sweep_resumes_and_matches_local_loop(tmp_path, demo_source):
    out_ray,out_loop = tmp_path/'ray',tmp_path/'loop'
    c = counts(quanta('sweep', '--out', out_ray, '--ray', 'local', '--source', demo_source, *GRID))
    assert c == dict(total=2, done=2, failed=0, skipped=0, others=0, rerun=0)
    mtimes = {p.name: p.stat().st_mtime_ns for p in (out_ray/'runs').iterdir()}
    c = counts(cli('sweep', '--out', out_ray, '--ray', 'local', '--source', demo_source, *GRID))   # resume: nothing new
    assert c == dict(total=2, done=0, failed=0, skipped=2, others=0, rerun=0)
    assert {p.name: p.stat().st_mtime_ns for p in (out_ray/'runs').iterdir()} == mtimes
    c = counts(cli('sweep', '--out', out_loop, '--source', demo_source, *GRID))                    # the same grid, no Ray
    assert c['done'] == 2
    names = lambda o: sorted(p.name for p in (o/'runs').iterdir())
    assert names(out_ray) == names(out_loop) == ['quanta_B_L0_lam0.90_r000.json', 'quanta_B_L6_lam0.90_r000.json']
    for n in names(out_ray):
        a, b = (json.loads((o/'runs'/n).read_text()) for o in (out_ray, out_loop))
        assert a['status'] == 'ok' and a['job'] == b['job'] and a['config'] == b['config']

def test_missing_ray_is_a_clear_error(tmp_path, monkeypatch):
    from quanta_nb.sweep import run_sweep
    monkeypatch.setitem(sys.modules, 'ray', None)                                     # as if not installed
    with pytest.raises(ValueError, match=r"install quanta-nb\[ray\]"):
        run_sweep(tmp_path, preset='demo', tasks='B', layers=(0,), lam_inits=(0.9,), runs=1, ray='local')
    assert not (tmp_path/'source.pt').exists()                                       # refused before any training

def test_quanta_model_survives_rays_serialisation():
    "Ray ships models with its cloudpickle: a QuantaModel comes back mixing with its own copies of the source and the layer"
    import torch
    from ray import cloudpickle
    from quanta_nb.models import QuantaCNN, QuantaModel
    torch.manual_seed(0)
    qm = QuantaModel(QuantaCNN(10, 'demo'), QuantaCNN(100, 'demo'), layer=3, lam_init=0.6).eval()
    twin = cloudpickle.loads(cloudpickle.dumps(qm))
    x = torch.rand(4, 3, 32, 32)
    assert torch.allclose(twin(x), qm(x), atol=1e-6)
    with torch.no_grad(): twin.quanta.v.zero_()                    # the copy's lambda is the copy's own
    assert not torch.allclose(twin(x), qm(x), atol=1e-4)

def free_ports(n:int) -> list:
    "`n` distinct free ports: every socket stays open until all are drawn, so the system never hands one out twice"
    import socket
    socks = [socket.socket() for _ in range(n)]
    try:
        for s in socks: s.bind(('127.0.0.1', 0))
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks: s.close()

def test_free_ports_are_distinct():
    for _ in range(20): ps = free_ports(7); assert len(set(ps)) == 7

@pytest.fixture
def ray_head(tmp_path):
    "A Ray cluster with token authentication, started as the docs say (a token, then `ray start --head`) on the loopback address"
    import os, shutil, signal, subprocess, tempfile, time
    home, temp = tmp_path/'home', Path(tempfile.mkdtemp(prefix='qr', dir='/tmp'))   # Ray's sockets need a short path
    home.mkdir()
    env = {**os.environ, 'HOME': str(home), 'RAY_USAGE_STATS_ENABLED': '0'}
    env.pop('RAY_AUTH_MODE', None); env.pop('RAY_ADDRESS', None)
    ray = str(Path(sys.executable).parent/'ray')
    subprocess.run([ray, 'get-auth-token', '--generate'], env=env, check=True, capture_output=True)   # as Ray's docs say
    names = ['--node-manager-port', '--object-manager-port', '--dashboard-agent-grpc-port',
             '--dashboard-agent-listen-port', '--metrics-export-port', '--runtime-env-agent-port']
    for attempt in range(3):                          # a port drawn free can be taken before Ray binds it: draw again
        port, *others = free_ports(len(names) + 1)
        cmd = [ray, 'start', '--head', '--block', '--node-ip-address', '127.0.0.1', '--port', str(port),
               '--include-dashboard', 'false', '--num-cpus', '2', '--num-gpus', '0', '--temp-dir', str(temp), '--disable-usage-stats',
               *[a for p, o in zip(names, others) for a in (p, str(o))]]
        head = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
        t0 = time.time()
        while not list(temp.rglob('raylet.out')) and head.poll() is None and time.time() - t0 < 60: time.sleep(0.5)
        if head.poll() is None or attempt == 2: break
        try: os.killpg(head.pid, signal.SIGKILL)                     # whatever the failed start left running
        except ProcessLookupError: pass
        shutil.rmtree(temp, ignore_errors=True); temp.mkdir()
    try:
        assert head.poll() is None and list(temp.rglob('raylet.out')), head.stdout.read() if head.poll() is not None else 'ray start timed out'
        time.sleep(2)
        yield dict(home=home, address=f'127.0.0.1:{port}')
    finally:
        try: os.killpg(head.pid, signal.SIGTERM)                       # this cluster only: its own process group
        except ProcessLookupError: pass
        try: head.wait(30)
        except subprocess.TimeoutExpired: os.killpg(head.pid, signal.SIGKILL); head.wait()
        shutil.rmtree(temp, ignore_errors=True)

def test_sweep_joins_a_cluster_started_with_ray_start_head(ray_head, tmp_path, demo_source):
    "`quanta sweep --ray auto` joins a token-authenticated cluster with its token; without the token, one line says what to set"
    env = dict(HOME=str(ray_head['home']), RAY_ADDRESS=ray_head['address'])
    c = counts(quanta('sweep', '--out', tmp_path/'s', '--ray', 'auto', '--source', demo_source, *GRID, env=env, timeout=300))
    assert c == dict(total=2, done=2, failed=0, skipped=0, others=0, rerun=0)
    elsewhere = tmp_path/'no-token'
    elsewhere.mkdir()
    r = quanta('sweep', '--out', tmp_path/'s2', '--ray', 'auto', '--source', demo_source, *GRID, timeout=300,
               env=dict(HOME=str(elsewhere), RAY_ADDRESS=ray_head['address']))
    assert r.returncode == 2 and 'RAY_AUTH_MODE=token' in r.stderr, r.stderr[-3000:]
    assert not (tmp_path/'s2').exists()
