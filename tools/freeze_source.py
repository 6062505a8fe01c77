#!/usr/bin/env python3
"""Train a source for the freeze study: a `tools.freeze_nets` network on an image folder (CIFAR-10's layout), with a
preset's optimiser and learning rate, its streams seeded by role 'source'; saves a plain `state_dict` and a JSON record
(accuracy, epochs, settings, the weights' SHA-256 as profile folders record it, seconds, machine) beside it.

    python tools/freeze_source.py resnet18_32 /work/fz/c10 results/freeze/resnet18_32/source.pt --epochs 8 --preset cpu"""
import argparse, json, platform, time
from functools import partial
from pathlib import Path
import torch
import tools.freeze_nets as nets
from quanta_nb.freeze import folder_dls, _weights_sha256
from quanta_nb.learner import preset_learner, seeded_model, fit_run
from quanta_nb.presets import get_preset
from quanta_nb.streams import run_seeds

def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('net', choices=['paper_cnn', 'resnet18_32']); ap.add_argument('data'); ap.add_argument('out')
    ap.add_argument('--epochs', type=int, default=8); ap.add_argument('--preset', default='cpu'); ap.add_argument('--seed', type=int, default=0)
    a = ap.parse_args()
    preset, t0 = get_preset(a.preset), time.time()
    dls = folder_dls(a.data, bs=preset.bs, seed=a.seed)
    seeds = run_seeds('source', f'cifar10-{a.net}', None, None, 0, a.seed)
    model = seeded_model(partial(getattr(nets, a.net), len(dls.vocab)), seeds['weights'])
    learn = preset_learner(dls, model, preset, seeds=seeds)
    df, failure = fit_run(learn, a.epochs)
    if failure: raise SystemExit(f"source training failed: {failure}")
    out = Path(a.out); out.parent.mkdir(parents=True, exist_ok=True)
    torch.save(model.state_dict(), out)
    rec = dict(net=a.net, data=str(a.data), n_train=len(dls.train_ds), n_test=len(dls.valid_ds), classes=list(map(str, dls.vocab)),
               epochs=a.epochs, preset=a.preset, weights_sha256=_weights_sha256(model), seed=a.seed, seeds=seeds, test_acc=float(df.acc.iloc[-1]),
               seconds=round(time.time() - t0), machine=f"{platform.processor() or platform.machine()}, {torch.get_num_threads()} threads")
    out.with_suffix('.json').write_text(json.dumps(rec, indent=1) + '\n')
    print(json.dumps({k:v for k,v in rec.items() if k not in ('classes', 'seeds')}))

if __name__ == '__main__': main()
