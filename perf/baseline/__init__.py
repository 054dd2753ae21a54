"""The seed design as a baseline: the same pipeline served in-process by FastAPI, no Triton."""
