"""Claims under a real race: processes started together, taking over the same stale claims, many times over. The
notebook forces the one interleaving that matters; this repeats the whole race, as workers on a cluster meet it."""
import json, os, subprocess, sys, time
from pathlib import Path
from quanta_nb.claims import claim_path, CLAIM_FORMAT
from quanta_nb.store import _HOST

RACER = """
import sys, os, time, json
from pathlib import Path
from quanta_nb.claims import try_claim
d,names = Path(sys.argv[1]),sys.argv[2:]
(d/f'ready.{os.getpid()}').touch()
while not (d/'go').exists(): time.sleep(0.0005)
print(json.dumps([n for n in names if try_claim(d, n, timeout=30) is not None]), flush=True)
"""

def leave_stale(folder, name, pid):
    p = claim_path(folder, name); p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(json.dumps(dict(format=CLAIM_FORMAT, name=name, host=_HOST, pid=pid, token='dead', timeout=30)))
    os.utime(p, (time.time()-3600,)*2)

def race(folder:Path, names, dead_pid, n_racers=4) -> dict:
    "Start `n_racers` processes together on the stale claims of `names`; what each won"
    for n in names: leave_stale(folder, n, dead_pid)
    rs = [subprocess.Popen([sys.executable, '-c', RACER, str(folder), *(names if k % 2 else names[::-1])],
                           stdout=subprocess.PIPE, text=True) for k in range(n_racers)]
    while len(list(folder.glob('ready.*'))) < n_racers: time.sleep(0.01)
    (folder/'go').touch()
    return {r.pid: json.loads(r.communicate(timeout=120)[0]) for r in rs}

def test_every_stale_job_is_won_exactly_once(tmp_path):
    dead = subprocess.Popen([sys.executable, '-c', 'pass']); dead.wait()
    names = [f'job{i:02d}' for i in range(16)]
    for rep in range(12):
        d = tmp_path/f'race{rep}'
        won = race(d, names, dead.pid)
        assert sorted(sum(won.values(), [])) == names, f'race {rep}: {won}'
        for pid,ns in won.items():
            for n in ns:
                rec = json.loads(claim_path(d, n).read_text())
                assert (rec['pid'], rec['took_over']['pid']) == (pid, dead.pid)
        assert [p.name for p in (d/'claims').glob('.*')] == []        # no lock or hidden file left behind
