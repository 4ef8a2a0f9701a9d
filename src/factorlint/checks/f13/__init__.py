"""Factor 13: pre-fetch the context you will need instead of making the model ask for it first."""
