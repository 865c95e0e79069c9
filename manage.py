#!/usr/bin/env python
"""Django's command-line utility for administrative tasks."""

import gc
import os
import sys


def main():
    """Run administrative tasks."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "finews.settings.development")
    try:
        from django.core.management import ManagementUtility
    except ImportError as exc:
        raise ImportError(
            "Couldn't import Django. Are you sure it's installed and "
            "available on your PYTHONPATH environment variable? Did you "
            "forget to activate a virtual environment?"
        ) from exc

    class StartUpUtility(ManagementUtility):
        def fetch_command(self, subcommand):
            command = super().fetch_command(subcommand)
            # What start-up made lives as long as the process: set aside, never examined again.
            gc.freeze()
            gc.enable()
            return command

    # Start-up (Django, the apps, the command's modules) makes objects that live as long as the
    # process; the cyclic garbage collector examining them over and over while they are made, and
    # again in each full collection after (pypinyin's dictionaries, say), was a quarter of a cron
    # import's CPU. None is collected until the command is loaded (gc.freeze's documented use).
    gc.disable()
    StartUpUtility(sys.argv).execute()


if __name__ == "__main__":
    main()
