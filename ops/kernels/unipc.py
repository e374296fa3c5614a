"""UniPC (bh1 and bh2) as ComfyUI runs it: `uni_pc`, `uni_pc_bh2` (comfy/extra_samplers/uni_pc.py).

The solver works in the VP frame of an EPS model written in σ: x̄ = x/√(1+σ²),
α = 1/√(1+σ²), σ̄ = σ/√(1+σ²), λ = log α − log σ̄ = −ln σ, and predicts data, D(x, σ).
ComfyUI's call:

- a last σ of 0 becomes 0.001 (the run ends at σ = 0.001, not 0: its output is x(0.001),
  not D); the result is x̄ at the last σ divided by α there;
- order = min(3, n − 1) for n steps (n = 1: one model call and no update, the input comes
  back rescaled), multistep with `lower_order_final`: the first steps warm up at orders
  1, 2, …, the last two use orders 2 and 1;
- each step is UniP (predictor, order p) followed by UniC (corrector): the model is called
  once at the predicted point of σ_{i+1}; that output is both the corrector's input and
  the history entry of σ_{i+1}. The last step has no corrector, so n steps cost n calls.
- B(h) = h for bh1, e^h − 1 for bh2; order-2 predictor and order-1 corrector use ρ = ½.

Multistep: the history restarts with each call, so a split range is not one run
(RANGE_DEPENDENT), and the final σ → 0.001 rewrite depends on where the range ends.
"""

from __future__ import annotations

import torch

from .solver import Callback, ModelFn

LAST_SIGMA = 0.001  # ComfyUI's stand-in for σ = 0


def _log_alpha(s: torch.Tensor) -> torch.Tensor:
    return 0.5 * torch.log(1 / (s * s + 1))


def _alpha(s: torch.Tensor) -> torch.Tensor:
    return torch.exp(_log_alpha(s))


def _std(s: torch.Tensor) -> torch.Tensor:
    return torch.sqrt(1.0 - torch.exp(2.0 * _log_alpha(s)))


def _lambda(s: torch.Tensor) -> torch.Tensor:
    la = _log_alpha(s)
    return la - 0.5 * torch.log(1.0 - torch.exp(2.0 * la))


class _UniPC:
    """One call's state: the model in the VP frame and the bh variant."""

    def __init__(self, model: ModelFn, x: torch.Tensor, bh2: bool) -> None:
        self.model, self.bh2 = model, bh2
        self.s_in = x.new_ones([x.shape[0]])

    def data(self, xv: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        """x0 from the VP state: through ε = (x − D(x, σ))/σ at x = x̄·√(σ²+1), as ComfyUI."""
        inp = xv * (t * t + 1.0) ** 0.5
        eps = (inp - self.model(inp, t * self.s_in)) / t
        return (xv - _std(t) * eps) / _alpha(t)

    def update(
        self,
        x: torch.Tensor,
        hist: list[torch.Tensor],
        ts: list[torch.Tensor],
        t: torch.Tensor,
        order: int,
        corrector: bool,
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """One UniP(+UniC) step from ts[-1] to t at `order`; returns (x, model at t or None)."""
        t0, m0 = ts[-1], hist[-1]
        lam0, lam_t = _lambda(t0), _lambda(t)
        h = lam_t - lam0
        rks: list[torch.Tensor] = []
        d1s: list[torch.Tensor] = []
        for i in range(1, order):
            rk = (_lambda(ts[-(i + 1)]) - lam0) / h
            rks.append(rk)
            d1s.append((hist[-(i + 1)] - m0) / rk)
        rks.append(torch.ones_like(h))
        r = torch.stack(rks)

        hh = -h  # data prediction
        h_phi_1 = torch.expm1(hh)
        h_phi_k = h_phi_1 / hh - 1
        b_h = torch.expm1(hh) if self.bh2 else hh
        rows, bs = [], []
        fact = 1
        for i in range(1, order + 1):
            rows.append(r ** (i - 1))
            bs.append(h_phi_k * fact / b_h)
            fact *= i + 1
            h_phi_k = h_phi_k / hh - 1 / fact
        mat, b = torch.stack(rows), torch.stack(bs)

        alpha_t = _alpha(t)
        x_lin = (_std(t) / _std(t0)) * x - (alpha_t * h_phi_1) * m0
        x_t = x_lin
        if d1s:
            rho_p = (torch.tensor([0.5], dtype=b.dtype) if order == 2
                     else torch.linalg.solve(mat[:-1, :-1], b[:-1]))
            pred = sum((rho_p[k] * d for k, d in enumerate(d1s)), torch.zeros_like(x))
            x_t = x_lin - (alpha_t * b_h) * pred
        if not corrector:
            return x_t, None
        rho_c = (torch.tensor([0.5], dtype=b.dtype) if order == 1
                 else torch.linalg.solve(mat, b))
        m_t = self.data(x_t, t)
        corr = sum((rho_c[k] * d for k, d in enumerate(d1s)), torch.zeros_like(x))
        x_t = x_lin - (alpha_t * b_h) * (corr + rho_c[-1] * (m_t - m0))
        return x_t, m_t


@torch.no_grad()
def sample_unipc(
    model: ModelFn,
    x: torch.Tensor,
    sigmas: torch.Tensor,
    callback: Callback = None,
    *,
    bh2: bool = False,
) -> torch.Tensor:
    """UniPC multistep (order ≤ 3, data prediction) over `sigmas`; see the module doc."""
    if len(sigmas) < 2:
        return x
    ts = sigmas.clone()
    if float(ts[-1]) == 0.0:
        ts[-1] = LAST_SIGMA
    steps = len(ts) - 1
    order = min(3, steps - 1)
    solver = _UniPC(model, x, bh2)
    xv = x / torch.sqrt(1.0 + ts[0] ** 2.0)
    hist: list[torch.Tensor] = []
    t_hist: list[torch.Tensor] = []

    def report(i: int) -> None:
        if callback is not None:
            callback({"x": xv, "i": i, "sigma": sigmas[i], "sigma_hat": sigmas[i],
                      "denoised": hist[-1]})

    for i in range(steps):
        if i == 0:
            hist, t_hist = [solver.data(xv, ts[0])], [ts[0]]
        elif i < order:  # warm-up at order i, corrector on
            xv, m = solver.update(xv, hist, t_hist, ts[i], i, True)
            assert m is not None
            hist.append(m)
            t_hist.append(ts[i])
        else:
            for step in range(i, i + 1 + (i == steps - 1)):
                step_order = min(order, steps + 1 - step)
                last = step == steps
                xv, m = solver.update(xv, hist, t_hist, ts[step], step_order, not last)
                hist, t_hist = hist[1:] + hist[-1:], t_hist[1:] + [ts[step]]
                if not last:
                    assert m is not None
                    hist[-1] = m
        report(i)
    return xv / _alpha(ts[-1])
