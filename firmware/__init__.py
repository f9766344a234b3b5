"""ivrbox: a Raspberry Pi auto-attendant for a small office's analog phone line.

Importing this package is cheap on purpose: the CLI, the web page and the tests import
sub-packages as they need them, and hardware libraries are imported lazily by the one
module that owns each of them (see DESIGN.md, "Layout").
"""

__version__ = "0.1.0"
