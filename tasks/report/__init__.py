"""The run's report: one plain dict (the JSON report's shape) and its renderings as markdown,
table rows and JUnit XML. Pure functions; tasks.artifacts publishes them to Prefect."""
