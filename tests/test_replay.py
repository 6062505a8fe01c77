"`quanta replay` on runs committed to the repository: zero difference on the machine that made them."
import json
from pathlib import Path
import pytest
from conftest import ROOT, quanta
from quanta_nb.results import cpu_signature

RUNS = sorted((ROOT/'tests'/'data'/'replay'/'runs').glob('*.json'))

def test_the_committed_runs_are_there():
    assert [p.name for p in RUNS] == ['quanta_B_L3_lam0.50_r000.json', 'quanta_B_L3_lam0.90_r000.json', 'transfer+_B_L3_r000.json']

@pytest.mark.parametrize('path', RUNS, ids=lambda p: p.stem)
def test_committed_run_replays(path):
    r = quanta('replay', path)
    assert r.returncode == 0, r.stderr[-3000:]
    rep = json.loads(r.stdout)
    rec = json.loads(path.read_text())['provenance']
    assert rep['status'] == ['ok', 'ok'] and rep['epochs'] == 2
    if (rec['cpu'], rec['torch'], rec['threads']) == (cpu_signature(), __import__('torch').__version__, 1):
        assert rep['max_diff'] == 0, rep                        # the same CPU and software: exactly the same run
    else: assert rep['max_diff'] < 1e-2, rep                    # another CPU: float32 rounding only
