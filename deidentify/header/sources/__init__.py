"""Element sources: what the header walk reads, one module per kind (:mod:`.raw`, :mod:`.dataset`)."""
