"""Rules, one per module, grouped by factor (``f02``, ``f08`` ...), security and analysis."""
