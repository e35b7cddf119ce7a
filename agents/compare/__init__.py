"""`python -m agents.compare`: a grid of envs x agents x seeds, run here or on a Ray cluster.

`grid.py` is the plan (the runs, what finished already, the tables, results.csv, the pictures);
`local.py` and `ray_runner.py` are the two runners behind its `Runner`; `execute.py` is one run
as a process, which both call. It may import `agents.common` and `registry`; no agent imports it.
"""
