"""The engine: build a scenario's inputs mechanism by mechanism, step months, record a result.

See ``docs/model.md`` (Layout) for the modules and how to add a mechanism, event or regime.
"""
