"""Graph documents of the seed macros on the toy models, and the matching reference inputs."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import torch

from graphrt.ops.models.toy import load_toy

NEG = ""


@lru_cache(maxsize=4)
def toy(name: str = "toy-shapes") -> tuple[Any, Any, Any]:
    return load_toy(name)


def cond(text: str, name: str = "toy-shapes") -> list:
    context, pooled = toy(name)[1].encode(text)
    return [[context, {"pooled_output": pooled}]]


def stage(text: str, name: str = "toy-shapes") -> tuple[Any, Any, Any]:
    """(model, positive, negative) for the reference loops."""
    return toy(name)[0], cond(text, name), cond(NEG, name)


def bundle(text: str, cfg: float, sampler: str, scheduler: str = "karras",
           sigma_factor: float = 1.0) -> dict[str, Any]:
    model, pos, neg = stage(text)
    return {"model": model, "positive": pos, "negative": neg, "cfg": cfg, "sampler": sampler,
            "scheduler": scheduler, "sigma_factor": sigma_factor}


def rect(x: int, y: int, w: int, h: int, size: int = 64) -> torch.Tensor:
    m = torch.zeros(1, size, size)
    m[:, y : y + h, x : x + w] = 1.0
    return m


def _enc(node: str, clip: str, text: str) -> dict[str, Any]:
    return {"op": "text.encode", "in": {"clip": f"{clip}.clip"}, "params": {"text": text}}


def doc(nodes: dict[str, Any], out: str) -> dict[str, Any]:
    return {"format": "graphrt/1", "nodes": nodes, "outputs": {"out": out}}


def split_graph(params: dict[str, Any], prompt: str, size: int = 64) -> dict[str, Any]:
    nodes = {
        "base": {"op": "model.load_checkpoint", "params": {"name": "toy-shapes"}},
        "ref": {"op": "model.load_checkpoint", "params": {"name": "toy-shapes-refiner"}},
        "bp": _enc("bp", "base", prompt), "bn": _enc("bn", "base", NEG),
        "rp": _enc("rp", "ref", prompt), "rn": _enc("rn", "ref", NEG),
        "empty": {"op": "latent.empty", "params": {"width": size, "height": size}},
        "split": {"op": "sample.split", "params": params, "in": {
            "base_model": "base.model", "base_positive": "bp.out", "base_negative": "bn.out",
            "refiner_model": "ref.model", "refiner_positive": "rp.out",
            "refiner_negative": "rn.out", "latent": "empty.out"}},
    }
    return doc(nodes, "split.out")


def img2img_graph(params: dict[str, Any], prompt: str, upscaler: str | None) -> dict[str, Any]:
    nodes: dict[str, Any] = {
        "base": {"op": "model.load_checkpoint", "params": {"name": "toy-shapes"}},
        "ref": {"op": "model.load_checkpoint", "params": {"name": "toy-shapes-refiner"}},
        "bp": _enc("bp", "base", prompt), "bn": _enc("bn", "base", NEG),
        "rp": _enc("rp", "ref", prompt), "rn": _enc("rn", "ref", NEG),
        "load": {"op": "image.load", "params": {"name": "example.png"}},
        "small": {"op": "image.scale", "in": {"image": "load.image"},
                  "params": {"width": 48, "height": 40, "method": "area"}},
    }
    ins = {"base_model": "base.model", "base_positive": "bp.out", "base_negative": "bn.out",
           "refiner_model": "ref.model", "refiner_positive": "rp.out",
           "refiner_negative": "rn.out", "image": "small.out", "vae": "base.vae"}
    if upscaler:
        nodes["up"] = {"op": "model.load_upscaler", "params": {"name": upscaler}}
        ins["upscale_model"] = "up.out"
    nodes["i2i"] = {"op": "sample.img2img_refine", "params": params, "in": ins}
    return doc(nodes, "i2i.out")


REGIONS = (("a red background", (4, 4, 24, 24)), ("a green background", (36, 30, 20, 28)))


def sampler_node(clip_text: str, cfg: float, sampler: str, scheduler: str) -> dict[str, Any]:
    return {"op": "sample.sampler", "params": {"cfg": cfg, "sampler": sampler,
                                               "scheduler": scheduler},
            "in": {"model": "ckpt.model", "positive": clip_text, "negative": "neg.out"}}


def regional_nodes(sampler: str, scheduler: str, size: int = 64) -> dict[str, Any]:
    """Checkpoint, prompts, bundles and two regions (masks at `size` px)."""
    nodes: dict[str, Any] = {
        "ckpt": {"op": "model.load_checkpoint", "params": {"name": "toy-shapes"}},
        "pos": _enc("pos", "ckpt", "a blue background"), "neg": _enc("neg", "ckpt", NEG),
        "base_s": sampler_node("pos.out", 4.0, sampler, scheduler),
        "empty": {"op": "latent.empty", "params": {"width": size, "height": size}},
    }
    for j, (text, (x, y, w, h)) in enumerate(REGIONS):
        nodes[f"p{j}"] = _enc(f"p{j}", "ckpt", text)
        nodes[f"s{j}"] = sampler_node(f"p{j}.out", 3.0 + j, sampler, scheduler)
        nodes[f"m{j}"] = {"op": "mask.rect", "params": {"width": size, "height": size,
                                                          "x": x, "y": y, "w": w, "h": h}}
        nodes[f"r{j}"] = {"op": "region.prompt", "in": {"mask": f"m{j}.out",
                                                         "sampler": f"s{j}.out"}}
    nodes["regions"] = {"op": "region.combine", "in": {"prompts": ["r0.out", "r1.out"]}}
    return nodes


def regional_graph(params: dict[str, Any], sampler: str = "euler", scheduler: str = "karras",
                   op: str = "sample.regional") -> dict[str, Any]:
    nodes = regional_nodes(sampler, scheduler)
    nodes["reg"] = {"op": op, "params": params, "in": {
        "latent": "empty.out", "base_sampler": "base_s.out", "regional_prompts": "regions.out"}}
    return doc(nodes, "reg.out")


def regional_reference_inputs(sampler: str = "euler", scheduler: str = "karras"
                              ) -> tuple[dict, list]:
    base = bundle("a blue background", 4.0, sampler, scheduler)
    regions = [(rect(*box), bundle(text, 3.0 + j, sampler, scheduler))
               for j, (text, box) in enumerate(REGIONS)]
    return base, regions


def masked_pair_graph(params: dict[str, Any], sampler: str, scheduler: str) -> dict[str, Any]:
    nodes = regional_nodes(sampler, scheduler)
    nodes["pair"] = {"op": "sample.masked_pair", "params": params, "in": {
        "latent": "empty.out", "base_sampler": "base_s.out", "mask_sampler": "s0.out",
        "mask": "m0.out"}}
    return doc(nodes, "pair.out")
