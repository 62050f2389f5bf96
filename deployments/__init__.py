"""Prefect deployments of the safe_push flow: served (serve), emitted events (emit) and the pure
parameters, schedules and triggers they are built from (params)."""
