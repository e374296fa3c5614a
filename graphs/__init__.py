"""Built-in graphs, shipped as package data."""
