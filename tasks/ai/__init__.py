"""The AI: the one client through which the tool talks to Claude (Anthropic Messages API).

Fuzz input generation, output equivalence and match_prompt all go through `client.AI`, whose
requests are retried (by Prefect, transient failures only), which parses strict JSON and
YES/NO verdicts, attaches images, and counts token usage into the current run's scope.
`transcript` logs every request and reply at -vvv, images by type and size, secrets scrubbed.
"""
