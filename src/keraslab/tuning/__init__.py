"""Keras Tuner searches over a project builder's parameters, every trial tracked as a nested MLflow run."""
