"""The data layer's exceptions: every message is meant to be shown to a person as is."""


class DatasetError(Exception):
    """A dataset that cannot be used: missing, corrupt, or a failed download. The message says which file and why."""


class DatasetNotFound(DatasetError):
    """No source has the dataset (and downloading was off or failed); the message lists where we looked."""


class DownloadCancelled(Exception):
    """The download was cancelled through its `cancel` event. Not a DatasetError: nothing went wrong."""
