"""Sampler names and their families, in pure Python (the planner validates without torch).

docs/semantics.md §14: every k-diffusion 0.1.1.post1 sampler, the `_gpu` aliases of the SDE ones
(same device-independent noise here), ComfyUI's heunpp2, ddpm, lcm and ddim, and its later
ipndm, ipndm_v, deis, res_multistep(_ancestral), uni_pc and uni_pc_bh2.
"""

from __future__ import annotations

SAMPLERS = (
    "euler",
    "euler_ancestral",
    "heun",
    "heunpp2",
    "dpm_2",
    "dpm_2_ancestral",
    "lms",
    "dpm_fast",
    "dpm_adaptive",
    "dpmpp_2s_ancestral",
    "dpmpp_sde",
    "dpmpp_sde_gpu",
    "dpmpp_2m",
    "dpmpp_2m_sde",
    "dpmpp_2m_sde_gpu",
    "dpmpp_3m_sde",
    "dpmpp_3m_sde_gpu",
    "ddpm",
    "lcm",
    "ddim",
    # ComfyUI's later samplers (ops/kernels/multistep.py, unipc.py)
    "ipndm",
    "ipndm_v",
    "deis",
    "res_multistep",
    "res_multistep_ancestral",
    "uni_pc",
    "uni_pc_bh2",
)

# Samplers that draw fresh noise while stepping (seeded per step, or from a Brownian tree).
STOCHASTIC = frozenset(
    {
        "euler_ancestral",
        "dpm_2_ancestral",
        "dpmpp_2s_ancestral",
        "dpmpp_sde",
        "dpmpp_sde_gpu",
        "dpmpp_2m_sde",
        "dpmpp_2m_sde_gpu",
        "dpmpp_3m_sde",
        "dpmpp_3m_sde_gpu",
        "ddpm",
        "lcm",
        "res_multistep_ancestral",
    }
)

# Samplers whose noise comes from a Brownian tree (the SDE samplers).
BROWNIAN = frozenset(
    {"dpmpp_sde", "dpmpp_sde_gpu", "dpmpp_2m_sde", "dpmpp_2m_sde_gpu", "dpmpp_3m_sde",
     "dpmpp_3m_sde_gpu"}
)

# Multistep samplers restart their history at a range boundary: a split is not one run.
MULTISTEP = frozenset(
    {"lms", "dpmpp_2m", "dpmpp_2m_sde", "dpmpp_2m_sde_gpu", "dpmpp_3m_sde", "dpmpp_3m_sde_gpu",
     "ipndm", "ipndm_v", "deis", "res_multistep", "res_multistep_ancestral", "uni_pc",
     "uni_pc_bh2"}
)

# (deis also takes its coefficients from the whole list; uni_pc ends a range at σ = 0.001, not 0.)
# Not split-invariant either: heunpp2 weighs by the range's σ₀ and looks ahead to its end;
# dpm_fast and dpm_adaptive only see the range's endpoints (§14.1).
RANGE_DEPENDENT = MULTISTEP | {"heunpp2", "dpm_fast", "dpm_adaptive"}

# [0,n) equals [0,k) + [k,n) (leftover noise kept, no noise re-added) for these.
SPLIT_INVARIANT = frozenset(SAMPLERS) - RANGE_DEPENDENT


def check_sampler(name: str) -> str:
    """`name` if it is a known sampler, else ValueError (ComfyUI falls back to euler)."""
    if name not in SAMPLERS:
        raise ValueError(f"unknown sampler {name!r}; expected one of {SAMPLERS}")
    return name
