"""Sampler names and their families, in pure Python (the planner validates without torch).

docs/semantics.md §14: every name of ComfyUI's KSampler list, in its order (k-diffusion
0.1.1.post1's samplers, the `_gpu` aliases of the SDE ones with the same device-independent
noise in graphrt mode, and ComfyUI's own: heunpp2, ddpm, lcm, ddim, the CFG++ `_cfg_pp`
forms, exp_heun_2_x0(_sde), dpmpp_2m_sde_heun, ipndm(_v), deis, res_multistep(_ancestral),
gradient_estimation, er_sde, seeds_2/3, sa_solver(_pece), uni_pc(_bh2)).
"""

from __future__ import annotations

SAMPLERS = (
    "euler",
    "euler_cfg_pp",
    "euler_ancestral",
    "euler_ancestral_cfg_pp",
    "heun",
    "heunpp2",
    "exp_heun_2_x0",
    "exp_heun_2_x0_sde",
    "dpm_2",
    "dpm_2_ancestral",
    "lms",
    "dpm_fast",
    "dpm_adaptive",
    "dpmpp_2s_ancestral",
    "dpmpp_2s_ancestral_cfg_pp",
    "dpmpp_sde",
    "dpmpp_sde_gpu",
    "dpmpp_2m",
    "dpmpp_2m_cfg_pp",
    "dpmpp_2m_sde",
    "dpmpp_2m_sde_gpu",
    "dpmpp_2m_sde_heun",
    "dpmpp_2m_sde_heun_gpu",
    "dpmpp_3m_sde",
    "dpmpp_3m_sde_gpu",
    "ddpm",
    "lcm",
    "ipndm",
    "ipndm_v",
    "deis",
    "res_multistep",
    "res_multistep_cfg_pp",
    "res_multistep_ancestral",
    "res_multistep_ancestral_cfg_pp",
    "gradient_estimation",
    "gradient_estimation_cfg_pp",
    "er_sde",
    "seeds_2",
    "seeds_3",
    "sa_solver",
    "sa_solver_pece",
    "ddim",
    "uni_pc",
    "uni_pc_bh2",
)

# Samplers that draw fresh noise while stepping (seeded per step, or from a Brownian tree).
STOCHASTIC = frozenset(
    {
        "euler_ancestral",
        "euler_ancestral_cfg_pp",
        "exp_heun_2_x0_sde",
        "dpm_2_ancestral",
        "dpmpp_2s_ancestral",
        "dpmpp_2s_ancestral_cfg_pp",
        "dpmpp_sde",
        "dpmpp_sde_gpu",
        "dpmpp_2m_sde",
        "dpmpp_2m_sde_gpu",
        "dpmpp_2m_sde_heun",
        "dpmpp_2m_sde_heun_gpu",
        "dpmpp_3m_sde",
        "dpmpp_3m_sde_gpu",
        "ddpm",
        "lcm",
        "res_multistep_ancestral",
        "res_multistep_ancestral_cfg_pp",
        "er_sde",
        "seeds_2",
        "seeds_3",
        "sa_solver",
        "sa_solver_pece",
    }
)

# Samplers whose noise comes from a Brownian tree (the SDE samplers).
BROWNIAN = frozenset(
    {"dpmpp_sde", "dpmpp_sde_gpu", "dpmpp_2m_sde", "dpmpp_2m_sde_gpu", "dpmpp_2m_sde_heun",
     "dpmpp_2m_sde_heun_gpu", "dpmpp_3m_sde", "dpmpp_3m_sde_gpu"}
)

# CFG++ samplers: they step with the unconditional prediction too (cfg_pp.py).
CFG_PP = frozenset(name for name in SAMPLERS if name.endswith("_cfg_pp"))

# Multistep samplers restart their history at a range boundary: a split is not one run.
MULTISTEP = frozenset(
    {"lms", "dpmpp_2m", "dpmpp_2m_cfg_pp", "dpmpp_2m_sde", "dpmpp_2m_sde_gpu",
     "dpmpp_2m_sde_heun", "dpmpp_2m_sde_heun_gpu", "dpmpp_3m_sde", "dpmpp_3m_sde_gpu",
     "ipndm", "ipndm_v", "deis", "res_multistep", "res_multistep_cfg_pp",
     "res_multistep_ancestral", "res_multistep_ancestral_cfg_pp", "gradient_estimation",
     "gradient_estimation_cfg_pp", "er_sde", "sa_solver", "sa_solver_pece", "uni_pc",
     "uni_pc_bh2"}
)

# (deis also takes its coefficients from the whole list; uni_pc ends a range at σ = 0.001, not 0;
# sa_solver lowers its orders towards a list's end.)
# Not split-invariant either: heunpp2 weighs by the range's σ₀ and looks ahead to its end;
# dpm_fast and dpm_adaptive only see the range's endpoints (§14.1).
RANGE_DEPENDENT = MULTISTEP | {"heunpp2", "dpm_fast", "dpm_adaptive"}

# [0,n) equals [0,k) + [k,n) (leftover noise kept, no noise re-added) for these.
SPLIT_INVARIANT = frozenset(SAMPLERS) - RANGE_DEPENDENT

# Noise draws per step of the ancestral-noise samplers that draw inside a step (one for the
# others), so that noise mode "comfy" can continue a call in another node (`call_start`).
DRAWS_PER_STEP = {"seeds_2": 2, "exp_heun_2_x0_sde": 2, "seeds_3": 3}

# Samplers whose ComfyUI call cannot be continued in another node: a Brownian tree spans the
# whole call; sa_solver draws only while σ lies in its stochastic interval.
WHOLE_CALL = BROWNIAN | {"sa_solver", "sa_solver_pece"}


def check_sampler(name: str) -> str:
    """`name` if it is a known sampler, else ValueError (ComfyUI falls back to euler)."""
    if name not in SAMPLERS:
        raise ValueError(f"unknown sampler {name!r}; expected one of {SAMPLERS}")
    return name
