"""``anonymise``: the command-line client of the gateway's public HTTP API.

``anonymise PATH... -o OUT`` sends files, folders (their tree mirrored into OUT) or an S3 prefix
as jobs, writes each result into OUT atomically, and resumes an interrupted run from the journal
it keeps in OUT (see :mod:`anonymise.state`).
"""
