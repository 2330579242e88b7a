"""One module per schema revision (``0001_baseline`` is schema 1, ``0002_table_storage`` schema 2)."""
