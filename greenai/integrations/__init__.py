"""Integrations with the tools a job already uses.

- :mod:`~greenai.integrations.sinks`: experiment trackers as sinks of greenai's figures
  (``greenai.track(log_to=...)``), one module per tracker: ``mlflow_sink`` (MLflow),
  ``wandb_sink`` (Weights & Biases), ``trackio_sink`` (trackio).
- Callbacks for the Hugging Face Trainer and Lightning, in modules of their own, log the
  same figures at the training's steps.

Each tracker or framework is imported only by its own module, when it is used:
importing this package loads none of them.
"""
