"""The AI: the one client through which the tool talks to Claude (Anthropic Messages API).

Fuzz input generation, output equivalence and match_prompt all go through `client.AI`, which
retries only transient failures, parses strict JSON and YES/NO verdicts, attaches images,
and counts token usage into the current run's scope.
"""
