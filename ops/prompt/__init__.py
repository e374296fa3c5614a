"""Prompts as ComfyUI reads them (docs/prompts.md): `syntax` (weights, escapes, `embedding:`
references), `tokens` (weighted 77-token chunks for one encoder), `weighting` (encoding
chunks and weighting them against the empty prompt), `embeddings` (textual-inversion files
in <models>/embeddings). Importing this package imports neither torch nor a model library.
"""
