#!/usr/bin/env python3
"""Render the docs pages roughly as a reader sees them, without Quarto, and flag what a reviewer would fix.

    .venv/bin/python tools/render_docs.py                  # every page
    .venv/bin/python tools/render_docs.py index 00_layer   # only these (`00_layer`, `api/00_layer`, `nbs/api/00_layer.ipynb`)

Writes `_render/{proc,html,png}/<page>.*` (git-ignored; `<page>` is the notebook's path under `nbs/`), prints one line
per page with the PNG's path and size, then the page's warnings; exits 1 if a page could not be processed. Steps:

1. nbdev's own processing: `nbdev.serve_drv.main` with `FilterDefaults`, the very call `nbdev-proc-nbs` makes for each
   notebook (hidden and `export` cells dropped, `show_doc` rendered, backticked names linked, frontmatter made), into
   `_render/proc/` rather than the shared `_proc/` cache, which `nbdev-docs` or `nbdev-preview` may be wiping at the
   same moment. The command itself is not called: it also rewrites `nbs/_quarto.yml`, `nbs/nbdev.yml` and
   `_modidx.py`, and downloads Quarto when it is missing. A notebook that fails here fails `nbdev-docs` too.
2. What Quarto does with the options nbdev leaves in the notebook, done by hand: the frontmatter becomes the title and
   description, `#| include: false` drops a cell, `echo: false` its input, `output: false` its outputs, `code-fold`
   cells get their "Exported source" label, `:::` fence lines go. Then nbconvert's HTML exporter (`jupyter nbconvert
   --to html`, `classic` template, saved outputs, nothing executed) writes the page, plus a little CSS.
3. Headless Chromium (`/usr/bin/chromium`, or `$CHROME`), driven through the DevTools protocol (websocket-client,
   installed with Jupyter): the page is laid out 1100 px wide, its full height is read from the DOM after loading
   (`scrollHeight`), the viewport is set to that height and the page captured. The height is measured, not guessed, and one browser serves every page. Web
   requests are blocked, so runs are offline and repeatable. Without Chromium the HTML and the warnings are still
   made, and each page's line says that no PNG was. TeX is typeset by a local MathJax 2 (Debian's
   `libjs-mathjax`: `apt-get install libjs-mathjax`), loaded from disk; the capture waits for it to finish, and TeX it
   cannot typeset is reported. Without it the page is still rendered, TeX shows as typed, and the report says so.

Warnings cover the rendered text (progress bars, temporary paths, leftovers, `Annotated[`/`NoneType` in signatures,
tables whose text vanishes) and the visible code cells of the source notebook: temporary folders (`tempfile`,
`mkdtemp`, `/tmp/`), names that only a hidden cell defines, private `_names`, and more than 20 visible test lines
(`test_eq`, `test_fail`, `test_close`, `assert`, ...) on one page.
"""
import ast, base64, io, json, os, re, subprocess, sys, tempfile, time, urllib.request, warnings
from contextlib import redirect_stderr
from html import escape
from html.parser import HTMLParser
from pathlib import Path
import fastcore.test, nbformat, websocket, yaml
from nbconvert import HTMLExporter
from traitlets.config import Config
import nbdev.serve_drv
from nbdev.config import get_config
from nbdev.doclinks import nbglob
from nbdev.processors import FilterDefaults

ROOT = Path(__file__).resolve().parents[1]
OUT, WIDTH, CHROME = ROOT/'_render', 1100, os.environ.get('CHROME', '/usr/bin/chromium')
MATHJAX = Path('/usr/share/javascript/mathjax/MathJax.js')  # Debian's libjs-mathjax (MathJax 2.7)
MAX_TESTS = 20  # visible test lines a page may show
CSS = ('<style>body{background:#fff} #notebook-container{width:auto;max-width:1040px;box-shadow:none;padding:15px} '
       '.rendered_html :is(td,th){text-align:left} .rendered_html :is(h1,h2,h3){margin-top:1em} '
       '.rendered_html .highlight{background:#f7f7f7} .rendered_html .highlight pre{margin:0;padding:.5em}</style>')  # nearer Quarto's look
_re_opt = re.compile(r'^#\|\s*([\w-]+)\s*:\s*(.*?)\s*$')

