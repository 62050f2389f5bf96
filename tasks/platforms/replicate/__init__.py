"""The `replicate` platform: models, versions, predictions, trainings and deployments on
Replicate through the `replicate` client's public API, and pushes through the `cog` CLI.

`platform` composes the rest: `client` (one transport, no hidden retries), `calls` (the one
retry policy), `errors`, `models`, `runs` with `adoption` (paid creates never duplicated),
`localize` with `output_schema` (output files from trusted places only), `deployments`,
`timing`, `rate_limit`, `loop_runner` and `cog_cli`.
"""

from tasks.platforms.replicate.platform import ReplicatePlatform

__all__ = ["ReplicatePlatform"]
