#!/usr/bin/env python3
"""Measure the fastest layout of QUANTA runs on this machine for the fast engine: workers x threads, K runs per group,
channels-last and torch.compile. Each configuration trains the `cpu` preset's network on resident random images with
`bench_fast` (the step the sweep runs) and reports run-images per second for the whole machine.

    python tools/layout_bench.py --out results/cifar-converged/layout.json

Configurations are measured in an interleaved order, `--repeats` times, so a load that comes and goes hits all alike."""
import argparse, json, os, platform, subprocess, sys, time
from pathlib import Path

def one(K, threads, channels_last, compile, steps, warmup):
    "Run-images/s of one process (a fresh interpreter, so thread settings and compile caches do not leak)"
    code = (f"import torch; torch.set_num_threads({threads}); from quanta_nb.bench import bench_fast; "
            f"from quanta_nb.records import Engine; import json; "
            f"print(json.dumps(bench_fast(K={K}, steps={steps}, warmup={warmup}, layer=3, preset='cpu', n_images=4096, "
            f"engine=Engine(device='cpu', channels_last={channels_last}, compile={compile}))))")
    env = {**os.environ, 'OMP_NUM_THREADS': str(threads), 'PYTHONWARNINGS': 'ignore'}
    return subprocess.Popen([sys.executable, '-c', code], stdout=subprocess.PIPE, text=True, env=env)

def measure(cfg, steps, warmup):
    procs = [one(cfg['K'], cfg['threads'], cfg['channels_last'], cfg['compile'], steps, warmup) for _ in range(cfg['workers'])]
    outs = [json.loads(p.communicate()[0].strip().splitlines()[-1]) for p in procs]
    return sum(o['run_images_per_s'] for o in outs)

CONFIGS = [dict(workers=w, threads=t, K=k, channels_last=cl, compile=c) for w,t,k,cl,c in [
    (1, 1, 1, False, False), (1, 1, 3, False, False), (1, 1, 6, False, False),
    (1, 2, 3, False, False), (1, 2, 6, False, False), (2, 1, 3, False, False), (2, 1, 6, False, False),
    (1, 1, 3, True, False), (1, 1, 3, False, True)]]

if __name__ == '__main__':
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--out', required=True); ap.add_argument('--steps', type=int, default=30)
    ap.add_argument('--warmup', type=int, default=5); ap.add_argument('--repeats', type=int, default=2)
    a = ap.parse_args()
    rows = [dict(cfg, rates=[]) for cfg in CONFIGS]
    t0 = time.time()
    for r in range(a.repeats):
        for row in (rows if r % 2 == 0 else rows[::-1]):
            row['rates'].append(round(measure(row, a.steps, a.warmup), 1))
            print(json.dumps({k:v for k,v in row.items()}), flush=True)
    for row in rows: row['machine_run_images_per_s'] = round(sum(row['rates'])/len(row['rates']), 1)
    import torch
    from quanta_nb.results import cpu_signature
    rec = dict(what="run-images per second of the whole machine, fast engine, `cpu` preset network, layer 3, batch 32",
               cpu=cpu_signature(), cores=os.cpu_count(), torch=torch.__version__,
               date=time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime()), seconds=round(time.time() - t0),
               command=' '.join(['python', *sys.argv]), configs=rows)
    Path(a.out).write_text(json.dumps(rec, indent=1) + '\n')
    best = max(rows, key=lambda r: r['machine_run_images_per_s'])
    print('fastest:', {k:best[k] for k in ('workers', 'threads', 'K', 'channels_last', 'compile', 'machine_run_images_per_s')})
