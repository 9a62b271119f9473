"""A program for the lenient specs: logs one loss from its --lr flag."""

import sys

import sweeptrack as st

lr = float(next(arg.split("=", 1)[1] for arg in sys.argv[1:] if arg.startswith("--lr=")))
st.log_metrics({"loss": abs(lr - 0.3)}, step=0)
