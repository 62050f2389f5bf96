"""Fuzzing: inputs a working model should handle, generated from its input schema.

`inputs` validates, repairs and generates payloads offline from the schema (bounds, enum
values, realistic text and media); `ai_batches` asks Claude for batches of payloads and
repairs them the same way; `sample_media` is the bundled media (in media/) that file inputs
receive as data URIs. Pure logic: no Prefect, no platform.
"""
