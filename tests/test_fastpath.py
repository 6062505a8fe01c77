"Equivalence of the fast path (`quanta_nb.fastpath`) with the plain fastai path, on the CPU, in float64 and float32"
import copy
import pytest
import torch
import torch.nn.functional as F
from torch import nn
from fastai.data.core import DataLoaders
from fastai.data.load import DataLoader
from fastai.learner import Callback
from quanta_nb.presets import get_preset
from quanta_nb.models import QuantaCNN, QuantaModel
from quanta_nb.learner import quanta_learner
from quanta_nb.fastpath import VmapQuanta, smooth_loss

PRE = get_preset('demo', width_mult=1/16, block_dropout=0., fc_dropout=0., wd=1e-3, lr_decay=0.1)  # dropout: random, off
LAYER = 3
# float64 proves equality. In float32 the paths sum in another order: the first step's loss and gradients agree to
# ~1e-7, but Adam amplifies rounding in the few gradients below its eps (1e-7), so after some steps the weights agree
# to ~1e-5 overall (see nbs/15_fastpath.ipynb). Tolerances: (first step, after steps, metrics).
DTYPES = [(torch.float64, (1e-10, 1e-10, 1e-6)), (torch.float32, (1e-6, 1e-3, 1e-4))]


@pytest.fixture(autouse=True, scope='module')
def one_thread():
    "One PyTorch thread: on shared CPU cores, several threads stall each other (10x slower seen); restored afterwards"
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def fixture(dtype, seed=0):
    torch.manual_seed(seed)
    source = QuantaCNN(10, PRE).eval()
    with torch.no_grad():
        for m in source.modules():
            if isinstance(m, nn.BatchNorm2d): m.running_mean.uniform_(-0.5, 0.5); m.running_var.uniform_(0.5, 2.)
    target = QuantaCNN(10, PRE)
    xs, ys = torch.rand(3, 8, 3, 32, 32), torch.randint(0, 10, (3, 8))
    xv, yv = torch.rand(32, 3, 32, 32), torch.randint(0, 10, (32,))
    return source.to(dtype), target.to(dtype), xs.to(dtype), ys, xv.to(dtype), yv


def rel_all(a: dict, b: dict) -> float:
    x, y = torch.cat([a[n].double().flatten() for n in b]), torch.cat([t.double().flatten() for t in b.values()])
    return ((x - y).norm()/y.norm()).item()


class Float64Loss(Callback):
    "fastai's loss wrapper returns float32: use a float64 cross-entropy, and show the Recorder a float32 copy"
    def before_fit(self): self.learn.loss_func = nn.CrossEntropyLoss()
    def after_loss(self): self.learn.loss = self.learn.loss.float()


@pytest.mark.parametrize('dtype,tol', DTYPES)
def test_one_run_equals_fastai_learner(dtype, tol):
    first, after, metrics = tol
    source, target, xs, ys, xv, yv = fixture(dtype)
    # the first batch: loss and every gradient
    qm = QuantaModel(source, copy.deepcopy(target), LAYER, 0.9).to(dtype).train()
    loss = F.cross_entropy(qm(xs[0]), ys[0])
    loss.backward()
    grads = {**{n: p.grad for n, p in qm.target.named_parameters()}, 'v': qm.quanta.v.grad}
    fast = VmapQuanta(source, [copy.deepcopy(target)], LAYER, 0.9, PRE, device='cpu')
    fast_loss, fast_grads = fast.loss_and_grads(xs[:1], ys[:1])
    assert abs(fast_loss[0].item() - loss.item()) <= first*loss.item()
    assert rel_all({n: g[0] for n, g in fast_grads.items()}, grads) < first
    # three Adam steps through fastai's own fit, then the recorder's row
    dls = DataLoaders(DataLoader(list(zip(xs.flatten(0, 1), ys.flatten())), bs=8, shuffle=False, drop_last=True),
                      DataLoader(list(zip(xv, yv)), bs=16))
    learn = quanta_learner(dls, source, LAYER, 0.9, PRE, target=copy.deepcopy(target),
                           cbs=[Float64Loss()] if dtype == torch.float64 else None)
    learn.model.to(dtype)
    with learn.no_bar(), learn.no_logging(): learn.fit(1)
    fast = VmapQuanta(source, [copy.deepcopy(target)], LAYER, 0.9, PRE, device='cpu')
    losses = torch.stack([fast.train_step(xs[i:i+1], ys[i:i+1]) for i in range(3)], 1)
    assert rel_all(fast.run_model(0).target.state_dict(), learn.model.target.state_dict()) < after
    assert abs(fast.lam_s[0].item() - learn.model.quanta.lam_s) < after
    plain = dict(zip(['train_loss', 'loss', 'acc', 'top3', 'precision', 'recall', 'lam_s'], learn.recorder.values[-1]))
    mine = {k: v[0] for k, v in fast.evaluate(xv, yv).items()}
    mine['train_loss'] = smooth_loss(losses)[0][0].item()
    for k, v in plain.items(): assert mine[k] == pytest.approx(v, rel=metrics, abs=1e-7), k   # recorder: float32


@pytest.mark.parametrize('dtype,tol', DTYPES)
def test_k_runs_together_equal_k_runs_alone(dtype, tol):
    first, after, metrics = tol
    source, _, _, _, xv, yv = fixture(dtype)
    lams = [0.9, 0.75, 0.5]
    targets = [QuantaCNN(10, PRE).to(dtype) for _ in lams]
    xk, yk = torch.rand(2, 3, 8, 3, 32, 32, dtype=dtype), torch.randint(0, 10, (2, 3, 8))
    together = VmapQuanta(source, [copy.deepcopy(t) for t in targets], LAYER, lams, PRE, device='cpu')
    for s in range(2): together.train_step(xk[s], yk[s])
    mets = together.evaluate(xv, yv)
    for k, lam in enumerate(lams):
        alone = VmapQuanta(source, [copy.deepcopy(targets[k])], LAYER, lam, PRE, device='cpu')
        for s in range(2): alone.train_step(xk[s, k:k+1], yk[s, k:k+1])
        assert rel_all({n: t[k] for n, t in together.params.items()}, {n: t[0] for n, t in alone.params.items()}) < after
        assert rel_all({n: t[k] for n, t in together.buffers.items()}, {n: t[0] for n, t in alone.buffers.items()}) < after
        assert abs(together.lam_s[k].item() - alone.lam_s[0].item()) < metrics
        for c, v in alone.evaluate(xv, yv).items(): assert mets[c][k] == pytest.approx(v[0], rel=metrics, abs=1e-9), c
