"""LibCST's parse, screened and bounded, the cheap read-only walk, and positions of reported nodes."""
