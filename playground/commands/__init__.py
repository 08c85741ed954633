"""The bodies of the headless `playground` subcommands (cli.py only parses arguments and dispatches)."""
