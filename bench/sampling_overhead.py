"""Sampling through graphrt vs. a hand-written k-diffusion loop on the same toy model.

Both do the same work: 20 euler steps with CFG (cond and uncond batched into one model
call) on the same initial noise and karras sigmas, reporting progress after every step (the
graph emits a progress event per step; the loop passes k-diffusion a progress callback).
The graph run includes everything the engine adds (validation, planning, hashing, events,
cache stores); model loading and text encoding are warm in both (the graph's are cached,
the loop encodes its prompts once, before timing), so the ratio isolates the engine's
overhead on sampling. Runs alternate; printed as the ratio of minima (and of medians)
within one run.

    python bench/sampling_overhead.py [--size 512] [--steps 20] [--repeat 15]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import k_diffusion.sampling as K  # noqa: E402
import torch  # noqa: E402

from graphrt import Runtime  # noqa: E402
from graphrt.ops.kernels.noise import prepare_noise  # noqa: E402
from graphrt.ops.kernels.schedules import calculate_sigmas  # noqa: E402
from graphrt.ops.models.toy import load_toy  # noqa: E402

PROMPT, SEED, CFG = "a red circle on the left", 7, 5.0


def graph(size: int, steps: int, seed: int) -> dict:
    return {"nodes": {
        "ckpt": {"op": "model.load_checkpoint", "params": {"name": "toy-shapes"}},
        "pos": {"op": "text.encode", "in": {"clip": "ckpt.clip"}, "params": {"text": PROMPT}},
        "neg": {"op": "text.encode", "in": {"clip": "ckpt.clip"}, "params": {"text": ""}},
        "empty": {"op": "latent.empty", "params": {"width": size, "height": size}},
        "sample": {"op": "sample.steps", "in": {"model": "ckpt.model", "positive": "pos.out",
                                                "negative": "neg.out", "latent": "empty.out"},
                   "params": {"seed": seed, "steps": steps, "cfg": CFG, "sampler": "euler",
                              "scheduler": "karras"}},
    }, "outputs": {"latent": "sample.out"}}


def encode(clip) -> torch.Tensor:
    """The loop's context, [cond, uncond], encoded once (the graph's encodings are cached)."""
    cond, _ = clip.encode(PROMPT)
    uncond, _ = clip.encode("")
    return torch.cat([cond, uncond])


def hand_loop(model, context: torch.Tensor, size: int, steps: int, seed: int) -> torch.Tensor:
    """The same sampling written directly on k-diffusion: no engine."""
    sigmas = torch.tensor(calculate_sigmas("karras", steps), dtype=torch.float32)
    latent = torch.zeros(1, 4, size // 8, size // 8)
    x = latent + prepare_noise(latent, seed) * (1 + sigmas[0] ** 2).sqrt()

    def denoiser(x: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
        d_c, d_u = model.denoise(x.repeat(2, 1, 1, 1), sigma.repeat(2), context).chunk(2)
        return d_u + (d_c - d_u) * CFG

    done: list[int] = []
    return K.sample_euler(denoiser, x, sigmas, disable=True,
                          callback=lambda info: done.append(info["i"] + 1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--repeat", type=int, default=15)
    ns = parser.parse_args()
    torch.set_num_threads(1)
    rt = Runtime(device="cpu")
    model, clip, _ = load_toy("toy-shapes")
    out_graph = rt.run(graph(ns.size, ns.steps, SEED)).outputs["latent"]["samples"]
    context = encode(clip)
    out_loop = hand_loop(model, context, ns.size, ns.steps, SEED)
    diff = float((out_graph - out_loop).abs().max())
    t_graph, t_loop = [], []
    for i in range(ns.repeat):
        seed = SEED + 1 + i  # a new seed each time: the sampler node must really run
        t0 = time.perf_counter()
        result = rt.run(graph(ns.size, ns.steps, seed))
        t1 = time.perf_counter()
        hand_loop(model, context, ns.size, ns.steps, seed)
        t2 = time.perf_counter()
        assert result.executed == ["sample"], result.executed
        t_graph.append(t1 - t0)
        t_loop.append(t2 - t1)
    g, h = min(t_graph), min(t_loop)
    gm, hm = statistics.median(t_graph), statistics.median(t_loop)
    print(f"latent {ns.size // 8}x{ns.size // 8}, {ns.steps} euler steps, cfg {CFG}, "
          f"{ns.repeat} runs (min; median)")
    print(f"  graphrt run      {g * 1e3:8.1f} ms  ({gm * 1e3:.1f})")
    print(f"  hand-written loop {h * 1e3:7.1f} ms  ({hm * 1e3:.1f})")
    print(f"  overhead ratio   {g / h:8.3f}   ({gm / hm:.3f})   "
          f"(max |graph - loop| = {diff:.2e})")


if __name__ == "__main__":
    main()
