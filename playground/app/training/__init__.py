"""Training from the window: the worker bridge (QThread), the session, the settings panel and the controller
that connects them to the charts and the digit canvas. See controller.py for the flow of one run."""
