"""The Whoosh index on disk: generations, the schema, the columns, and (in ``write/``) its writers.

- ``generations`` — the ``CURRENT`` pointer, the writer lock, the atomic swap,
  opening a generation for reading, and removing generations no reader needs.
- ``schema`` — the fields, the schema version, and how a ``Document`` becomes
  Whoosh fields (the analyzers themselves live in ``indexer.analysis``, whose
  import path is pickled into every index).
- ``columns`` — the per-document facet, date and story arrays a generation
  keeps beside its segments, read side.
- ``write`` — the forked parallel writers, the fresh-segment writer and the
  column cache writer. Only the indexer imports it; the server never does.

whoosh3 is pinned exactly (``setup.cfg``) because the store and the Whoosh
engine lean on names whoosh3 keeps private. Every one in use is listed here, so
an upgrade of the pin has one place to start from; ``tests/test_module_structure.py``
fails when a module uses one that is not listed, or uses one outside
``indexer.store`` and ``search_web.whoosh_engine``, and
``tests/test_whoosh_hazards.py`` and ``tests/test_segment_writing.py`` check the
behaviour they stand for.

Column reading (``store.columns``): ``_lenfield`` names a field's length
column and ``_cached_reader`` opens it from the per-document reader; a fixed
one-byte column is read in one slice through its ``_dbfile``, ``_basepos``
and ``_count``.

The fresh-segment writer (``store.write.segments``) subclasses Whoosh's
``SegmentWriter`` and writes its files in whoosh3's own format:

- writer state: ``_check_state``, ``_check_fields``, ``_doc_boost``,
  ``_field_boost``, ``_codec``, ``_tempstorage``;
- the posting pool and its runs: ``_add_run``, ``_new_run``, ``_write_run``;
- the per-document writer and its columns: ``_colwriters``,
  ``_create_column``, ``_get_column``, ``_has_column``, ``_child``,
  ``_compression``;
- the field writer's files and terms: ``_postfile``, ``_tindex``,
  ``_fieldid``, ``_blocklimit``, ``_dbfile``, ``_struct``.

The parallel writers (``store.write.generation``) merge the parts they forked
into one index by listing each part's ``_segments``.

The Whoosh engine's scoring (``search_web.whoosh_engine.term_scoring``) reads
a posting list a block at a time from the block matcher: ``_ids``,
``_weights``, ``_values``, ``_read_ids``, ``_read_weights``, ``_read_values``,
``_next_block``, ``_atend``, ``_maxid``, and the per-document lengths through
the reader's ``_perdoc``.
"""
