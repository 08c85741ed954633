"""The run protocol: how the app has a network trained in a process of its own.

- `job.py`: what a run is (`TrainingJob`) and how the training process runs it (`run_job`);
- `publisher.py`: the callback that turns the Trainer's steps into a few messages a second;
- `messages.py`: the messages both ways, plain dataclasses;
- `process.py`: the training process's entry point;
- `launcher.py`: starting helper processes (training and inference) from the app's own executable;
- `wire.py`: the pipes between them and the one codec.

docs/ARCHITECTURE.md draws the whole path. Qt-free, like all of `core`.
"""
