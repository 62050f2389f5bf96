"""Code lint: ruff on the model's predict and train files, for bugs rather than style.

`ruff` finds the model's own ruff configuration (in the Cog directory or a parent up to the
repository root) and uses it; without one it runs a fixed, pyflakes-level selection that
catches real errors (syntax errors, undefined, unused or redefined names) and never flags Cog's
idioms, whatever ruff version is installed.
"""
