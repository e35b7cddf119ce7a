"""The games of dqn-arcade, one module each, registered with Gymnasium by `registry`.

Import `registry` (or use ids like "registry:Catch-v0") rather than these modules to make envs.
"""
