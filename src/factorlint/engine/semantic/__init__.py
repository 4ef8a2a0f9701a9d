"""The semantic model of one file: what names mean (imports, bindings, parameters, return types), the value-flow index of each function, and what the walk records call by call."""
