# SPDX-License-Identifier: MIT
"""pseudomask.densecrf.densecrf: the same module as pseudomask.densecrf, so that replacing the
package name (pydensecrf -> pseudomask.densecrf) in ``import pydensecrf.densecrf as dcrf`` works."""
from . import *  # noqa: F401,F403
from . import __all__  # noqa: F401
