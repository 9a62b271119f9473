"""Framework integrations: one line in a training script logs to sweeptrack (and, inside a sweep
trial, reports to the trial and stops training when the trial is pruned).

Each module imports its framework, so import the one you use:
``sweeptrack.integrations.lightning.SweeptrackLogger``,
``sweeptrack.integrations.transformers.SweeptrackCallback``,
``sweeptrack.integrations.keras.SweeptrackCallback``; scikit-learn's is ``st.log_sklearn``.
"""
