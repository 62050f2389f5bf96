"""The AI: the one client through which the tool talks to Claude, wherever it is hosted.

Fuzz input generation, output equivalence and match_prompt all go through `client.AI`, whose
requests are retried (by Prefect, transient failures only), which parses strict JSON and
YES/NO verdicts, attaches images, and counts usage into the current run's scope. It is
provider-neutral: a backend sends one request and returns text and tokens, either through
Anthropic's Messages API (`anthropic_backend`) or as a prediction of Claude hosted on Replicate
(`replicate_backend`, whose inputs `replicate_input` maps from the model's own schema).
`images` prepares and combines pictures; `transcript` logs every request and reply at -vvv,
images by type and size, secrets scrubbed.
"""
