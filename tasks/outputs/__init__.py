"""Outputs: opening what a model returned, comparing two outputs, and judging one run.

`files` turns any file reference (http URL, data: URI, file:// URL, path) into a local file and
a media kind; `compare` decides whether the new version's output is equivalent to the live
one's (by evidence: exact where live repeats itself, within live's own variation where it
does not); `checkers` applies a test case's checker (exact_string, match_url, match_prompt,
jq_query, error_contains); `verdict` says whether a finished run passed; `failures` tells a
deliberate rejection of an input from a crash; `latency` judges the time pairs; `bounded`
holds the one size limit of every stored copy of an output (OUTPUT_LIMIT) and the one cut
past it. Pure logic apart from reading and fetching files.
"""
