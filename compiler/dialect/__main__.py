"""``python -m accel.compiler.dialect``: print the IRDL definition (the same as ``accel-run irdl``).

Kept because the generated file's header names this command; ``accel-run irdl --write|--check``
writes or checks the file.
"""

import sys

from accel.compiler.dialect import irdl_text

sys.stdout.write(irdl_text())
