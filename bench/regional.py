"""sample.regional_fused vs the unrolled regional graph (graphs/regional_sampler.json).

The fused op batches the base and both region evaluations of a step into one model call; it
computes the parallel order of sample.regional (every sampler of a step starts from the same
latent), so it is compared with the unrolled graph in that order. Impact's own sequential
order is timed too, for scale (it cannot be batched: a region's input is the base's output).
Prints model calls, wall time of the sampling nodes (models, prompts and masks warmed and
cached first), the speedup ratio and the max abs difference. Ratios within one run.

    python bench/regional.py [--size 512] [--steps 20] [--sampler euler] [--repeat 3]
                             [--model toy | tiny-sd15] [--threads 1]

`--model tiny-sd15` runs on a tiny random-weight SD 1.5 checkpoint in the original layout
(a diffusers UNet, written to a temporary models folder): a real UNet's per-call cost is
mostly fixed overhead on this CPU, which is what batching saves (on a GPU, batching also
fills the device). The toy model's cost is linear in the batch, so there fusing saves little.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from graphrt import Runtime  # noqa: E402

FUSED_PARAMS = ("seed", "steps", "overlap_factor")


def document(size: int, fused: bool) -> dict[str, Any]:
    doc = json.loads((ROOT / "graphs" / "regional_sampler.json").read_text())
    scale = size / 512
    for name in ("mask_a", "mask_b"):
        doc["nodes"][name]["params"] = {k: int(v * scale)
                                        for k, v in doc["nodes"][name]["params"].items()}
    doc["nodes"]["empty"]["params"] = {"width": size, "height": size}
    if fused:
        node = doc["nodes"]["regional"]
        node["op"] = "sample.regional_fused"
        node["params"] = {k: v for k, v in node["params"].items() if k in FUSED_PARAMS}
    doc["outputs"] = {"latent": "regional.out"}
    return doc


def write_tiny_sd15(folder: Path) -> str:
    """A tiny seeded random-weight SD 1.5 checkpoint in the original key layout."""
    import torch
    from safetensors.torch import save_file

    from tests.real.tiny import CONFIGS, FILES, make_modules, randomize, to_original

    folder.mkdir(parents=True, exist_ok=True)
    modules = make_modules("sd1", CONFIGS["sd1"], "cpu")
    gen = torch.Generator().manual_seed(1)
    for name in sorted(modules):
        randomize(modules[name], gen)
    state = {k: v.contiguous() for k, v in to_original("sd1", modules, CONFIGS["sd1"]).items()}
    save_file(state, folder / FILES["sd1"])
    return FILES["sd1"]


def timed(rt: Runtime, doc: dict[str, Any], args: dict[str, Any]) -> tuple[Any, float, int]:
    t0 = time.perf_counter()
    result = rt.run(doc, args=args, outputs=["latent"])
    wall = time.perf_counter() - t0
    assert result.ok, result.failed
    return result.outputs["latent"]["samples"], wall, result.stats["model_calls"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--size", type=int, default=512)
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--sampler", default="euler")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--model", choices=["toy", "tiny-sd15"], default="toy")
    ap.add_argument("--threads", type=int, default=1,
                    help="CPU threads (1: stable timings on a shared machine)")
    ns = ap.parse_args()
    import torch

    torch.set_num_threads(ns.threads)
    models_dir, checkpoint = None, {}
    if ns.model == "tiny-sd15":
        models_dir = Path(tempfile.mkdtemp(prefix="graphrt-bench-")) / "models"
        checkpoint = {"checkpoint": write_tiny_sd15(models_dir / "checkpoints")}
    variants = {"fused": (document(ns.size, True), {}),
                "unrolled parallel": (document(ns.size, False), {"order": "parallel"}),
                "unrolled sequential": (document(ns.size, False), {})}
    best: dict[str, tuple[Any, float, int]] = {}
    for rep in range(ns.repeat):
        for name, (doc, extra) in variants.items():
            rt = Runtime(device="cpu", models_dir=models_dir)
            warm = {"steps": 1, "sampler": ns.sampler, "seed": 10_000 + rep, **extra,
                    **checkpoint}
            timed(rt, doc, warm)  # loads, prompts and masks cached; sampling nodes are not
            args = {"steps": ns.steps, "sampler": ns.sampler, "seed": 0, **extra, **checkpoint}
            out, wall, calls = timed(rt, doc, args)
            if name not in best or wall < best[name][1]:
                best[name] = (out, wall, calls)
    fused, par, seq = best["fused"], best["unrolled parallel"], best["unrolled sequential"]
    print(f"regional sampler on {ns.model}, 2 regions, {ns.steps} steps, {ns.sampler}, "
          f"{ns.size}x{ns.size} px,"
          f" best of {ns.repeat}")
    print(f"{'variant':<22}{'model calls':>12}{'wall s':>10}")
    for name, (_, wall, calls) in best.items():
        print(f"{name:<22}{calls:>12}{wall:>10.4f}")
    print(f"speedup fused vs unrolled parallel: {par[1] / fused[1]:.2f}x, "
          f"model calls {fused[2]} vs {par[2]} ({par[2] / fused[2]:.1f}x fewer)")
    print(f"max abs diff fused vs unrolled parallel: {float((fused[0] - par[0]).abs().max()):.3e}")
    print(f"(for scale) max abs diff fused vs Impact's sequential order: "
          f"{float((fused[0] - seq[0]).abs().max()):.3e}")


if __name__ == "__main__":
    main()
