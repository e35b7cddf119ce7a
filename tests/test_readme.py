"""The README tells the truth: its set-up commands are what CI runs, its Python examples run, its
links lead somewhere, it stays short, and the catalog listing in docs/ is what
`python -m registry` prints."""

from __future__ import annotations

import re

from helpers import REPO_ROOT, run_python

README = (REPO_ROOT / "README.md").read_text()
CATALOG = (REPO_ROOT / "docs" / "catalog.md").read_text()


def _blocks(language: str, text: str = README) -> list[str]:
    """The fenced code blocks of `text` whose fence names `language` ("" for none)."""
    blocks, current, current_language = [], None, None
    for line in text.splitlines():
        if line.startswith("```") and current is None:
            current, current_language = [], line[3:].strip()
        elif line.startswith("```"):
            if current_language == language:
                blocks.append("\n".join(current))
            current = None
        elif current is not None:
            current.append(line)
    return blocks


def test_readme_opens_with_exactly_two_setup_commands_and_ci_runs_the_test_one():
    setup = README.split("## Set up", 1)[1].split("\n## ", 1)[0]
    commands = _blocks("bash", setup)
    assert commands == ["pip install . && python -m agents.dqn", 'pip install ".[test]" && pytest']
    ci_lines = (REPO_ROOT / ".ci" / "run").read_text().splitlines()
    assert commands[1] in ci_lines


def test_readme_python_examples_run():
    namespace: dict = {}
    for block in _blocks("python"):
        exec(compile(block, "README.md", "exec"), namespace)


def test_the_catalog_listing_is_current():
    (listing,) = [b for b in _blocks("", CATALOG) if b.startswith("$ python -m registry")]
    result = run_python("-m", "registry")
    assert result.returncode == 0, result.stderr
    assert listing.split("\n", 1)[1].strip() == result.stdout.strip()


def test_readme_is_short_and_its_links_lead_somewhere():
    assert len(README.splitlines()) <= 250
    targets = re.findall(r"\]\(([^)#]+)(?:#[^)]*)?\)", README)
    local = [target for target in targets if not target.startswith("http")]
    assert "docs/benchmarks.md" in local and "agents/dqn/learner.py" in local
    missing = [target for target in local if not (REPO_ROOT / target).exists()]
    assert not missing, missing
