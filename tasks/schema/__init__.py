"""Schemas: what a model's OpenAPI document promises, and whether a new one keeps the promise.

`lint` holds the rules a schema should follow before it is pushed (every input described);
`diff` is the compatibility engine that classifies every change between two versions as
narrowing, widening, a change of shape or information, and decides which ones break callers.
Reading the documents themselves (dereferencing, picking Input/Output) is shared vocabulary in
tasks.core.openapi. Pure functions over plain dicts.
"""
