"""Coverage-guided fuzzing of the header validators with atheris (libFuzzer), in process.

The property: :func:`imaging.validate_header.validate_header` answers any bytes with a Header or
an :class:`imaging.errors.ImageError`, never another exception or a hang (either would be an
internal error or a stuck stub, not a named 422). Seeds: the photos of :mod:`tests.fuzz` and the
corpus. A failing input is saved to the corpus (replayed by the suite) before libFuzzer stops::

    pip install -e ".[fuzz]"
    python -m tests.fuzz_headers --minutes 10
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from imaging.errors import ImageError
from tests.fuzz import CORPUS, CORPUS_SUFFIXES, Target, save_finding, seed_files


def _load_atheris():  # type: ignore[no-untyped-def]
    try:
        import atheris
    except ImportError:
        raise SystemExit('atheris is not installed: pip install -e ".[fuzz]"') from None
    return atheris


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m tests.fuzz_headers", description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--corpus", type=Path, default=CORPUS, help="where failing inputs are written")
    args = parser.parse_args(argv)
    atheris = _load_atheris()
    with atheris.instrument_imports(include=["imaging"]):
        from imaging.formats import sniff_format
        from imaging.validate_header import validate_header

    def test_one_input(data: bytes) -> None:
        try:
            validate_header(data, sniff_format(data))
        except ImageError:
            return
        except Exception as error:
            save_finding(args.corpus, Target("validate_header"), data, f"{type(error).__name__}: {error}")
            raise

    with tempfile.TemporaryDirectory() as seeds:
        for name, data in seed_files().items():
            (Path(seeds) / name).write_bytes(data)
        for path in CORPUS.glob("*"):
            if path.suffix[1:] in CORPUS_SUFFIXES:
                (Path(seeds) / path.name).write_bytes(path.read_bytes())
        flags = [f"-max_total_time={int(60 * args.minutes)}", "-timeout=10", "-max_len=65536", "-print_final_stats=1"]
        atheris.Setup([sys.argv[0], *flags, seeds], test_one_input)
        atheris.Fuzz()


if __name__ == "__main__":
    main()
