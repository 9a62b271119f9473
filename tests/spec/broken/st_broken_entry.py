"""An importable entrypoint module for the broken-spec tests (it has ``train``, not ``tran``)."""


def train(params: dict) -> float:
    return 0.0


NOT_CALLABLE = 3
