"""Factor 5 rules (unify execution state and business state): one rule per module."""
