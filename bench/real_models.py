"""Sampling real-architecture checkpoints through graphrt vs. a plain diffusers loop.

Both sides use the same weights, the same initial noise, euler with CFG (cond and uncond in
one UNet call) over the same "trailing" timesteps, and precomputed conditioning (graphrt's
text encodings are cached after a warm-up run; the loop reuses its tensors), so the ratio is
graphrt's overhead on sampling (engine, denoiser wrapper, guidance) against diffusers'
scheduler loop. Printed as it/s (medians) and the ratio of medians and of minima within one
run.

- CPU (default): the tiny random-weight SD 1.5 and SDXL base + refiner of tests/real,
  written as original-layout single files and loaded through `model.load_checkpoint`.
- `--gpu`: full-size SDXL base + refiner architectures (diffusers' configs, default random
  initialisation, fp16, VAE unused) at 1024², graphrt's split sampler (two sample.steps
  nodes) vs. a diffusers base → refiner loop. Needs CUDA and ~12 GB of disk for the files.

    python bench/real_models.py [--steps 8] [--size 128] [--repeat 5] [--threads 1] [--gpu]
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import torch  # noqa: E402

from graphrt import Runtime  # noqa: E402
from graphrt.ops.kernels.noise import prepare_noise  # noqa: E402

CFG, SEED = 5.0, 7


def write_models(folder: Path, configs: dict[str, Any], device: str, dtype: torch.dtype,
                 tiny: bool) -> dict[str, dict[str, Any]]:
    """Build each family's modules (tiny: seeded random; else default init), write the
    original-layout file, return the modules."""
    from safetensors.torch import save_file

    from tests.real.tiny import FILES, make_modules, randomize, to_original

    out = {}
    for i, (family, cfg) in enumerate(configs.items()):
        modules = make_modules(family, cfg, device)
        if tiny:
            gen = torch.Generator().manual_seed(i + 1)
            for name in sorted(modules):
                randomize(modules[name], gen)
        state = {k: v.to(dtype).contiguous().cpu() for k, v in
                 to_original(family, modules, cfg).items()}
        save_file(state, folder / FILES[family])
        if dtype != torch.float32:
            modules = {k: m.to(dtype) if k != "vae" else m for k, m in modules.items()}
        out[family] = modules
    return out


def graph(files: list[str], steps: int, split: int, size: int, seed: int, sdxl: bool) -> dict:
    nodes: dict[str, Any] = {"empty": {"op": "latent.empty",
                                       "params": {"width": size, "height": size}}}
    latent = "empty.out"
    for i, name in enumerate(files):
        nodes[f"ckpt{i}"] = {"op": "model.load_checkpoint", "params": {"name": name}}
        for branch, text in (("pos", "a fox"), ("neg", "blurry")):
            op, params = "text.encode", {"text": text}
            if sdxl and i == 0:
                op = "text.encode_sdxl"
                params = {"text_g": text, "text_l": text, "width": size, "height": size,
                          "target_width": size, "target_height": size}
            elif sdxl:
                op = "text.encode_sdxl_refiner"
                params = {"text": text, "width": size, "height": size,
                          "aesthetic_score": 6.0 if branch == "pos" else 2.5}
            nodes[f"{branch}{i}"] = {"op": op, "in": {"clip": f"ckpt{i}.clip"}, "params": params}
        start, end = (0, split) if i == 0 else (split, steps)
        if len(files) == 1:
            end = steps
        nodes[f"s{i}"] = {"op": "sample.steps", "in": {
            "model": f"ckpt{i}.model", "positive": f"pos{i}.out", "negative": f"neg{i}.out",
            "latent": latent}, "params": {
            "seed": seed, "steps": steps, "cfg": CFG, "sampler": "euler",
            "scheduler": "simple", "start": start, "end": end, "add_noise": i == 0,
            "leftover_noise": end < steps}}
        latent = f"s{i}.out"
    return {"nodes": nodes, "outputs": {"latent": latent}}


def diffusers_loop(unets: list[Any], conds: list[dict[str, Any]], steps: int, split: int,
                   noise: torch.Tensor) -> torch.Tensor:
    """Plain ensemble-of-experts loop: one EulerDiscreteScheduler, UNet swapped at `split`."""
    from diffusers import EulerDiscreteScheduler

    sched = EulerDiscreteScheduler(beta_start=0.00085, beta_end=0.012,
                                   beta_schedule="scaled_linear", timestep_spacing="trailing")
    sched.set_timesteps(steps, device=noise.device)
    sigma_max = float(sched.sigmas.max())
    latents = noise * math.sqrt(1 + sigma_max**2)  # graphrt's "max denoise" start
    with torch.no_grad():
        for i, t in enumerate(sched.timesteps):
            stage = 0 if i < split or len(unets) == 1 else 1
            unet, cond = unets[stage], conds[stage]
            x = sched.scale_model_input(torch.cat([latents, latents]), t)
            eps = unet(x.to(unet.dtype), t, **cond).sample.float()
            c, u = eps.chunk(2)
            latents = sched.step(u + CFG * (c - u), t, latents).prev_sample
    return latents


def _time_ids(o: dict[str, Any]) -> list[float]:
    if "aesthetic_score" in o:
        return [o["height"], o["width"], 0, 0, o["aesthetic_score"]]
    return [o["height"], o["width"], o["crop_h"], o["crop_w"], o["target_height"],
            o["target_width"]]


def loop_conds(rt_out: dict[str, Any], n: int) -> list[dict[str, Any]]:
    """The UNet kwargs of each stage from graphrt's (cached) conditioning, batched [pos, neg]."""
    conds = []
    for i in range(n):
        pos, neg = rt_out[f"pos{i}"][0], rt_out[f"neg{i}"][0]
        kw: dict[str, Any] = {"encoder_hidden_states": torch.cat([pos[0], neg[0]])}
        if "y" in pos[1]:  # diffusers embeds the raw ids itself
            pooled = torch.cat([pos[1]["pooled_output"], neg[1]["pooled_output"]])
            ids = torch.tensor([_time_ids(pos[1]), _time_ids(neg[1])])
            kw["added_cond_kwargs"] = {"text_embeds": pooled, "time_ids": ids}
        conds.append(kw)
    return conds


