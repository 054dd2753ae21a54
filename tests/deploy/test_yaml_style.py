"""One YAML style for compose*.yaml and deploy/ (.yamllint.yaml: yamllint's defaults, 120 columns)."""

from __future__ import annotations

from pathlib import Path

from yamllint import linter
from yamllint.config import YamlLintConfig

ROOT = Path(__file__).resolve().parents[2]


def yaml_files() -> list[Path]:
    return [*ROOT.glob("compose*.yaml"), *(ROOT / "deploy").rglob("*.yaml"), *(ROOT / "deploy").rglob("*.yml")]


def test_deployment_yaml_follows_one_style() -> None:
    config = YamlLintConfig(file=str(ROOT / ".yamllint.yaml"))
    files = yaml_files()
    assert len(files) >= 12
    problems = [
        f"{path.relative_to(ROOT)}:{problem.line}:{problem.column} {problem.message}"
        for path in files
        for problem in linter.run(path.read_text(), config, str(path))
    ]
    assert not problems, "\n".join(problems)


def test_the_style_check_can_fail() -> None:
    config = YamlLintConfig(file=str(ROOT / ".yamllint.yaml"))
    assert list(linter.run("services:\n   gateway:\n     image: x   \n", config))