# --- 2. Quarto's cell options, by hand ---------------------------------------------------------------------------------
def quartoish(nb):
    "Apply to `nb` (processed by nbdev) what Quarto does with the options nbdev leaves for it"
    cells = []
    for c in nb.cells:
        if c.cell_type == 'raw':
            fm = yaml.safe_load(c.source.strip().strip('-')) if c.source.startswith('---') else None
            if isinstance(fm, dict) and 'title' in fm:
                cells.append(nbformat.v4.new_markdown_cell(f"# {fm['title']}\n\n*{fm.get('description', '')}*"))
            continue
        if c.cell_type == 'markdown':
            c.source = '\n'.join(l for l in c.source.splitlines() if not l.startswith(':::'))
            cells.append(c); continue
        c.metadata.pop('execution', None)  # nbdev's timings: floats, which nbformat refuses
        lines = c.source.splitlines()
        opts = dict(m.groups() for l in lines if (m := _re_opt.match(l)))
        c.source = '\n'.join(l for l in lines if not _re_opt.match(l))
        if opts.get('include') == 'false': continue
        if opts.get('output') == 'false': c.outputs = []
        if opts.get('echo') == 'false' or not c.source.strip(): c.metadata.setdefault('tags', []).append('remove_input')
        if 'code-fold' in opts: cells.append(nbformat.v4.new_markdown_cell('<small>▾ ' + opts.get('code-summary', 'Code').strip('"') + '</small>'))
        cells.append(c)
    nb.cells = cells
    return nb

# --- warnings ------------------------------------------------------------------------------------------------------------
KNOWN_TAGS = set('a abbr b blockquote br caption code col colgroup details div em h1 h2 h3 h4 h5 h6 hr i img input label li '
                 'ol p pre progress script small span strong style sub summary sup svg table tbody td tfoot th thead tr u ul'.split())
CHECKS = [  # (pattern, what, also looked for in code cells' source)
    (re.compile(r'\|█|█{3}|\b100\.00%|\r|<progress'), 'progress-bar text', True),
    (re.compile(r'/tmp/|\btmp\w{3,}'), 'temporary path', False),
    (re.compile(r'\b(issue|session)s?\b', re.I), 'word', False),
    (re.compile(r'\bTODO\b|\.\./shared'), 'leftover', True),
    (re.compile(r'Annotated\[|NoneType'), 'signature noise', False)]

class _Tags(HTMLParser):
    def __init__(self, html): super().__init__(); self.tags = set(); self.feed(html)
    def handle_starttag(self, tag, attrs): self.tags.add(tag)

_re_repr = re.compile(r'<[\w.]+(?: object)?(?: at 0x\w+)?>')  # a bare repr: nothing to compare

def _text(x): return ''.join(x) if isinstance(x, list) else str(x)

def review(nb):
    "Things in the visible text of `nb` a reviewer would fix, as short strings"
    res = []
    for i, c in enumerate(nb.cells):
        shown = [] if 'remove_input' in c.metadata.get('tags', []) else [('source', c.source)]
        for o in c.get('outputs', []):
            if o.output_type == 'stream': shown.append((o.name, o.text)); continue
            if o.output_type == 'error': shown.append(('error', o.ename + ': ' + o.evalue)); continue
            data = o.get('data', {})
            for k in ('text/html', 'text/markdown', 'text/plain'):
                if k in data: shown.append((k, _text(data[k]))); break  # the one the page shows
            if 'text/html' in data:
                h = _text(data['text/html'])
                odd = _Tags(h).tags - KNOWN_TAGS
                if odd: res.append(f"cell {i}: HTML output has unknown tags {sorted(odd)}: their text vanishes")
                plain = _text(data.get('text/plain', ''))
                lost = [t for t in re.findall(r'<[^\s<>]+', plain) if escape(t) not in h and not _re_repr.fullmatch(plain.strip())]
                if '<table' in h and lost: res.append(f"cell {i}: table text {lost[:3]} is not escaped in its HTML: it vanishes")
        for where, txt in shown:
            if where == 'stderr': res.append(f"cell {i}: stderr output {txt.strip()[:80]!r}")
            code = c.cell_type == 'code' and where == 'source'
            for rx, what, in_code in CHECKS:
                if (m := rx.search(txt)) and (in_code or not code):
                    ctx = txt[max(0, m.start()-30):m.end()+30].replace('\n', ' ').replace('\r', ' ')
                    res.append(f"cell {i} ({where}): {what} {m.group()!r} in {ctx!r}")
    return res

# --- the source notebook's code cells --------------------------------------------------------------------------------
_re_test = re.compile(r'^\s*(test_\w+\(|test\(|assert\b)')
_re_tmp = re.compile(r'\btempfile\b|\bmkdtemp\b|\bmkstemp\b|/tmp/')

_re_flag = re.compile(r'^#\|\s*([\w-]+)(?:\s*:\s*(.*?))?\s*$')  # `#| hide` as well as `#| echo: false`

def _cell_opts(src): return {m[1]: m[2] or '' for l in src.splitlines() if (m := _re_flag.match(l))}
def _hidden(opts): return 'hide' in opts or opts.get('include') == 'false' or any(k.startswith('export') for k in opts)