def bench(label: str, configs: dict[str, Any], args: argparse.Namespace, device: str,
          dtype: torch.dtype, tiny: bool) -> None:
    from tests.real.tiny import FILES

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "checkpoints"
        folder.mkdir()
        modules = write_models(folder, configs, device, dtype, tiny)
        files = [FILES[f] for f in configs]
        sdxl = "sdxl" in configs
        split = args.steps * 3 // 4
        rt = Runtime(models_dir=Path(tmp), device=device)
        doc = graph(files, args.steps, split, args.size, SEED, sdxl)
        doc["outputs"] = {**doc["outputs"], **{f"{b}{i}": f"{b}{i}.out" for i in
                                               range(len(files)) for b in ("pos", "neg")}}
        warm = rt.run(doc).outputs
        conds = [{k: (v.to(device) if torch.is_tensor(v) else
                      {a: b.to(device, dtype) for a, b in v.items()})
                  for k, v in c.items()} for c in loop_conds(warm, len(files))]
        unets = [modules[f]["unet"].to(device) for f in configs]
        side = args.size // 8
        noise = prepare_noise(torch.zeros(1, 4, side, side), SEED).to(device)
        diffusers_loop(unets, conds, args.steps, split, noise)  # warm-up
        ours, theirs = [], []
        for r in range(args.repeat):
            t0 = time.perf_counter()
            rt.run(graph(files, args.steps, split, args.size, SEED + 1 + r, sdxl))
            _sync(device)
            ours.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            diffusers_loop(unets, conds, args.steps, split, noise)
            _sync(device)
            theirs.append(time.perf_counter() - t0)
        a, b = statistics.median(ours), statistics.median(theirs)
        lo = min(ours) / min(theirs)
        print(f"{label}: graphrt {args.steps / a:7.2f} it/s   diffusers loop "
              f"{args.steps / b:7.2f} it/s   ratio graphrt/diffusers time {a / b:5.3f} "
              f"(of minima {lo:5.3f})  ({args.steps} euler steps, cfg {CFG}, {args.size}², "
              f"median of {args.repeat})")


def _sync(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=8)
    parser.add_argument("--size", type=int, default=128)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1,
                        help="CPU threads (1: stable timings on a shared machine)")
    parser.add_argument("--gpu", action="store_true", help="full-size SDXL on CUDA at 1024²")
    args = parser.parse_args()
    from tests.real.tiny import CONFIGS

    torch.set_num_threads(args.threads)
    if not args.gpu:
        print(f"CPU, {torch.get_num_threads()} threads, tiny random-weight models")
        bench("SD 1.5 tiny      ", {"sd1": CONFIGS["sd1"]}, args, "cpu", torch.float32, True)
        bench("SDXL base+refiner", {k: CONFIGS[k] for k in ("sdxl", "sdxl_refiner")}, args,
              "cpu", torch.float32, True)
        return
    if not torch.cuda.is_available():
        sys.exit("--gpu needs a CUDA device")
    from graphrt.ops.models.real.configs import KNOWN

    args.size = 1024 if args.size == 128 else args.size
    args.steps = 20 if args.steps == 8 else args.steps
    print(f"CUDA {torch.cuda.get_device_name()}, full-size SDXL, fp16")
    bench("SDXL base+refiner", {k: KNOWN[k] for k in ("sdxl", "sdxl_refiner")}, args,
          "cuda", torch.float16, False)


if __name__ == "__main__":
    main()
