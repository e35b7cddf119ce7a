"""`python -m agents.compare`: a grid of envs x agents x seeds.

`grid.py` is the plan (the runs, what finished already, the tables, results.csv, the pictures);
`local.py` is the runner behind its `Runner`; `execute.py` is one run as a process. It may
import `agents.common` and `registry`; no agent imports it.
"""
