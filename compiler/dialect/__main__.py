"""``python -m accel.compiler.dialect``: print the IRDL definition generated from the op table."""

from accel.compiler.dialect import main

raise SystemExit(main())
