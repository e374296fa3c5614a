"""On a CUDA device, sampling gives the same latents as on the CPU (run with -m gpu)."""

import pytest
import torch

from graphrt import Runtime

pytestmark = pytest.mark.gpu

GRAPH = {"nodes": {
    "ckpt": {"op": "model.load_checkpoint", "params": {"name": "toy-shapes"}},
    "pos": {"op": "text.encode", "in": {"clip": "ckpt.clip"},
            "params": {"text": "a red circle on the left"}},
    "neg": {"op": "text.encode", "in": {"clip": "ckpt.clip"}, "params": {"text": ""}},
    "empty": {"op": "latent.empty", "params": {"width": 256, "height": 256}},
    "sample": {"op": "sample.steps", "in": {"model": "ckpt.model", "positive": "pos.out",
                                            "negative": "neg.out", "latent": "empty.out"},
               "params": {"seed": 5, "steps": 12, "cfg": 4.0, "sampler": "SAMPLER",
                          "scheduler": "karras"}},
}, "outputs": {"latent": "sample.out"}}


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
@pytest.mark.parametrize("sampler", ["euler", "euler_ancestral", "dpmpp_2m", "dpmpp_sde"])
def test_cuda_matches_cpu(sampler: str) -> None:
    doc = {**GRAPH, "nodes": {**GRAPH["nodes"]}}
    doc["nodes"]["sample"] = {**GRAPH["nodes"]["sample"],
                              "params": {**GRAPH["nodes"]["sample"]["params"], "sampler": sampler}}
    cpu = Runtime(device="cpu").run(doc).outputs["latent"]["samples"]
    gpu = Runtime(device="cuda").run(doc).outputs["latent"]["samples"]
    assert gpu.device.type == "cuda"
    assert torch.allclose(cpu, gpu.cpu(), atol=1e-4), float((cpu - gpu.cpu()).abs().max())
