"""Factor 6 rules (launch, pause and resume with simple APIs): one rule per module."""
