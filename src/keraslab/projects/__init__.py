"""The course projects, one package each, over the generic core.

Each package holds everything specific to its project (dataset readers, its own builders, task, serving wrapper,
CLI commands, plots) and declares them in its ``__init__`` as ``COMPONENTS = keraslab.registry.Components(...)``.
The registry finds every package here; the core never imports one. See ``README.md`` beside this file for how to
add a project.
"""
