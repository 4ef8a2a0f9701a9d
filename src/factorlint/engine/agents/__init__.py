"""Agents: loops that feed a model its own results, recursion, graph cycles, framework step bounds, agent shapes and entry points."""
