"""Numeric kernels of sampling: the discrete model, schedules, noise, samplers, step ranges.

Plain functions in the style of k-diffusion. The op modules in `graphrt.ops` are thin
adapters over them. Nothing here knows about graphs, caching or HTTP.
"""
