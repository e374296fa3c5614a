"""sample.* — every sampling op and macro: step ranges (`basic`), Impact's separated
sampling (`separated`), Searge's split samplers (`split`), the regional and masked samplers
(`regional`), and the fused regional sampler (`fused`); shared params in `params`."""
