"""The toy model family: prompt parsing, text encoder, VAE, and the exact mixture denoiser."""

from __future__ import annotations

import math

import k_diffusion.sampling as ks
import pytest
import torch

from graphrt.ops.kernels.table import t_to_sigma
from graphrt.ops.models.toy import TOY_MODELS, ToyObject, load_toy, parse_prompt
from graphrt.ops.models.toy.clip import read_context
from graphrt.ops.models.toy.unet import placements, posterior_mean

CPU = torch.device("cpu")


@pytest.fixture(scope="module")
def toy():
    return load_toy("toy-shapes")


def sample(model, cond, uncond=None, cfg=1.0, seed=0, size=32, steps=20):
    """Euler over Karras σ with an optional manual CFG; returns the final latent."""
    sigmas = ks.get_sigmas_karras(steps, model.sigma_min, model.sigma_max)

    def denoiser(x, sigma, **_):
        if uncond is None:
            return model.denoise(x, sigma, cond)
        both = model.denoise(
            torch.cat([x, x]), torch.cat([sigma, sigma]), torch.cat([cond, uncond])
        )
        d_c, d_u = both.chunk(2)
        return d_u + cfg * (d_c - d_u)

    x = torch.randn(1, 4, size, size, generator=torch.Generator().manual_seed(seed)) * sigmas[0]
    return ks.sample_euler(denoiser, x, sigmas, disable=True)


def red_pixels(img: torch.Tensor) -> torch.Tensor:
    return (img[..., 0] > 0.6) & (img[..., 1] < 0.4) & (img[..., 2] < 0.4)


@pytest.mark.parametrize(
    ("prompt", "objects", "background"),
    [
        ("a red circle on the left", [ToyObject("red", "circle", "left")], None),
        (
            "on the right, a small Blue square",
            [ToyObject("blue", "square", "right", "small")],
            None,
        ),
        ("big gray triangle top left", [ToyObject("grey", "triangle", "top left", "large")], None),
        (
            "a green circle and a yellow square at the bottom on a black background",
            [ToyObject("green", "circle", None), ToyObject("yellow", "square", "bottom")],
            "black",
        ),
        ("a circle", [ToyObject("white", "circle", None)], None),
        ("magenta", [], "magenta"),
        ("photo of a cat, 4k", [], None),
    ],
)
def test_parse_prompt(prompt, objects, background):
    scene = parse_prompt(prompt)
    assert list(scene.objects) == objects
    assert scene.background == background
    assert scene.unconditional == (not objects and background is None)


def test_placements_one_component_per_free_anchor():
    assert placements(parse_prompt("a red circle on the left")) == [("left",)]
    assert len(placements(parse_prompt("a red circle"))) == 5
    both = placements(parse_prompt("a red circle on the left and a blue square"))
    assert [p[1] for p in both] == ["right", "top", "bottom", "center"]


def test_clip_shapes_and_round_trip(toy):
    _, clip, _ = toy
    context, pooled = clip.encode("A red circle, on the LEFT!")
    assert context.shape == (1, 77, clip.context_dim) and pooled.shape == (1, clip.context_dim)
    assert torch.equal(context, clip.encode("red circle left")[0])
    empty, _ = clip.encode("")
    assert read_context(torch.cat([context, empty])) == [("red", "circle", "left"), ()]
    assert read_context(context.repeat(1, 3, 1)) == [("red", "circle", "left")]
    long, _ = clip.encode("red circle " * 50)
    assert long.shape[1] == 154 and len(read_context(long)[0]) == 100


def test_vae_encode_decode(toy):
    _, _, vae = toy
    image = torch.zeros(2, 21, 35, 3)
    image[..., 0] = 1.0  # pure red
    latent = vae.encode(image)
    assert latent.shape == (2, 4, 2, 4)
    expected = torch.tensor([1.0, -1.0, -1.0, 0.299 - 0.587 - 0.114])
    assert torch.allclose(latent[0, :, 0, 0], expected, atol=1e-6)
    out = vae.decode(latent)
    assert out.shape == (2, 16, 32, 3) and torch.allclose(out[..., 0], torch.ones(2, 16, 32))
    smooth = torch.linspace(0, 1, 64).reshape(1, 1, 64, 1).expand(1, 64, 64, 3)
    error = (vae.decode(vae.encode(smooth)) - smooth).abs()
    assert error[:, :, 4:-4].max() < 1e-5 and error.max() < 0.06  # exact on a ramp but at edges
    assert (vae.decode(torch.full((1, 4, 2, 2), 3.0)) == 1.0).all()  # clamped


def test_sigma_from_fractional_t(toy):
    net = toy[0].net
    t = torch.tensor([0.0, 10.25, 500.5, 998.9, 999.0])
    want = torch.tensor([t_to_sigma(v) for v in t.tolist()], dtype=torch.float64)
    assert torch.allclose(net.sigma(t), want, rtol=1e-12)


