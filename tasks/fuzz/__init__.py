"""Fuzzing: inputs a working model should handle, generated from its input schema.

Reading the schema (`schema_view`), checking and repairing payloads (`validate`, `repair`),
and the offline generator (`generate`, built from `typical`, `ordinary`, `edges`, `text`,
`pattern_text` and `objects`: everyday values first, edge values a minority); `edge_cases`
is the deterministic set of boundary inputs (one input at a time at '', a bound, 0, a
choice...) that every fuzz run includes; `ai_batches` and `ai_prompt` ask Claude for batches
of payloads and repair them the same way; `request` is one run's request and its cache key;
`compare_inputs` picks the inputs both versions run for a comparison; `sample_media` is the
bundled media (in media/) that file inputs receive as data URIs. Pure logic: no Prefect, no
platform.
"""
