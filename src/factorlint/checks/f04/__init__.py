"""Factor 4 (tools are just structured outputs): validated tool arguments, explicit dispatch,
schema-backed JSON, schemas and signatures generated from types."""
