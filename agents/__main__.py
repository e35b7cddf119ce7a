"""`python -m agents NAME [flags]`: runs any agent of the catalog, ours or a plugin's, by name.

`python -m agents` alone lists them.
"""

from __future__ import annotations

import sys

import registry
from agents.common.cli import UsageError, run_main


def main() -> int:
    if len(sys.argv) < 2 or sys.argv[1] in ("-h", "--help"):
        print("usage: python -m agents NAME [flags]   (python -m agents NAME --help for the flags)")
        print("agents:")
        for entry in registry.agents().values():
            print(f"  {entry.name:<20} {entry.summary}")
        return 0
    try:
        agent_main = registry.load_agent(sys.argv[1])
    except KeyError as error:
        raise UsageError(f"{error.args[0]}; `python -m agents` lists them") from None
    except ImportError as error:
        raise UsageError(str(error)) from None
    return agent_main(sys.argv[2:])


if __name__ == "__main__":
    run_main(main, "python -m agents")
