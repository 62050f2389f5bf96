"""The `local` platform: Cog models pushed to a registry on disk and run by Cog's runtime here.

`platform` implements the protocol; `registry` keeps models, versions and runs as files;
`cog_schema` (with `_schema_probe`, run in the model's interpreter) generates each version's
OpenAPI schema from the predictor's signature; `cog_server` runs one coglet server per version.
"""

from tasks.platforms.local.platform import LocalPlatform

__all__ = ["LocalPlatform"]
