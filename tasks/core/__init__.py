"""The shared words every other part of the tool speaks: configuration, run options, the job,
result records, errors, the retry policy, secrets, the tool's home on disk and child processes
that die with the tool. Plain Python with no Prefect and no platform in it, so stages,
platforms and flows can all depend on it while it depends on none of them."""
