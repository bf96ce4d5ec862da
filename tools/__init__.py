"""Developer tools, kept apart from the runtime: the benchmark (`hirebuddha bench`) and the
fake OpenAI-compatible server (`hirebuddha fake-llm`). Nothing in runtime/, actors/, web/ or
ledger/ imports this package."""
