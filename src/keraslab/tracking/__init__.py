"""MLflow tracking: where the store is, the lifecycle of a run, what is logged and how it is plotted."""
