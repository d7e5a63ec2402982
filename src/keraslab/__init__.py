"""keraslab: the projects of a deep-learning course, end to end with Keras, Keras Tuner and MLflow."""

__version__ = "0.1.0"
