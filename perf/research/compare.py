#!/usr/bin/env python3
"""perf/research/compare.py PG_DUMP CH_DUMP: do both stores give the same answers?

The dumps are rbench's --dump files ("## RUN PARAMS" then the result rows as TSV).
Numbers are compared after rounding to 3 decimals (ClickHouse prints 0.9 where
PostgreSQL prints 0.9000); everything else as text.  Prints one JSON object:
runs compared, runs equal, and the first difference if any."""
import json, sys

def blocks(path):
    out, cur = {}, None
    for ln in open(path, encoding="utf-8", errors="replace"):
        ln = ln.rstrip("\n")
        if ln.startswith("## "):
            cur = ln[3:]
            out[cur] = []
        elif cur is not None and ln:
            out[cur].append(tuple(norm(f) for f in ln.split("\t")))
    return out

def norm(f):
    try:
        return "%.3f" % float(f)
    except ValueError:
        return f

a, b = blocks(sys.argv[1]), blocks(sys.argv[2])
keys = [k for k in a if k in b]
equal = [k for k in keys if a[k] == b[k]]
res = {"runs": len(keys), "equal": len(equal), "rows_pg": sum(len(a[k]) for k in keys),
       "rows_ch": sum(len(b[k]) for k in keys)}
diff = [k for k in keys if a[k] != b[k]]
if diff:
    k = diff[0]
    res["first_diff"] = {"run": k, "pg": ["\t".join(r) for r in a[k][:3]], "ch": ["\t".join(r) for r in b[k][:3]]}
if len(keys) != len(a) or len(keys) != len(b):
    res["missing_runs"] = abs(len(a) - len(b))
print(json.dumps(res, ensure_ascii=False))
