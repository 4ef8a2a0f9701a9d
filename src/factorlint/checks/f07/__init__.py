"""Factor 7 (contact humans with tool calls): no console prompts in agents, explicit final
answers, approval before high-stakes tools, structured questions to people."""
