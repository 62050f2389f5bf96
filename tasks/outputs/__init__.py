"""Outputs: opening what a model returned, comparing two outputs, and judging one against a
test case.

`files` turns any file reference (http URL, data: URI, file:// URL, path) into a local file and
a media kind; `compare` decides whether the new version's output is equivalent to the live
one's (exact with a seed, tolerant without); `checkers` applies a test case's checker
(exact_string, match_url, match_prompt, jq_query, error_contains); `verdicts` says whether a
finished run passed. Pure logic apart from reading and fetching files.
"""
