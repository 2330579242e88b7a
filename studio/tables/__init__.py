"""Tables: typed columns with missing cells (Polars), their files, operations and stored bytes."""
