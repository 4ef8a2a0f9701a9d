"""Taint: where text the model chose flows inside a function, and which dangerous calls it reaches."""