def _names(src):
    "Names defined and names read by the code `src` (magics and shell lines left out); `None` if it does not parse"
    try: tree = ast.parse('\n'.join(l for l in src.splitlines() if not l.lstrip().startswith(('%', '!'))))
    except SyntaxError: return None
    defined, used = set(), set()
    for n in ast.walk(tree):
        if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)): defined.add(n.name)
        elif isinstance(n, ast.alias): defined.add((n.asname or n.name).split('.')[0])
        elif isinstance(n, ast.Name): (used if isinstance(n.ctx, ast.Load) else defined).add(n.id)
        elif isinstance(n, ast.arg): defined.add(n.arg)
    return defined, used

CONVENTION = {*fastcore.test.__all__, 'show_doc'}  # imported in a hidden cell by every nbdev notebook, by convention

def review_code(src:Path):
    "Things in the visible code cells of notebook `src` a reviewer would fix, as short strings"
    nb, res, cells = nbformat.read(src, as_version=4), [], []
    for i, c in enumerate(nb.cells):
        if c.cell_type != 'code': continue
        opts = _cell_opts(c.source)
        # `export` cells are not shown, but what they define is the module's, not the hidden cells'
        shown = not _hidden(opts) and opts.get('echo') != 'false'
        cells.append((i, c.source, shown, 'export' in ''.join(opts) or not _hidden(opts), _names(c.source)))
    public = set().union(*(nm[0] for _, _, _, pub, nm in cells if pub and nm))
    hidden = set().union(*(nm[0] for _, _, _, pub, nm in cells if not pub and nm)) - public - CONVENTION
    n_tests = 0
    for i, s, shown, _, nm in cells:
        if not shown: continue
        n_tests += sum(bool(_re_test.match(l)) for l in s.splitlines())
        if m := _re_tmp.search(s): res.append(f"cell {i} (source): temporary folder {m.group()!r} in a visible cell")
        if nm is None or re.search(r'^show_doc', s, re.M): continue  # nbdev shows a `show_doc` cell's output only
        if only_hidden := sorted(nm[1] & hidden - nm[0]):
            res.append(f"cell {i} (source): {only_hidden[:4]} defined only in hidden cells")
        if private := sorted(n for n in nm[1] | nm[0] if re.fullmatch(r'_[A-Za-z]\w*', n) and not n.startswith('__')):
            res.append(f"cell {i} (source): private name(s) {private[:4]} in a visible cell")
    if n_tests > MAX_TESTS: res.append(f"{n_tests} visible test lines (at most {MAX_TESTS}): move behaviour guards into hidden cells")
    return res

