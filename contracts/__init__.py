"""The public contract of the models, in one place: tensor names, request parameter names, error
codes and the METADATA each model answers (typed, with its JSON Schema).

Models (`model_repository/*/model.py`, `python_models`), the gateway and the tests import these
names instead of restating them. Plain Python: importable in the Triton stub, the gateway and the
tests alike (the JSON Schema is generated with pydantic, present wherever it is asked for).
"""
