"""Indexer: turns folders of news records and report pages into a Whoosh index.

Pipeline, one module per stage: ``sources`` (find and decode files) ->
``news`` / ``reports`` (parse into :class:`~indexer.documents.Document`) ->
``corpus`` (deduplicate and link across files) -> ``schema`` / ``writing``
(Whoosh index generations) -> ``build`` (the full rebuild) -> ``cli``.
"""
