#!/usr/bin/env python3
"""Execute docs notebooks and save their outputs, so the rendered site shows the figures and tables.

    python tools/save_outputs.py nbs/api/07_learner.ipynb nbs/api/17_report.ipynb ...
    python tools/save_outputs.py --flags slow nbs/api/19_bench.ipynb     # run the cells flagged `slow` too

Runs each notebook with `nbdev-test --save` (cells marked `#| eval: false` are skipped, as in the tests), then keeps of
each text stream only what a terminal would finally show (progress bars collapse to their last frame, so fastai's
table reads as a table) and drops library warnings; `nbdev-clean` then strips the metadata. Commit the result."""
import json, os, re, subprocess, sys
from pathlib import Path

BIN = Path(sys.executable).parent
NOISE = re.compile(r'(Warning: |warnings\.warn\(|warn\(f"You are shadowing)')

def _final_frame(line:str) -> str: return line.split('\r')[-1]

def clean_stream(text:str) -> str:
    lines = [_final_frame(l) for l in text.split('\n')]
    return '\n'.join(l for l in lines if not NOISE.search(l) and l.strip() not in ('█', ''))

def tidy(path:Path):
    nb = json.loads(path.read_text())
    for c in nb['cells']:
        outs = []
        for o in c.get('outputs', []):
            if o.get('output_type') == 'stream':
                txt = clean_stream(''.join(o['text']))
                if not txt.strip(): continue
                o['text'] = txt if txt.endswith('\n') else txt + '\n'
            outs.append(o)
        if 'outputs' in c: c['outputs'] = outs
    path.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + '\n')

if __name__ == '__main__':
    env = {**os.environ, 'OMP_NUM_THREADS': os.environ.get('OMP_NUM_THREADS', '1')}
    args = sys.argv[1:]
    flags = ['--flags', args[args.index('--flags') + 1]] if '--flags' in args else []
    if flags: del args[args.index('--flags'):args.index('--flags') + 2]
    for nb in map(Path, args):
        r = subprocess.run([BIN/'nbdev-test', '--save', *flags, str(nb)], env=env)
        if r.returncode: sys.exit(f'{nb} failed; its outputs were not saved')
        tidy(nb)
        subprocess.run([BIN/'nbdev-clean', '--fname', str(nb)], check=True)
        print(f'saved outputs of {nb} ({nb.stat().st_size//1024} KiB)')
