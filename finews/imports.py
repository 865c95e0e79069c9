"""Modules a library imports eagerly, loaded when something first uses them instead.

Not importlib.util.LazyLoader: on Python 3.11 the ``import`` statement itself reads the module's
``__spec__`` (is it still initializing?), which makes a LazyLoader module load at once.
"""

import importlib
import sys
import threading
import types

_loading = threading.Lock()


def defer(name):
    """Make ``import name`` give a stand-in that imports the module when one of its attributes is
    first read. Nothing changes for a program that uses the module; one that never does is spared
    its import. A module imported already stays as it is."""
    if name not in sys.modules:
        sys.modules[name] = _Deferred(name)


class _Deferred(types.ModuleType):
    # The import statement reads __spec__ of a module it finds in sys.modules (is it still being
    # initialized?): an attribute of the stand-in's own, so that finding it loads nothing.
    __spec__ = None

    def __getattr__(self, attribute):
        with _loading:
            module = self.__dict__.get("_module")
            if module is None:
                if sys.modules.get(self.__name__) is self:
                    del sys.modules[self.__name__]
                module = self._module = importlib.import_module(self.__name__)
        return getattr(module, attribute)
