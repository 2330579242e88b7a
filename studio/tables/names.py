"""The names the table nodes accept (no Polars here: node specs load at start-up)."""

FILTER_OPS = ("eq", "ne", "lt", "le", "gt", "ge", "contains", "starts_with", "ends_with",
              "matches", "in", "is_missing", "not_missing")
AGGREGATE_FUNCS = ("count", "rows", "sum", "mean", "median", "std", "min", "max",
                   "count_distinct", "first", "last")
JOIN_HOWS = ("inner", "left", "right", "outer")
CONVERT_KINDS = ("number", "text", "bool", "date", "datetime")
#: Texts read as missing unless the workflow gives its own ``missing`` list.
DEFAULT_MISSING = ("", "NA", "N/A", "n/a", "NaN", "nan", "null", "NULL", "None", "#N/A")
