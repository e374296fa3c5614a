"""LoRA files and weight patches for the real SD 1.x / SDXL models.

Modules, one concept each: `files` (reading a LoRA file: safetensors, or a pickle through
`torch.load(weights_only=True)` only), `names` (the module names a LoRA key may use: diffusers /
transformers names and, for the UNet, the original LDM names), `keys` (a LoRA state dict →
per-layer low-rank pairs, every key accounted for), `patch` (new model values sharing every
unpatched tensor with their base; never mutating it).
"""
