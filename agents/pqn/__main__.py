from agents.common.cli import run_main
from agents.pqn.agent import PROG, main

run_main(main, PROG)
