"""Training from the window: the session and its worker thread, the dispatcher of the run's messages, the
pieces of a run's life in the window, and the Training panel. controller.py lists them; docs/ARCHITECTURE.md
follows one message from the training process to a chart."""
