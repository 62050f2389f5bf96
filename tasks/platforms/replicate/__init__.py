"""The `replicate` platform: models, versions, predictions, trainings and deployments on
Replicate through the `replicate` client, and pushes through the `cog` CLI (`cog_cli`)."""

from tasks.platforms.replicate.platform import ReplicatePlatform

__all__ = ["ReplicatePlatform"]
