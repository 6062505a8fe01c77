#!/usr/bin/env python3
"""Write README.md from nbs/index.ipynb, as `nbdev-readme` would with Quarto (which cannot be installed everywhere).

    python tools/make_readme.py          # write README.md
    python tools/make_readme.py --check  # exit 1 if README.md is not what index.ipynb gives

Markdown cells are copied; hidden cells (`#| hide`) are left out; the code of `#| echo: false` cells is left out
and their text outputs (tables as plain text) kept; links to pages of the site become links to the site; images are
replaced by a link to the home page where they are shown."""
import json, re, sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SITE = 'https://quanta-nb.github.io/quanta-nb/'

def _directives(src:str) -> set: return {l[3:].strip() for l in src.splitlines() if l.startswith('#| ')}
def _code(src:str) -> str: return '\n'.join(l for l in src.splitlines() if not l.startswith('#|')).strip()
def _links(md:str) -> str: return re.sub(r'\]\((?!https?://)([^)#]+\.html)', lambda m: f']({SITE}{m[1]}', md)

def readme(nb_path=ROOT/'nbs'/'index.ipynb') -> str:
    cells, parts = json.loads(Path(nb_path).read_text())['cells'], []
    for i,c in enumerate(cells):
        src = ''.join(c['source'])
        if c['cell_type'] == 'markdown':
            if i == 0:   # the title and its description, as nbdev renders them
                title, desc = src.splitlines()[0], '\n'.join(l[2:] for l in src.splitlines()[1:] if l.startswith('> '))
                parts.append(f"{title}\n\n{desc}")
            else: parts.append(_links(src))
            continue
        d = _directives(src)
        if 'hide' in d: continue
        if not {'echo: false', 'echo:false'} & d and _code(src): parts.append(f"```python\n{_code(src)}\n```")
        for o in c.get('outputs', []):
            data = o.get('data', {})
            if 'image/png' in data: parts.append(f"*(the figure is shown on the [documentation site]({SITE}))*")
            elif 'text/plain' in data: parts.append("```\n" + ''.join(data['text/plain']).rstrip() + "\n```")
            elif o.get('output_type') == 'stream': parts.append("```\n" + ''.join(o['text']).rstrip() + "\n```")
    return '\n\n'.join(parts).rstrip() + '\n'

if __name__ == '__main__':
    text, path = readme(), ROOT/'README.md'
    if '--check' in sys.argv:
        if not path.exists() or path.read_text() != text: sys.exit("README.md is not what nbs/index.ipynb gives: run tools/make_readme.py")
    else: path.write_text(text); print(f"wrote {path}")
