"""A course project added from outside keraslab, as a teacher would add Project 8: this package, one TOML
(``example.toml`` beside it) and ``$KERASLAB_PROJECT_PACKAGES=keraslab_example``. Nothing in the core changes.

It classifies noisy points by the quadrant they lie in, with the core's ``mlp`` builder and a task of its own that
reuses the core's classification and adds a text artifact (to check that train and tune log texts alike)."""

from keraslab.registry import Components

COMPONENTS = Components(
    datasets={"quadrants": f"{__name__}.data"},
    tasks={"quadrants": f"{__name__}.task"},
)
