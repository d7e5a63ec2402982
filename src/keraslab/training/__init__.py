"""Training: strategy selection, callbacks, the fit loop around a project's builder, evaluation."""
