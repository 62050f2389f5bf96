"""The stages of a safe push, and everything they stand on.

Each module directly in tasks/ is one stage: a thin Prefect task that calls pure logic
(preflight, code_lint, test_model, schema_lint, compatibility, predictions, compare_outputs,
fuzz_inputs, push, deployment; versions, policies and artifacts serve them). The subpackages
hold what the stages call: pure logic by concern (schema, outputs, fuzz, ai, report, lint),
the platforms where models live, and core, the shared words. See docs/architecture.md.
"""
