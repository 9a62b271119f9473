"""The sweep report: ``sweeptrack report``, in HTML (one self-contained plotly file), Markdown or JSON.

:mod:`.model` is the data (the JSON shape), :mod:`.collect` reads it from a store, and the
renderers (:mod:`.html`, :mod:`.markdown`) only read the data.
"""
