"""The names the table nodes accept and the shapes of the texts they read.

No Polars here: node specs and the GUI's cell editor load it at start-up. The patterns
work in Python's ``re`` and in Polars' (Rust) regular expressions alike.
"""

FILTER_OPS = ("eq", "ne", "lt", "le", "gt", "ge", "contains", "starts_with", "ends_with",
              "matches", "in", "is_missing", "not_missing")
AGGREGATE_FUNCS = ("count", "rows", "sum", "mean", "median", "std", "min", "max",
                   "count_distinct", "first", "last")
JOIN_HOWS = ("inner", "left", "right", "outer")
CONVERT_KINDS = ("number", "text", "bool", "date", "datetime")
#: Texts read as missing unless the workflow gives its own ``missing`` list.
DEFAULT_MISSING = ("", "NA", "N/A", "n/a", "NaN", "nan", "null", "NULL", "None", "#N/A")

#: A number (CONTRACT 2b): optional sign, digits, optional decimals and exponent, spaces around.
NUMBER_PATTERN = r"^\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s*$"
INTEGER_PATTERN = r"^\s*[+-]?\d+\s*$"
#: A code such as 007, 00 or -01 keeps its leading zero (0 and 0.5 are numbers).
CODE_PATTERN = r"^\s*[+-]?0\d"
DATE_PATTERN = r"^\d{4}-\d{2}-\d{2}$"
