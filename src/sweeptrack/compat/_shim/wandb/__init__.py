"""``import wandb`` inside a sweeptrack program trial: the module becomes :mod:`sweeptrack.compat.wandb`.

Replacing this entry of ``sys.modules`` while it is imported makes the import statement hand out
the shim itself, so ``wandb.config``, ``wandb.run`` and the errors for unknown calls are the shim's.
"""

import sys

from sweeptrack.compat import wandb as _shim

sys.modules[__name__] = _shim
