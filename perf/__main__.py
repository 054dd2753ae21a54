"""`python -m perf` (or `make perf`): every benchmark of the service in one bounded run.

Writes perf/results/<date>-<hardware>.md (tables), .png (throughput and p99 vs concurrency) and a
folder of CSVs. See perf/README.md for what each part measures.
"""

from __future__ import annotations

import argparse
import logging
import shlex
import sys
from pathlib import Path

from perf.config import PARTS, BenchConfig, parse_levels
from perf.environment import hardware_tag
from perf.errors import PerfError
from perf.inputs import SIZES, parse_sizes
from perf.repository import Override


def parse_args(argv: list[str] | None) -> BenchConfig:
    defaults = BenchConfig()
    parser = argparse.ArgumentParser(prog="python -m perf", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--budget-s", type=float, default=defaults.budget_s,
                        help="time the whole run should take; sets the measurement window (default %(default).0f)")
    parser.add_argument("--sizes", default=",".join(defaults.sizes),
                        help=f"photo sizes for perf_analyzer, among {', '.join(SIZES)} (default %(default)s)")
    parser.add_argument("--compare-size",
                        help=f"the size every system is compared at (default {defaults.compare_size} if measured, "
                        "else the first size)")
    parser.add_argument("--concurrency", default=",".join(map(str, defaults.concurrency)),
                        help="concurrency levels (default %(default)s)")
    parser.add_argument("--model-concurrency", default=",".join(map(str, defaults.model_concurrency)),
                        help="levels for each composing model alone (default %(default)s)")
    parser.add_argument("--interval-s", type=float, help="measurement window; overrides the one from --budget-s")
    parser.add_argument("--skip", default="", help=f"parts to leave out, comma-separated: {', '.join(PARTS)}")
    parser.add_argument("--what-if", default="",
                        help="config overrides to measure beside the committed repository, comma-separated "
                        "model.key=value (a parameter or a scalar field), e.g. detect.intra_op_threads=1")
    parser.add_argument("--out", type=Path, default=defaults.out_dir, help="results folder (default perf/results)")
    parser.add_argument("--tag", default="", help="hardware name in the file names (default: cpu<N> or gpu-<model>)")
    parser.add_argument("--model-repository", type=Path, default=defaults.repository)
    args = parser.parse_args(argv)
    sizes = parse_sizes(args.sizes)
    compare = args.compare_size or (defaults.compare_size if defaults.compare_size in sizes else sizes[0])
    return BenchConfig(
        budget_s=args.budget_s, sizes=sizes, compare_size=compare, concurrency=parse_levels(args.concurrency),
        model_concurrency=parse_levels(args.model_concurrency), out_dir=args.out, repository=args.model_repository,
        skip=frozenset(part.strip() for part in args.skip.split(",") if part.strip()), interval_s=args.interval_s,
        tag=args.tag, what_if=tuple(Override.parse(raw) for raw in args.what_if.split(",") if raw.strip()),
    )


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per request otherwise
    from perf.harness import discard_scratch, run_harness
    from perf.output import write_results

    try:
        config = parse_args(argv)
        command = shlex.join(["python", "-m", "perf", *(sys.argv[1:] if argv is None else argv)])
        results = run_harness(config, command)
        markdown = write_results(results, config.out_dir, config.tag or hardware_tag(), config.repository)
    except PerfError as error:
        logging.getLogger("perf").error("%s", error)
        return 1
    discard_scratch(results.files["scratch"])
    print(f"results: {markdown}\nplot:    {results.files['plot']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