# --- 3. Chromium, through the DevTools protocol -----------------------------------------------------------------------
class Chromium:
    "A headless Chromium with one page, driven through the DevTools protocol"
    math_errors = None  # TeX MathJax could not typeset on the last page shot; None: MathJax did not run
    def __init__(self):
        self.prof = tempfile.TemporaryDirectory(ignore_cleanup_errors=True)
        flags = ('--headless --no-sandbox --disable-gpu --disable-quic --no-first-run --disable-background-networking '
                 '--disable-component-update --disable-sync --hide-scrollbars --remote-debugging-port=0').split()
        self.proc = subprocess.Popen([CHROME, *flags, f'--user-data-dir={self.prof.name}', f'--window-size={WIDTH},800',
                                      'about:blank'], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        port_file = Path(self.prof.name)/'DevToolsActivePort'
        for _ in range(300):
            if port_file.exists() and port_file.read_text().strip(): break
            time.sleep(0.1)
        port = port_file.read_text().split()[0]
        page = next(t for t in json.load(urllib.request.urlopen(f'http://127.0.0.1:{port}/json/list')) if t['type'] == 'page')
        self.ws, self.n = websocket.create_connection(page['webSocketDebuggerUrl'], timeout=120, suppress_origin=True), 0
        self('Network.enable'); self('Network.setBlockedURLs', urls=['http://*', 'https://*'])

    def __call__(self, method, **params):
        self.n += 1
        self.ws.send(json.dumps(dict(id=self.n, method=method, params=params)))
        while (m := json.loads(self.ws.recv())).get('id') != self.n: pass  # skip events
        if 'error' in m: raise RuntimeError(f"{method}: {m['error']}")
        return m['result']

    def js(self, expr): return self('Runtime.evaluate', expression=expr, awaitPromise=True, returnByValue=True)['result'].get('value')

    def shoot(self, html:Path, png:Path):
        "Save a full-page PNG of `html`; return its height"
        self('Emulation.setDeviceMetricsOverride', width=WIDTH, height=100, deviceScaleFactor=1, mobile=False)  # < any page
        self('Page.navigate', url=html.resolve().as_uri())
        for _ in range(300):
            if self.js('document.readyState') == 'complete': break
            time.sleep(0.1)
        self.js('document.fonts.ready.then(() => 1)')
        tex = self.js('window.MathJax && MathJax.Hub ? new Promise(r => MathJax.Hub.Queue(() => r(1))) : 0')  # typeset
        self.math_errors = self.js("document.querySelectorAll('.MathJax_Error, .mjx-merror, merror').length") if tex else None
        h = self.js('Math.ceil(document.documentElement.scrollHeight)')
        self('Emulation.setDeviceMetricsOverride', width=WIDTH, height=h, deviceScaleFactor=1, mobile=False)
        png.write_bytes(base64.b64decode(self('Page.captureScreenshot', format='png')['data']))
        return h

    def close(self):
        self.ws.close(); self.proc.terminate(); self.proc.wait(); self.prof.cleanup()

# --- main ------------------------------------------------------------------------------------------------------------------
def pages(names):
    "The notebooks to render: all of nbdev's (as `nbdev-proc-nbs` lists them), or those named (`x`, `api/x`, `nbs/api/x.ipynb`)"
    nbs = get_config().nbs_path
    every = sorted(nbglob(nbs, func=Path))
    if not names: return [(p, p.relative_to(nbs).with_suffix('')) for p in every]
    res = []
    for n in names:
        n = str(Path(n).with_suffix('')).removeprefix('nbs/')
        hits = [p for p in every if str(p.relative_to(nbs).with_suffix('')) == n or p.stem == n]
        if not hits: sys.exit(f"no notebook called {n!r} in {nbs}")
        res += [(p, p.relative_to(nbs).with_suffix('')) for p in hits]
    return res

def render(src:Path, rel:Path, exporter, browser):
    "Render notebook `src` to `_render/{proc,html,png}/rel.*`; return the report's lines"
    proc, html, png = [OUT/d/rel.with_suffix(x) for d, x in (('proc', '.ipynb'), ('html', '.html'), ('png', '.png'))]
    for f in (proc, html, png): f.parent.mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter('always')
        with redirect_stderr(io.StringIO()):  # the warnings come back below, one line each
            try: nbdev.serve_drv.main((src, proc, FilterDefaults))  # what `nbdev-proc-nbs` does to each notebook
            except Exception as e:
                msg = str(e).splitlines()
                return [f"{rel}: FAILED in nbdev's processing (so would `nbdev-docs`): {msg[0]} ... {msg[-1]}"]
    nb = quartoish(nbformat.read(proc, as_version=4))
    body, _ = exporter.from_notebook_node(nb, resources={'metadata': {'name': rel.name}})
    html.write_text(body.replace('</head>', CSS + '</head>', 1))
    msgs = [str(w.message).split('---') + [''] for w in caught if '/nbdev/' in w.filename]  # nbdev's own, not the libraries'
    nbdev_warns = dict.fromkeys(f"nbdev: {m[0].strip()} {m[1].strip()[:60]!r}" for m in msgs)
    if browser is None:  # no Chromium: the HTML and the warnings, without the screenshot
        return [f"{html.relative_to(ROOT)}  (no PNG: {CHROME} is missing)"] + [
                '  WARNING ' + w for w in [*nbdev_warns, *review(nb), *review_code(src)]]
    h = browser.shoot(html, png)
    math = [] if browser.math_errors is None or not MATHJAX.exists() else (
        [f"{browser.math_errors} TeX expression(s) MathJax could not typeset"] if browser.math_errors else [])
    return [f"{png.relative_to(ROOT)}  {WIDTH}x{h} px  {png.stat().st_size//1024} KB"] + [
            '  WARNING ' + w for w in [*nbdev_warns, *review(nb), *review_code(src), *math]]

def main(names):
    os.chdir(ROOT); t0 = time.time(); failed = 0
    exporter = HTMLExporter(template_name='classic', config=Config(  # = `jupyter nbconvert --to html --no-prompt ...`
        TemplateExporter=dict(exclude_input_prompt=True, exclude_output_prompt=True),
        TagRemovePreprocessor=dict(enabled=True, remove_input_tags={'remove_input'})))
    if MATHJAX.exists(): exporter.mathjax_url = MATHJAX.as_uri() + '?config=TeX-AMS_CHTML-full,Safe'  # local, offline
    else: print(f"no local MathJax ({MATHJAX}: `apt-get install libjs-mathjax`): TeX shows as typed")
    browser = Chromium() if Path(CHROME).exists() else None
    if browser is None: print(f"no headless Chromium ({CHROME}: `apt-get install chromium`): HTML and warnings only, no PNGs")
    try:
        for src, rel in pages(names):
            lines = render(src, rel, exporter, browser)
            failed += 'FAILED' in lines[0]
            print('\n'.join(lines), flush=True)
    finally: browser and browser.close()
    print(f"done in {time.time()-t0:.0f}s" + (f", {failed} page(s) FAILED" if failed else ''))
    sys.exit(1 if failed else 0)

if __name__ == '__main__': main(sys.argv[1:])
