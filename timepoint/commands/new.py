"""``timepoint new "sentence" -o scenarios/x.yaml``: write a scenario from one sentence."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from timepoint.errors import TimepointError
from timepoint.kernel.progress import Ticker
from timepoint.llm.config import BudgetConfig, ModelsConfig
from timepoint.llm.stack import build_gateway
from timepoint.scenario.generate import generate_scenario
from timepoint.scenario.writer import to_yaml, write_atomic
from timepoint.settings import Settings

if TYPE_CHECKING:
    from timepoint.llm.base import LanguageModel
    from timepoint.scenario.generate import GeneratedScenario


def register(parser: argparse.ArgumentParser) -> None:
    """Add the arguments of ``timepoint new``."""
    parser.add_argument("sentence", help='one sentence, e.g. "the 1790 dinner of Jefferson, …"')
    parser.add_argument(
        "-o", "--output", type=Path, help="YAML file to write (default: print to stdout)"
    )
    parser.add_argument("--force", action="store_true", help="overwrite an existing file")
    parser.add_argument("--seed", type=int, default=0, help="sampling seed (default 0)")
    parser.add_argument(
        "--max-attempts", type=int, default=3, help="answers to try before giving up (default 3)"
    )
    parser.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    """Generate, validate and write the scenario; print what had to be assumed."""
    if args.output is not None and args.output.exists() and not args.force:
        raise TimepointError(f"{args.output} exists; pass --force to overwrite it")

    model = _default_model(args.seed)
    with Ticker("timepoint new: waiting for the model"):
        generated = generate(args.sentence, model, seed=args.seed, max_attempts=args.max_attempts)
    write_generated(generated, args.sentence, output=args.output)
    return 0


def write_new_scenario(
    sentence: str,
    model: LanguageModel,
    *,
    output: Path | None,
    seed: int = 0,
    max_attempts: int = 3,
) -> GeneratedScenario:
    """Generate a scenario for ``sentence`` with ``model`` and write it as YAML.

    Args:
        sentence: The one-sentence description.
        model: The language model to ask.
        output: Where to write (atomically); ``None`` prints the YAML to stdout instead.
        seed: Sampling seed.
        max_attempts: Answers to try before giving up.

    Returns:
        The generated scenario with its assumptions.
    """
    generated = generate(sentence, model, seed=seed, max_attempts=max_attempts)
    write_generated(generated, sentence, output=output)
    return generated


def generate(
    sentence: str, model: LanguageModel, *, seed: int, max_attempts: int
) -> GeneratedScenario:
    """The validated scenario ``model`` writes for ``sentence``."""

    return generate_scenario(sentence, model, max_attempts=max_attempts, seed=seed)


def write_generated(generated: GeneratedScenario, sentence: str, *, output: Path | None) -> None:
    """Write ``generated`` as YAML (stdout when ``output`` is ``None``) and list assumptions."""

    header = [f'written by `timepoint new` from: "{sentence.strip()}"']
    if generated.assumptions:
        header.append("assumptions:")
        header.extend(f"  - {line}" for line in generated.assumptions)
    text = to_yaml(generated.scenario, header=header)
    report = sys.stdout if output is not None else sys.stderr
    if output is None:
        sys.stdout.write(text)
    else:
        write_atomic(output, text)
        scenario = generated.scenario
        print(
            f"wrote {output}  ({scenario.id}, {scenario.temporal.mode.value}, "
            f"{scenario.entities.count} entities, attempts: {generated.attempts})"
        )
    for line in generated.assumptions:
        print(f"assumed: {line}", file=report)


def _default_model(seed: int) -> LanguageModel:

    return build_gateway(
        Settings.from_env(), models=ModelsConfig(), budget=BudgetConfig(), seed=seed, cache_dir=None
    )
