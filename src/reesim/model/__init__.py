"""The engine: compile a scenario to arrays, step months, record a labelled dataset."""