def test_denoise_is_the_exact_posterior_mean(toy):
    _, clip, _ = toy
    model = load_toy("toy-shapes", quantize=False)[0]
    cond, _ = clip.encode("a blue triangle")
    x = torch.randn(3, 4, 8, 8, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    sigma = torch.tensor([0.05, 1.0, 10.0], dtype=torch.float64)
    x = x * sigma[:, None, None, None]
    means, spread = model.net.mixture(("blue", "triangle"), 8, 8, CPU, torch.float64)
    d2 = torch.stack([((x.reshape(3, -1) - m) ** 2).sum(-1) for m in means], 1)
    resp = torch.softmax(-d2 / (2 * (spread**2 + sigma[:, None] ** 2)), 1)
    a = (spread**2 / (spread**2 + sigma**2))[:, None]
    want = a * x.reshape(3, -1) + (1 - a) * resp @ means
    x_before = x.clone()
    got = model.denoise(x, sigma, cond.expand(3, -1, -1).double())
    assert torch.allclose(got.reshape(3, -1), want, atol=1e-8)
    assert torch.equal(x, x_before)
    assert torch.allclose(posterior_mean(x.reshape(3, -1), sigma, means, spread), want)


def test_batch_mixes_prompts(toy):
    model, clip, _ = toy
    c1, c2, u = (clip.encode(p)[0] for p in ("a red circle", "a green square", ""))
    x = torch.randn(3, 4, 16, 16, generator=torch.Generator().manual_seed(2)) * 3
    sigma = torch.full((3,), 3.0)
    joint = model.denoise(x, sigma, torch.cat([c1, c2, u]))
    for i, c in enumerate((c1, c2, u)):
        assert torch.allclose(joint[i], model.denoise(x[i : i + 1], sigma[:1], c)[0], atol=1e-6)
    repeated = model.denoise(x[:2], sigma[:2], c1)  # a context batch of 1 serves every row
    assert torch.allclose(repeated, model.denoise(x[:2], sigma[:2], c1.expand(2, -1, -1)))
    with pytest.raises(ValueError):
        model.denoise(x, sigma, torch.cat([c1, c2]))
    half = model.denoise(x.half(), sigma.half(), torch.cat([c1, c2, u]).half())
    assert half.dtype == torch.float16 and torch.allclose(half.float(), joint, atol=0.02)


def test_red_circle_on_the_left(toy):
    model, clip, vae = toy
    image = vae.decode(sample(model, clip.encode("a red circle on the left")[0]))[0]
    red = red_pixels(image)
    assert red.sum() > 0.05 * red.numel()
    assert not red[:, image.shape[1] // 2 :].any()


def test_open_position_varies_with_seed(toy):
    model, clip, vae = toy
    cond = clip.encode("a red circle")[0]
    centres = set()
    for seed in range(4):
        image = vae.decode(sample(model, cond, seed=seed, size=16, steps=10))[0]
        ys, xs = red_pixels(image).nonzero(as_tuple=True)
        centres.add((round(xs.float().mean().item() / 32), round(ys.float().mean().item() / 32)))
    assert len(centres) >= 2


def test_prompts_give_different_colours(toy):
    model, clip, vae = toy
    green = vae.decode(sample(model, clip.encode("a large green square")[0]))[0]
    blue = vae.decode(sample(model, clip.encode("a large blue circle")[0]))[0]
    g, b = green.reshape(-1, 3).mean(0), blue.reshape(-1, 3).mean(0)
    assert g[1] > g[2] + 0.05 and b[2] > b[1] + 0.05


def test_unconditional_is_grey(toy):
    model, clip, vae = toy
    image = vae.decode(sample(model, clip.encode("")[0]))
    assert (image.mean() - 0.5).abs() < 0.02 and image.std() < 0.2


def test_cfg_saturates_colours(toy):
    model, clip, vae = toy
    cond, uncond = clip.encode("a blue square on the right")[0], clip.encode("")[0]

    def saturation(cfg: float) -> float:
        image = vae.decode(sample(model, cond, uncond, cfg=cfg))[0]
        core = image[112:144, 176:208].reshape(-1, 3).mean(0)  # inside the square
        return (core.max() - core.min()).item()

    plain, guided = saturation(1.0), saturation(4.0)
    assert plain == pytest.approx(0.7, abs=0.05)  # the palette's blue: 0.85 − 0.15
    assert guided > plain + 0.15


def test_refiner_is_sharper():
    base, refiner = (load_toy(name)[0].net for name in TOY_MODELS)
    assert refiner.spread < base.spread
    with pytest.raises(KeyError):
        load_toy("sd15")


def test_devices(toy):
    model, clip, vae = toy
    assert model.to("cpu") is model and clip.to("cpu") is clip and vae.to("cpu") is vae
    if not torch.cuda.is_available():
        return
    cond = clip.encode("a red circle")[0].cuda()
    x = torch.randn(2, 4, 16, 16, device="cuda")
    out = model.denoise(x, torch.full((2,), 2.0, device="cuda"), cond.expand(2, -1, -1))
    cpu = model.denoise(x.cpu(), torch.full((2,), 2.0), cond.cpu().expand(2, -1, -1))
    assert out.device.type == "cuda" and torch.allclose(out.cpu(), cpu, atol=1e-4)


def test_quantized_timestep_matches_table(toy):
    model = toy[0]
    sigma = torch.tensor([model.sigma_max, 1.0])
    t = model.timestep(sigma)
    assert t[0] == 999 and math.isclose(model.net.sigma(t)[1].item(), t_to_sigma(t[1].item()))
